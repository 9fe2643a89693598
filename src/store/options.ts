/**
 * The options of `Database.open` and of every call, validated once into a frozen copy.
 * Internal: the types are exported from the public surface.
 */
import { staleOption } from '../fs/lock-directory.js';
import { duration, integer, oneOf, options as checkOptions, requiredSignal } from '../validate.js';
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
  /**
   * Who may open the file. `'shared'`: any number of processes, each with one `Database`
   * (one writer per process), taking turns at SQLite's write lock. `'exclusive'`: one
   * owning process: the open takes an owner lock beside the file (`<file>.lock`, with
   * `<file>.owner` naming the owner) and holds it until `stop()`; an open in another process
   * is refused at once with `StoreLockedError` naming the owner's pid and host. The lock
   * is advisory: it excludes other `'exclusive'` opens, not a `'shared'` one, so every
   * process must open a file in the same mode. `':memory:'` ignores the mode.
   * @default 'shared'
   */
  readonly mode?: 'shared' | 'exclusive' | undefined;
  /**
   * `'exclusive'` only: an owner lock not refreshed for this long is stale, its owner taken
   * to be dead (killed, crashed) or hung, and the next open takes it over (see
   * `Database.recoveredLock`). The owner refreshes it every `lockStaleMs / 3` from the
   * app's thread, so an event loop blocked that long loses the lock; in milliseconds, from
   * 3000 to 2^31 − 1.
   * @default 10_000
   */
  readonly lockStaleMs?: number | undefined;
  /**
   * A call that takes this long or longer, from the call to its answer (waits included),
   * counts as slow in `Database.health()`; in milliseconds.
   * @default 100
   */
  readonly slowCallMs?: number | undefined;
}

/** @internal */
export interface NormalizedOptions {
  readonly signal: AbortSignal;
  readonly migrations: readonly Migration[];
  readonly synchronous: 'normal' | 'full';
  readonly busyTimeoutMs: number;
  /** The owner lock's stale time in `'exclusive'` mode; undefined in `'shared'` mode. */
  readonly lockStaleMs: number | undefined;
  readonly slowCallMs: number;
}

const OPEN_OPTIONS = [
  'signal',
  'migrations',
  'synchronous',
  'busyTimeoutMs',
  'mode',
  'lockStaleMs',
  'slowCallMs',
] as const;

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
  const mode = oneOf('mode', given['mode'] ?? 'shared', ['shared', 'exclusive']);
  if (mode === 'shared' && given['lockStaleMs'] !== undefined) {
    throw new TypeError("lockStaleMs applies to mode 'exclusive' only, got it with mode 'shared'");
  }
  return Object.freeze({
    signal,
    synchronous,
    busyTimeoutMs,
    lockStaleMs:
      mode === 'exclusive' ? staleOption('lockStaleMs', given['lockStaleMs']) : undefined,
    migrations: normalizeMigrations(given['migrations'] ?? []),
    slowCallMs:
      given['slowCallMs'] === undefined ? 100 : duration('slowCallMs', given['slowCallMs']),
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
