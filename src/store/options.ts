/**
 * The options of `Database.open` and of every call, validated once into a frozen copy.
 * Internal: the types are exported from the public surface.
 */
import { duration, integer, options as checkOptions, requiredSignal } from '../validate.js';
import type { Migration } from './protocol.js';

/** Options of `Database.open`. */
export interface DatabaseOptions {
  /** Cancels the open: the thread is closed and the call rejects with an abort error. Required. */
  readonly signal: AbortSignal;
  /**
   * Schema changes, in increasing `version` order. At open, the ones newer than the
   * file's version run in one transaction; the versions applied are kept in the table
   * `workbus_schema_version`. @default []
   * @example [{ version: 1, up: 'CREATE TABLE item (id INTEGER PRIMARY KEY, title TEXT)' }]
   */
  readonly migrations?: readonly Migration[] | undefined;
  /**
   * SQLite's `synchronous` setting. `'normal'` (with WAL): a commit survives an app crash
   * but the last ones may be lost on power loss; `'full'`: a commit survives power loss
   * too, at the cost of an fsync per commit. @default 'normal'
   */
  readonly synchronous?: 'normal' | 'full' | undefined;
  /**
   * How long a call may wait, in total, for another connection (another process) to
   * release the write lock before it rejects with `StoreBusyError`; in milliseconds.
   * @default 5000
   */
  readonly busyTimeoutMs?: number | undefined;
}

/** @internal */
export interface NormalizedOptions {
  readonly signal: AbortSignal;
  readonly migrations: readonly Migration[];
  readonly synchronous: 'normal' | 'full';
  readonly busyTimeoutMs: number;
}

const OPEN_OPTIONS = ['signal', 'migrations', 'synchronous', 'busyTimeoutMs'] as const;

/** @internal */
export function normalizeOptions(value: unknown): NormalizedOptions {
  const given = checkOptions('Database.open options', value, OPEN_OPTIONS);
  const signal = requiredSignal('Database.open options.signal', given['signal']);
  const synchronous = given['synchronous'] ?? 'normal';
  if (synchronous !== 'normal' && synchronous !== 'full') {
    throw new RangeError(
      `synchronous must be 'normal' or 'full', got ${JSON.stringify(synchronous)}`,
    );
  }
  const busyTimeoutMs =
    given['busyTimeoutMs'] === undefined ? 5000 : duration('busyTimeoutMs', given['busyTimeoutMs']);
  return Object.freeze({
    signal,
    synchronous,
    busyTimeoutMs,
    migrations: normalizeMigrations(given['migrations'] ?? []),
  });
}

function normalizeMigrations(value: unknown): readonly Migration[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`migrations must be an array, got ${typeof value}`);
  }
  let previous = 0;
  return Object.freeze(
    value.map((migration: unknown, index) => {
      const field = `migrations[${index}]`;
      const given = checkOptions(field, migration, ['version', 'up']);
      const version = integer(`${field}.version`, given['version'], previous + 1);
      if (typeof given['up'] !== 'string') {
        throw new TypeError(`${field}.up must be a string of SQL, got ${typeof given['up']}`);
      }
      previous = version;
      return Object.freeze({ version, up: given['up'] });
    }),
  );
}

/** The options every call takes last. */
export interface CallOptions {
  /** Cancels the call (see `Database` for what an abort undoes). Required. */
  readonly signal: AbortSignal;
}

const CALL_OPTIONS = ['signal'] as const;

/** The required signal of a call's options; `method` names the call in errors. @internal */
export function callSignal(method: string, value: unknown): AbortSignal {
  const given = checkOptions(`${method} options`, value, CALL_OPTIONS);
  return requiredSignal(`${method} options.signal`, given['signal']);
}
