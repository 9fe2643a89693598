/**
 * The messages between a `Database` and its thread. Only plain data crosses: SQL text,
 * parameters and rows, never a closure, so every call is addressed by its kind.
 * Internal: not part of the public surface.
 */

/** A value SQLite can bind or return. Blobs arrive as `Uint8Array` (a `Buffer` in Node). */
export type SqlValue = number | string | bigint | Uint8Array | null;

/** Positional (`?`) or named (`@name`, `:name`, `$name`) parameters of one statement. */
export type SqlParams = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;

/** A row as SQLite returns it: column name to value. */
export type Row = Record<string, SqlValue>;

/** One statement of a transaction. */
export interface Statement {
  readonly sql: string;
  readonly params?: SqlParams | undefined;
}

/** What one write statement changed. */
export interface RunResult {
  /** Rows inserted, updated or deleted by the statement. */
  readonly changes: number;
  /** The rowid of the last row inserted by this connection. */
  readonly lastInsertRowid: number | bigint;
}

/** A schema change, applied once, in version order. */
export interface Migration {
  /** A positive integer; versions must increase along the list. */
  readonly version: number;
  /** SQL run with `exec` (several statements allowed). */
  readonly up: string;
}

/** @internal */
export type Request =
  | {
      readonly kind: 'open';
      readonly synchronous: 'normal' | 'full';
      readonly migrations: readonly Migration[];
    }
  | { readonly kind: 'get' | 'all'; readonly sql: string; readonly params: SqlParams }
  /** The next page of the `all` with the same id. */
  | { readonly kind: 'next' }
  /**
   * A write's first page of statements or rows; with `more`, the thread keeps its
   * transaction open and asks for the next page (`ask`), which comes as a `page`.
   */
  | {
      readonly kind: 'transaction';
      readonly statements: readonly Statement[];
      readonly more: boolean;
    }
  | {
      readonly kind: 'batch';
      readonly sql: string;
      readonly rows: readonly SqlParams[];
      readonly more: boolean;
    }
  /** The next page of the write with the same id: statements or rows, as it began. */
  | { readonly kind: 'page'; readonly items: readonly WriteItem[]; readonly more: boolean }
  /** Ends the write with the same id without committing: its next page cannot be sent. */
  | { readonly kind: 'rollback' }
  | { readonly kind: 'close' };

/** One element of a write's pages: a statement of a transaction or a row of a batch. @internal */
export type WriteItem = Statement | SqlParams;

/** A request with the id the abort flag refers to. @internal */
export interface Envelope {
  readonly id: number;
  readonly request: Request;
}

/** Why a call failed in the thread, as plain data; the `Database` turns it into an error. @internal */
export type Failure =
  | { readonly kind: 'busy' }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'corrupt'; readonly message: string }
  | { readonly kind: 'usage'; readonly message: string }
  | { readonly kind: 'migration'; readonly version: number; readonly error: SqliteFailure }
  | { readonly kind: 'newer'; readonly version: number; readonly known: number }
  | { readonly kind: 'sqlite'; readonly error: SqliteFailure };

/** A SQLite error's message and code (`SQLITE_CONSTRAINT_UNIQUE`, …). @internal */
export interface SqliteFailure {
  readonly message: string;
  readonly code: string | undefined;
}

/**
 * The thread's answer to one request: `done` or `failed`; for an `all` and each `next`
 * after it, a `page` of rows until the last has been sent; for a write with `more` pages,
 * `ask` for the next one.
 * @internal
 */
export type Reply =
  | { readonly id: number; readonly kind: 'page'; readonly rows: readonly Row[] }
  | { readonly id: number; readonly kind: 'ask' }
  | { readonly id: number; readonly kind: 'done'; readonly value: unknown }
  | { readonly id: number; readonly kind: 'failed'; readonly failure: Failure };

/** What the thread is started with. @internal */
export interface ThreadData {
  readonly path: string;
  /** One Int32 cell: the id of the in-flight call whose caller has aborted. */
  readonly abortFlag: SharedArrayBuffer;
  /** Rows per `page` reply: bounds the work of deserialising one message. */
  readonly pageSize: number;
}
