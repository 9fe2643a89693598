/**
 * Typed errors. Each class has a stable `code` to branch on (`err.code === 'CLOSED'`)
 * instead of matching message text; the underlying reason, when there is one, is
 * kept in `cause`. Bad arguments are reported with the built-in `TypeError` and
 * `RangeError`, whose messages name the field, the expected range and the value.
 */

/** Every stable error code workbus uses. */
export type WorkbusErrorCode =
  | 'ABORTED'
  | 'TIMEOUT'
  | 'CLOSED'
  | 'QUEUE_FULL'
  | 'SUBSCRIBER_LIMIT'
  | 'TASK_FAILED'
  | 'WORKER_FAILED'
  | 'NON_RETRYABLE'
  | 'LOCK_ORDER'
  | 'LOCK_HELD_WHILE_WAITING'
  | 'LIFECYCLE'
  | 'FILE_LOCKED'
  | 'LOCK_COMPROMISED'
  | 'NOT_FOUND'
  | 'DUPLICATE_FEED'
  | 'STORE_FAILED'
  | 'STORE_BUSY'
  | 'STORE_CORRUPT'
  | 'STORE_LOCKED'
  | 'STORE_SCHEMA'
  | 'OPML_INVALID'
  | 'EMBED_FAILED'
  | 'FEED_PARSE'
  | 'JOB_SKIPPED'
  | 'BRIDGE_PROTOCOL'
  | 'BRIDGE_FORBIDDEN'
  | 'BRIDGE_DISCONNECTED'
  | 'REDIS_UNAVAILABLE'
  | 'JOB_FAILED';

/** Base class of every error workbus throws on purpose (not of bad-argument errors). */
export class WorkbusError extends Error {
  /** Stable identifier of the failure; never changes between versions. */
  readonly code: WorkbusErrorCode;

  constructor(code: WorkbusErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  /**
   * A literal, not `this.constructor.name`: a minifier (an Electron bundle) renames
   * classes, and logs and `err.name` checks must still read the name written here.
   * Each subclass overrides it with its own literal; a user's subclass inherits it.
   */
  override get name(): string {
    return 'WorkbusError';
  }
}

/**
 * An operation was cancelled through its `AbortSignal`. The signal's `reason` is
 * kept as `cause`. {@link isAbortError} is true for it (and for the DOM's own).
 */
export class AbortError extends WorkbusError {
  override get name(): 'AbortError' {
    return 'AbortError';
  }

  constructor(message = 'The operation was aborted', options?: ErrorOptions) {
    super('ABORTED', message, options);
  }
}

/**
 * An operation ran out of time. Deliberately not an abort error: a timed-out attempt
 * is a failure that a retry policy may retry, whereas an abort is a decision.
 */
export class TimeoutError extends WorkbusError {
  override get name(): 'TimeoutError' {
    return 'TimeoutError';
  }

  /** The limit that was exceeded, when known. */
  readonly timeoutMs: number | undefined;

  constructor(
    message = 'The operation timed out',
    options?: ErrorOptions & { timeoutMs?: number },
  ) {
    super('TIMEOUT', message, options);
    this.timeoutMs = options?.timeoutMs;
  }
}

/** The object was closed before or while the operation waited. */
export class ClosedError extends WorkbusError {
  override get name(): 'ClosedError' {
    return 'ClosedError';
  }

  constructor(message = 'Closed', options?: ErrorOptions) {
    super('CLOSED', message, options);
  }
}

/** A bounded queue had no room and its policy is to refuse or evict. */
export class QueueFullError extends WorkbusError {
  override get name(): 'QueueFullError' {
    return 'QueueFullError';
  }

  constructor(message = 'Queue is full', options?: ErrorOptions) {
    super('QUEUE_FULL', message, options);
  }
}

/** A task threw or rejected with something that is not an `Error`; the value is the `cause`. */
export class TaskError extends WorkbusError {
  override get name(): 'TaskError' {
    return 'TaskError';
  }

  constructor(message = 'Task failed', options?: ErrorOptions) {
    super('TASK_FAILED', message, options);
  }
}

/**
 * Marks a failure that retrying cannot fix (a 404, a validation error): a job whose task
 * throws it fails at once, whatever its `retry` allows. The underlying error goes in
 * `cause`.
 *
 * With `permanent: true` it also tells a failure tracker (`FailureTracker`) that the job's
 * key is failed for good (a feed that answers 410 Gone): the key is skipped until the
 * tracker's `permanentTtlMs` has passed, instead of backing off.
 */
export class NonRetryableError extends WorkbusError {
  override get name(): 'NonRetryableError' {
    return 'NonRetryableError';
  }

  /** The key of the job is failed for good (see the class). */
  readonly permanent: boolean;

  constructor(message: string, options?: ErrorOptions & { readonly permanent?: boolean }) {
    super('NON_RETRYABLE', message, options);
    this.permanent = options?.permanent === true;
  }
}

/**
 * A keyed job was not run: its key's failure tracker holds it back, because the key is
 * backing off after failures (`reason` `'backoff'`) or is failed for good until its
 * time-to-live ends (`'permanent'`). `eligibleAt` (ms since the epoch) is when a job of
 * that key may run again.
 */
export class JobSkippedError extends WorkbusError {
  override get name(): 'JobSkippedError' {
    return 'JobSkippedError';
  }

  /** The job's key. */
  readonly key: string;
  readonly reason: 'backoff' | 'permanent';
  /** When a job with this key may run again, in ms since the epoch. */
  readonly eligibleAt: number;

  constructor(
    message: string,
    options: ErrorOptions & {
      readonly key: string;
      readonly reason: 'backoff' | 'permanent';
      readonly eligibleAt: number;
    },
  ) {
    super('JOB_SKIPPED', message, options);
    this.key = options.key;
    this.reason = options.reason;
    this.eligibleAt = options.eligibleAt;
  }
}

/** An `EventBus` already has `maxSubscribers` subscriptions and listeners. */
export class SubscriberLimitError extends WorkbusError {
  override get name(): 'SubscriberLimitError' {
    return 'SubscriberLimitError';
  }

  constructor(message = 'Too many subscribers', options?: ErrorOptions) {
    super('SUBSCRIBER_LIMIT', message, options);
  }
}

/** One edge of a lock-order cycle: `to` was taken while `from` was held. */
export interface LockOrderEdge {
  readonly from: string;
  readonly to: string;
  /** Stack trace of the first time this order was seen. */
  readonly firstSeen?: string;
}

/** Taking a lock would close a cycle in the observed lock order (a potential deadlock). */
export class LockOrderError extends WorkbusError {
  override get name(): 'LockOrderError' {
    return 'LockOrderError';
  }

  /** The cycle, edge by edge, ending where it started. */
  readonly cycle: readonly LockOrderEdge[];

  /** `message` replaces the default "Lock order cycle: a -> b -> a" for rank and re-entry errors. */
  constructor(
    cycle: readonly LockOrderEdge[],
    options?: ErrorOptions & { readonly message?: string },
  ) {
    const path = cycle.map((e) => e.from).concat(cycle[0]?.from ?? []);
    super('LOCK_ORDER', options?.message ?? `Lock order cycle: ${path.join(' -> ')}`, options);
    this.cycle = Object.freeze(cycle.map((e) => Object.freeze({ ...e })));
  }
}

/** A flow waited on the pool or on a full channel while holding locks. */
export class LockHeldWhileWaitingError extends WorkbusError {
  override get name(): 'LockHeldWhileWaitingError' {
    return 'LockHeldWhileWaitingError';
  }

  /** Names of the locks held at the time. */
  readonly held: readonly string[];

  constructor(waitingOn: string, held: readonly string[], options?: ErrorOptions) {
    super(
      'LOCK_HELD_WHILE_WAITING',
      `Waiting on ${waitingOn} while holding lock(s) ${held.map((n) => `"${n}"`).join(', ')}; release them first`,
      options,
    );
    this.held = Object.freeze([...held]);
  }
}

/**
 * An app's components cannot be started: an unknown dependency, a dependency cycle
 * (named in the message), or a component whose `start` failed (its error is the `cause`).
 */
export class LifecycleError extends WorkbusError {
  override get name(): 'LifecycleError' {
    return 'LifecycleError';
  }

  constructor(message: string, options?: ErrorOptions) {
    super('LIFECYCLE', message, options);
  }
}

/**
 * A worker job type's module or thread failed a job: the module did not load or is not a
 * `workerTask`, the thread exited or crashed while running the job, or the task handed
 * the pool something that cannot cross the thread boundary (a result, thrown value or
 * progress report that cannot be cloned). The underlying failure, when there is one, is
 * the `cause`. A task that merely throws fails its job with its own error, not this one.
 */
export class WorkerError extends WorkbusError {
  /** The job type whose worker failed. */
  readonly type: string;
  /** The type's worker module, as given in its `worker` option (a URL as its href). */
  readonly module: string;

  constructor(
    message: string,
    options: ErrorOptions & { readonly type: string; readonly module: string },
  ) {
    super('WORKER_FAILED', message, options);
    this.type = options.type;
    this.module = options.module;
  }

  override get name(): 'WorkerError' {
    return 'WorkerError';
  }
}

/** A file lock is held by someone else and the caller asked not to wait (`tryWithFileLock`). */
export class FileLockedError extends WorkbusError {
  override get name(): 'FileLockedError' {
    return 'FileLockedError';
  }

  /** The path whose lock was held (as resolved: symlinks followed, absolute). */
  readonly path: string;

  constructor(path: string, options?: ErrorOptions) {
    super('FILE_LOCKED', `The lock of ${path} is held`, options);
    this.path = path;
  }
}

/**
 * A file lock was lost while held: its lock directory was removed, or its timestamp was
 * changed by someone else (another process judged it stale and took it over). Exclusion
 * may no longer hold, so the holder's work is aborted with this as the reason. The
 * failure proper-lockfile reported is the `cause`.
 */
export class LockCompromisedError extends WorkbusError {
  override get name(): 'LockCompromisedError' {
    return 'LockCompromisedError';
  }

  /** The path whose lock was lost (as resolved: symlinks followed, absolute). */
  readonly path: string;

  constructor(path: string, options?: ErrorOptions) {
    super('LOCK_COMPROMISED', `The lock of ${path} was lost while held`, options);
    this.path = path;
  }
}

/**
 * A feed store call named a feed or an item that is not there (never added, or removed,
 * possibly by another caller meanwhile). Nothing was changed.
 */
export class NotFoundError extends WorkbusError {
  override get name(): 'NotFoundError' {
    return 'NotFoundError';
  }

  /** What was looked for. */
  readonly entity: 'feed' | 'item';
  /** Its id. */
  readonly id: number;

  constructor(entity: 'feed' | 'item', id: number, options?: ErrorOptions) {
    super('NOT_FOUND', `There is no ${entity} with id ${id}`, options);
    this.entity = entity;
    this.id = id;
  }
}

/** A feed store already has a feed with this URL (URLs are unique). Nothing was changed. */
export class DuplicateFeedError extends WorkbusError {
  override get name(): 'DuplicateFeedError' {
    return 'DuplicateFeedError';
  }

  /** The URL asked for. */
  readonly url: string;

  constructor(url: string, options?: ErrorOptions) {
    super('DUPLICATE_FEED', `A feed with the URL ${url} is already there`, options);
    this.url = url;
  }
}

/** Where a store error happened: the database file, as given to `Database.open`. */
interface StoreErrorOptions extends ErrorOptions {
  readonly path: string;
}

/**
 * A SQLite statement failed (a constraint, a syntax error, a file that cannot be opened).
 * The `cause` is the SQLite error, with SQLite's `code` (`SQLITE_CONSTRAINT_UNIQUE`, …).
 */
export class StoreError extends WorkbusError {
  /** The database file. */
  readonly path: string;

  constructor(message: string, options: StoreErrorOptions) {
    super('STORE_FAILED', message, options);
    this.path = options.path;
  }

  override get name(): 'StoreError' {
    return 'StoreError';
  }
}

/** Another connection held the write lock for longer than `busyTimeoutMs`. */
export class StoreBusyError extends WorkbusError {
  readonly path: string;
  /** The limit that was exceeded. */
  readonly busyTimeoutMs: number;

  constructor(message: string, options: StoreErrorOptions & { readonly busyTimeoutMs: number }) {
    super('STORE_BUSY', message, options);
    this.path = options.path;
    this.busyTimeoutMs = options.busyTimeoutMs;
  }

  override get name(): 'StoreBusyError' {
    return 'StoreBusyError';
  }
}

/** The file is not a SQLite database (or its header is damaged). */
export class StoreCorruptError extends WorkbusError {
  readonly path: string;

  constructor(message: string, options: StoreErrorOptions) {
    super('STORE_CORRUPT', message, options);
    this.path = options.path;
  }

  override get name(): 'StoreCorruptError' {
    return 'StoreCorruptError';
  }
}

/**
 * The database is already open elsewhere: in this process, or, in `'exclusive'` mode, in
 * the process that owns it. `pid` and `host` name the holder (0 and '' when an owner lock
 * is held by something that left no owner record).
 */
export class StoreLockedError extends WorkbusError {
  readonly path: string;
  readonly pid: number;
  readonly host: string;

  constructor(
    message: string,
    options: StoreErrorOptions & { readonly pid: number; readonly host: string },
  ) {
    super('STORE_LOCKED', message, options);
    this.path = options.path;
    this.pid = options.pid;
    this.host = options.host;
  }

  override get name(): 'StoreLockedError' {
    return 'StoreLockedError';
  }
}

/**
 * The schema cannot be brought to the code's version: a migration failed (the schema is
 * left as it was; `version` names the migration, its SQLite error is the `cause`), or the
 * file's schema is newer than any migration the code knows (`version` is the file's).
 */
export class StoreSchemaError extends WorkbusError {
  readonly path: string;
  readonly version: number;

  constructor(message: string, options: StoreErrorOptions & { readonly version: number }) {
    super('STORE_SCHEMA', message, options);
    this.path = options.path;
    this.version = options.version;
  }

  override get name(): 'StoreSchemaError' {
    return 'StoreSchemaError';
  }
}

/** A file given as OPML is not one: not well-formed XML, or no `<opml>`/`<body>`. */
export class OpmlError extends WorkbusError {
  constructor(message: string, options?: ErrorOptions) {
    super('OPML_INVALID', message, options);
  }

  override get name(): 'OpmlError' {
    return 'OpmlError';
  }
}

/** Why an embedding model gave no vectors; see {@link EmbedError.reason}. */
export type EmbedFailure = 'unreachable' | 'busy' | 'http' | 'bad-response' | 'dimensions';

/**
 * An embedding model gave no usable vectors: its server could not be reached
 * (`'unreachable'`, the connection error in `cause`), stayed busy through every retry
 * (`'busy'`: 503), answered another HTTP error (`'http'`), answered something that is
 * not the expected JSON (`'bad-response'`), or answered vectors of the wrong length
 * (`'dimensions'`).
 */
export class EmbedError extends WorkbusError {
  readonly reason: EmbedFailure;
  /** The model asked. */
  readonly model: string;
  /** The HTTP status, for `'busy'` and `'http'`. */
  readonly status: number | undefined;

  constructor(
    message: string,
    options: ErrorOptions & {
      readonly reason: EmbedFailure;
      readonly model: string;
      readonly status?: number | undefined;
    },
  ) {
    super('EMBED_FAILED', message, options);
    this.reason = options.reason;
    this.model = options.model;
    this.status = options.status;
  }

  override get name(): 'EmbedError' {
    return 'EmbedError';
  }
}

/** Why a bridge host refused a frame; see {@link ProtocolError.reason}. */
export type ProtocolFailure =
  'malformed' | 'too-large' | 'unknown-op' | 'version' | 'handshake' | 'limit';

/**
 * A bridge frame was refused (`workbus/bridge`): it is not a well-formed frame of the
 * protocol (`'malformed'`: not a plain object, a field of the wrong type, data that is not
 * plain), too big or too deep (`'too-large'`), an operation the protocol does not have
 * (`'unknown-op'`), a protocol version the host does not speak (`'version'`), sent before
 * the `hello` (`'handshake'`), or past a per-client limit (`'limit'`: subscriptions, jobs).
 */
export class ProtocolError extends WorkbusError {
  readonly reason: ProtocolFailure;

  constructor(message: string, options: ErrorOptions & { readonly reason: ProtocolFailure }) {
    super('BRIDGE_PROTOCOL', message, options);
    this.reason = options.reason;
  }

  override get name(): 'ProtocolError' {
    return 'ProtocolError';
  }
}

/**
 * A bridge client asked for something its host does not allow: submitting a job type
 * not in `allow.submit`, or an operation (cancel, retry, pause) not allowed — every one in
 * read-only mode. Nothing was done.
 */
export class ForbiddenError extends WorkbusError {
  constructor(message: string, options?: ErrorOptions) {
    super('BRIDGE_FORBIDDEN', message, options);
  }

  override get name(): 'ForbiddenError' {
    return 'ForbiddenError';
  }
}

/**
 * A bridge client's connection ended while a call waited for its reply (the port closed,
 * the host went away, or `close()` was called). A job it submitted may still run on the host.
 */
export class DisconnectedError extends WorkbusError {
  constructor(message = 'The bridge connection ended', options?: ErrorOptions) {
    super('BRIDGE_DISCONNECTED', message, options);
  }

  override get name(): 'DisconnectedError' {
    return 'DisconnectedError';
  }
}

/**
 * An error that happened on the other side of a bridge, as it arrived: plain data, so its
 * `name`, `code` and `message` are the original's (`'AbortError'`/`'ABORTED'` for a
 * cancelled job, `'QueueFullError'`/`'QUEUE_FULL'`, `'TypeError'`/`'INVALID_ARGUMENT'`…),
 * and no class or stack crossed. Not a `WorkbusError`: its code is whatever the host sent.
 */
export class RemoteError extends Error {
  readonly code: string;
  readonly #name: string;

  constructor(remote: { readonly name: string; readonly code: string; readonly message: string }) {
    super(remote.message);
    this.#name = remote.name;
    this.code = remote.code;
  }

  /** The remote error's name (the literal the host's error had). */
  override get name(): string {
    return this.#name;
  }
}

/**
 * Redis could not be reached (`workbus/distributed`): the connection is down or
 * reconnecting, or the command did not finish within its time limit. The call did not
 * wait for the connection to come back: a submit or publish that fails this way was not
 * acknowledged (it may or may not have reached Redis, so retry idempotently, with a
 * `key`). The client's own error is the `cause`.
 */
export class RedisUnavailableError extends WorkbusError {
  override get name(): 'RedisUnavailableError' {
    return 'RedisUnavailableError';
  }

  constructor(message = 'Redis is unavailable', options?: ErrorOptions) {
    super('REDIS_UNAVAILABLE', message, options);
  }
}

/**
 * A job of the distributed pool failed in another process (`workbus/distributed`). The
 * error object could not cross processes; its name, message and code did, as `error`.
 */
export class JobFailedError extends WorkbusError {
  override get name(): 'JobFailedError' {
    return 'JobFailedError';
  }

  /** The worker's error as plain data. */
  readonly error: { readonly name: string; readonly message: string; readonly code?: string };

  constructor(
    message: string,
    options: ErrorOptions & {
      readonly error: { readonly name: string; readonly message: string; readonly code?: string };
    },
  ) {
    super('JOB_FAILED', message, options);
    this.error = options.error;
  }
}
