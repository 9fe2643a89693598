/**
 * Database: a SQLite file (better-sqlite3, WAL) whose connection lives in a thread of
 * its own, so no statement, lock wait or large read stops the app's event loop.
 *
 * Every call takes a required `{ signal }` last. Cancellation is honest:
 * - an already-aborted signal rejects at once and nothing is sent to the thread;
 * - a call aborted while it waits its turn is removed and never runs;
 * - a call aborted while it waits for another process's write lock stops waiting at
 *   once (the waits are short retries from this thread, never SQLite's blocking
 *   busy timeout);
 * - a call aborted while its statements run: the statement in progress finishes (SQLite
 *   cannot be interrupted from another thread), then the thread sees the abort before the
 *   next statement or the COMMIT, rolls back, and the call rejects with the abort error.
 *   The thread decides: once it has committed, the call resolves even if its signal
 *   aborted meanwhile, so an abort error always means "nothing changed".
 */
import { hostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  abortErrorOf,
  isAbortError,
  LinkedSignal,
  onAbort,
  sleep,
  throwIfAborted,
} from '../abort.js';
import {
  ClosedError,
  StoreBusyError,
  StoreCorruptError,
  StoreError,
  StoreLockedError,
  StoreSchemaError,
  WorkbusError,
} from '../errors.js';
import type { Component, StopContext } from '../lifecycle/lifecycle.js';
import { backoffDelay, type NormalizedRetry } from '../pool/retry.js';
import { Mutex } from '../sync/mutex.js';
import { finite, options as checkOptions, requiredSignal } from '../validate.js';
import { callSignal, normalizeOptions, type CallOptions, type DatabaseOptions } from './options.js';
import { HealthMeter, type StoreHealth } from './health.js';
import { OwnerLock, type DatabaseOwner } from './owner-lock.js';
import type {
  Envelope,
  Failure,
  Reply,
  Request,
  Row,
  RunResult,
  SqlParams,
  SqliteFailure,
  Statement,
  ThreadData,
  WriteItem,
} from './protocol.js';

/**
 * Rows per message from the thread, and rows (or statements) per message to it: one
 * message never holds more to serialise or deserialise on the app's thread (about half a
 * millisecond for 1000 short rows, where 100,000 at once took 40–55 ms).
 */
const PAGE_SIZE = 1000;

/**
 * Waits for another process's write lock: from 1 ms doubling to 50 ms, each a uniform
 * draw below that (full jitter), so processes that collided spread out.
 */
const BUSY_BACKOFF: NormalizedRetry = {
  attempts: Number.POSITIVE_INFINITY,
  baseMs: 1,
  maxMs: 50,
  retryIf: undefined,
};

const BUSY = Symbol('busy');

/**
 * Files open in this process: one writer per database per process. A second `Database`
 * on the same file would be a second writer queue, racing this one for SQLite's lock
 * instead of waiting its turn in order.
 */
const openFiles = new Set<string>();

interface InFlight {
  readonly id: number;
  readonly rows: Row[];
  /** A write's pages after the first, sent one per `ask`. */
  readonly pages: Pages;
  /** Why the write was rolled back from this side (its next page could not be sent). */
  failure?: TypeError;
  readonly settle: (reply: Extract<Reply, { kind: 'done' | 'failed' }>) => void;
}

/** A write's items after its first page, and how many of them have been sent. */
interface Pages {
  readonly items: readonly WriteItem[];
  sent: number;
}

type State = 'open' | 'closing' | 'closed';

export class Database implements Component {
  readonly #path: string;
  readonly #key: string | undefined;
  readonly #busyTimeoutMs: number;
  readonly #worker: Worker;
  readonly #abortFlag = new Int32Array(new SharedArrayBuffer(4));
  /** One call in the thread at a time; waiters in arrival order. */
  readonly #thread = new Mutex({ name: 'workbus.store.thread' });
  /**
   * Writes in arrival order. A write keeps its place while it waits out another process's
   * lock, so a later write cannot overtake it; reads pass it meanwhile.
   */
  readonly #writer = new Mutex({ name: 'workbus.store.writer' });
  readonly #calls = new Set<LinkedSignal>();
  /** The writes among {@link Database.#calls}: a lost owner lock aborts them. */
  readonly #writes = new Set<LinkedSignal>();
  readonly #owner: OwnerLock | undefined;
  readonly #health: HealthMeter;
  #detachOwner: () => void = () => undefined;
  #state: State = 'open';
  #failure: unknown;
  #inFlight: InFlight | undefined;
  #nextId = 0;
  #idle: (() => void) | undefined;
  #stopped: Promise<void> | undefined;

  private constructor(
    path: string,
    key: string | undefined,
    busyTimeoutMs: number,
    owner: OwnerLock | undefined,
    slowCallMs: number,
  ) {
    this.#health = new HealthMeter(slowCallMs);
    this.#path = path;
    this.#key = key;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#owner = owner;
    const data: ThreadData = {
      path: key ?? path,
      abortFlag: this.#abortFlag.buffer,
      pageSize: PAGE_SIZE,
    };
    this.#worker = startThread(data);
    this.#worker.on('message', (reply: Reply) => this.#onReply(reply));
    this.#worker.on('error', (error) => this.#onThreadEnd(error));
    this.#worker.on('exit', (code) => {
      if (this.#state !== 'closed') {
        this.#onThreadEnd(new Error(`The database thread exited with code ${code}`));
      }
    });
    if (owner !== undefined) {
      // Another process owns the file now: a write of ours would be a second owner's.
      const lose = (): void => {
        for (const write of this.#writes) write.abort(owner.lost.reason);
      };
      this.#detachOwner = onAbort(owner.lost, lose);
      if (owner.lost.aborted) lose();
    }
  }

  /**
   * Opens (creating if needed) the SQLite file at `path` in WAL mode with foreign keys on,
   * and brings its schema to the last of `migrations` in one transaction.
   *
   * @throws TypeError for a missing signal or bad options; RangeError for a value out of range.
   * @throws StoreCorruptError if the file is not a SQLite database.
   * @throws StoreSchemaError if a migration fails (the schema stays as it was) or the
   *   file's schema is newer than the last migration.
   * @throws StoreLockedError if this process already has the file open, or, in
   *   `'exclusive'` mode, another process owns it (its `pid` and `host` name the owner).
   *   Nothing waits for the owner: the open is refused at once.
   * @throws StoreBusyError if another process held the write lock past `busyTimeoutMs`.
   * @throws StoreError if the file cannot be opened (a missing or read-only directory).
   */
  static async open(path: string, options: DatabaseOptions): Promise<Database> {
    if (typeof path !== 'string' || path.length === 0) {
      throw new TypeError(`path must be a non-empty string, got ${typeof path}`);
    }
    const { signal, migrations, synchronous, busyTimeoutMs, lockStaleMs, slowCallMs } =
      normalizeOptions(options);
    throwIfAborted(signal);
    // An in-memory database has nothing to share between connections.
    const key = path === ':memory:' ? undefined : resolvePath(path);
    if (key !== undefined && openFiles.has(key)) {
      throw new StoreLockedError(`${path} is already open in this process (pid ${process.pid})`, {
        path,
        pid: process.pid,
        host: hostname(),
      });
    }
    let db: Database;
    let owner: OwnerLock | undefined;
    if (key !== undefined) openFiles.add(key);
    try {
      if (key !== undefined && lockStaleMs !== undefined) {
        owner = await OwnerLock.take(key, lockStaleMs, signal);
      }
      db = new Database(path, key, busyTimeoutMs, owner, slowCallMs);
    } catch (error) {
      if (key !== undefined) openFiles.delete(key);
      await owner?.release();
      // A file system error (a missing or read-only directory) names the database, as
      // it does in shared mode, not the lock's own path.
      if (error instanceof WorkbusError || isAbortError(error)) throw error;
      throw new StoreError(
        `${path}: cannot take the owner lock: ${String((error as Error).message)}`,
        {
          path,
          cause: error,
        },
      );
    }
    try {
      await db.#call({ kind: 'open', synchronous, migrations }, signal, true);
    } catch (error) {
      await db.#close();
      throw error;
    }
    return db;
  }

  /**
   * In `'exclusive'` mode, the owner whose lock this open took over: a process that held
   * the file and ended without `stop()` (killed, crashed), or hung past `lockStaleMs`.
   * Its last writes are whatever it committed (SQLite keeps each transaction whole); what
   * it meant to do after them, the app must check. `undefined` when the lock was free
   * (the last owner stopped), and always in `'shared'` mode.
   */
  get recoveredLock(): DatabaseOwner | undefined {
    return this.#owner?.recovered;
  }

  /**
   * Counters since the open: calls answered, failed and pending, slow calls (the
   * `slowCallMs` option), waits on another process's write lock. Plain frozen data, a
   * copy of this instant; costs nothing to ask.
   */
  health(): StoreHealth {
    return this.#health.view();
  }

  /** The path given to {@link Database.open}. */
  get path(): string {
    return this.#path;
  }

  /**
   * The first row of a read-only query, or `undefined` when it returns none (a statement
   * that writes is a TypeError: use {@link Database.run}).
   * @throws TypeError for SQL that writes; StoreError for a SQLite error; ClosedError
   *   after `stop()`.
   */
  get(sql: string, params: SqlParams, options: CallOptions): Promise<Row | undefined> {
    return this.#entry('get', options, (signal) =>
      this.#call({ kind: 'get', sql: sqlText(sql), params }, signal, false),
    ) as Promise<Row | undefined>;
  }

  /**
   * Every row of a read-only query (a statement that writes, even with `RETURNING`, is a
   * TypeError: writes go through the ordered, transactional calls below). The thread reads them in one statement (no transaction stays
   * open afterwards) and hands them over in pages of 1000 rows, each asked for when the
   * previous one has arrived, so the event loop handles other events between pages. An
   * abort stops the hand-over at the next page.
   * @throws TypeError for SQL that writes; StoreError for a SQLite error; ClosedError
   *   after `stop()`.
   */
  all(sql: string, params: SqlParams, options: CallOptions): Promise<Row[]> {
    return this.#entry('all', options, (signal) =>
      this.#call({ kind: 'all', sql: sqlText(sql), params }, signal, false),
    ) as Promise<Row[]>;
  }

  /**
   * One write statement in its own `BEGIN IMMEDIATE` transaction.
   * @throws StoreError for a SQLite error (its code in `cause`); StoreBusyError past
   *   `busyTimeoutMs`; ClosedError after `stop()`; LockCompromisedError in `'exclusive'`
   *   mode once the owner lock was lost (see {@link Database.transaction}).
   */
  async run(sql: string, params: SqlParams, options: CallOptions): Promise<RunResult> {
    const [result] = await this.transaction([{ sql, params }], options);
    return result as RunResult;
  }

  /**
   * The statements in one `BEGIN IMMEDIATE` transaction: all of them or none. A crash
   * (even kill -9) leaves the state before or after it, never in between.
   * More than 1000 statements cross to the thread in pages, as {@link Database.batch}'s
   * rows do.
   * @throws StoreError for a SQLite error in any statement (nothing is applied);
   *   StoreBusyError past `busyTimeoutMs`; ClosedError after `stop()`.
   * @throws LockCompromisedError in `'exclusive'` mode once the owner lock was lost
   *   (another process found it stale and took the file over): this write and every later
   *   one, so that two owners never write; a write running at that moment rolls back
   *   unless it had committed. Reads go on; `stop()` and a new open are the way out.
   */
  transaction(statements: readonly Statement[], options: CallOptions): Promise<RunResult[]> {
    return this.#entry('transaction', options, (signal) => {
      if (!Array.isArray(statements)) {
        throw new TypeError(`statements must be an array, got ${typeof statements}`);
      }
      const checked = statements.map((s: Statement) => ({ sql: sqlText(s.sql), params: s.params }));
      const first = checked.slice(0, PAGE_SIZE);
      const more = checked.length > PAGE_SIZE;
      return this.#call({ kind: 'transaction', statements: first, more }, signal, true, checked);
    }) as Promise<RunResult[]>;
  }

  /**
   * One statement run once per element of `rows`, all in one transaction (the fast way
   * to insert many rows). Resolves with the total number of rows changed. The rows cross
   * to the thread 1000 at a time, each page cloned only when the thread has run the one
   * before, so a large batch never holds the event loop for long; the transaction spans
   * every page, and a failure or abort between pages rolls all of it back.
   * @throws TypeError naming the page when a row holds a value that cannot be sent (not
   *   SQL data); nothing is applied.
   * @throws like {@link Database.transaction}.
   */
  batch(
    sql: string,
    rows: readonly SqlParams[],
    options: CallOptions,
  ): Promise<{ readonly changes: number }> {
    return this.#entry('batch', options, (signal) => {
      if (!Array.isArray(rows)) throw new TypeError(`rows must be an array, got ${typeof rows}`);
      const first = rows.slice(0, PAGE_SIZE);
      const more = rows.length > PAGE_SIZE;
      return this.#call(
        { kind: 'batch', sql: sqlText(sql), rows: first, more },
        signal,
        true,
        rows,
      );
    }) as Promise<{ readonly changes: number }>;
  }

  /**
   * Stops the database (a `Lifecycle` component): refuses new calls with `ClosedError`,
   * lets the calls already made finish (when `signal` aborts, the ones still waiting
   * reject with an abort error whose cause is a `ClosedError`, and the one running rolls
   * back), then checkpoints the WAL into the file, closes the connection and ends the
   * thread. A second call waits for the first.
   * Rejects with a TypeError for a missing `signal`, a RangeError for a `deadline` that is
   * not finite.
   */
  stop(context: StopContext): Promise<void> {
    try {
      const given = checkOptions('stop context', context, ['signal', 'deadline']);
      const signal = requiredSignal('stop context.signal', given['signal']);
      finite('stop context.deadline', given['deadline']);
      this.#stopped ??= this.#shutdown(signal);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#stopped;
  }

  async #shutdown(signal: AbortSignal): Promise<void> {
    if (this.#state === 'open') this.#state = 'closing';
    const force = (): void => {
      for (const call of this.#calls) call.abort(new ClosedError('The database was stopped'));
    };
    const detach = onAbort(signal, force);
    if (signal.aborted) force();
    try {
      if (this.#calls.size > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    } finally {
      detach();
    }
    await this.#close();
  }

  /**
   * Checkpoints and closes the connection, ends the thread, then releases the owner lock:
   * another owner may open the file only once this connection is gone.
   */
  async #close(): Promise<void> {
    try {
      if (this.#state !== 'closed') await this.#send({ kind: 'close' }, undefined);
    } finally {
      this.#state = 'closed';
      if (this.#key !== undefined) openFiles.delete(this.#key);
      await this.#worker.terminate();
      this.#detachOwner();
      await this.#owner?.release();
    }
  }

  /** Validates the options, refuses a closed database, tracks the call for `stop()`. */
  async #entry(
    method: string,
    options: CallOptions,
    body: (signal: AbortSignal) => Promise<unknown>,
  ): Promise<unknown> {
    const signal = callSignal(method, options);
    if (this.#state !== 'open') {
      throw new ClosedError('The database was stopped', { cause: this.#failure });
    }
    throwIfAborted(signal);
    return this.#health.measure(
      method,
      () => body(signal),
      () => signal.aborted,
    );
  }

  /**
   * Runs `request` in the thread, retrying it whole while another process holds the write
   * lock. For a write, `items` are all of its statements or rows: the request carries the
   * first page, and the rest follow a page at a time as the thread asks.
   */
  async #call(
    request: Request,
    callerSignal: AbortSignal,
    write: boolean,
    items: readonly WriteItem[] = [],
  ): Promise<unknown> {
    const lost = this.#owner?.lost;
    if (write && lost?.aborted) throw lost.reason;
    const link = new LinkedSignal(callerSignal);
    this.#calls.add(link);
    if (write) this.#writes.add(link);
    try {
      const signal = link.signal;
      const writer = write ? await this.#writer.acquire({ signal }) : undefined;
      try {
        const started = Date.now();
        for (let attempt = 1; ; attempt++) {
          const outcome = await this.#thread.run(() => this.#send(request, signal, items), {
            signal,
          });
          if (outcome !== BUSY) return outcome;
          const left = this.#busyTimeoutMs - (Date.now() - started);
          if (left <= 0) {
            this.#health.busyTimeout();
            throw this.#busy();
          }
          this.#health.busyRetry();
          await sleep(Math.min(left, backoffDelay(BUSY_BACKOFF, attempt, Math.random)), {
            signal,
          });
        }
      } finally {
        writer?.release();
      }
    } catch (error) {
      // The lock was lost while this write waited or ran (rolled back, unless committed).
      if (write && lost?.aborted && link.signal.reason === lost.reason) throw lost.reason;
      throw error;
    } finally {
      link.dispose();
      this.#calls.delete(link);
      this.#writes.delete(link);
      if (this.#calls.size === 0) this.#idle?.();
    }
  }

  #busy(): StoreBusyError {
    return new StoreBusyError(
      `${this.#path} stayed locked by another connection for ${this.#busyTimeoutMs} ms`,
      { path: this.#path, busyTimeoutMs: this.#busyTimeoutMs },
    );
  }

  /** Sends one request (a write's later pages as asked); resolves with its value or {@link BUSY}. */
  #send(
    request: Request,
    signal: AbortSignal | undefined,
    items: readonly WriteItem[] = [],
  ): Promise<unknown> {
    if (this.#state === 'closed') {
      return Promise.reject(new ClosedError('The database was stopped', { cause: this.#failure }));
    }
    this.#nextId = this.#nextId >= 0x7fffffff ? 1 : this.#nextId + 1;
    const id = this.#nextId;
    return new Promise((resolve, reject) => {
      const detach = onAbort(signal, () => Atomics.store(this.#abortFlag, 0, id));
      const rows: Row[] = [];
      const call: InFlight = {
        id,
        rows,
        pages: { items, sent: PAGE_SIZE },
        settle: (reply) => {
          detach();
          this.#inFlight = undefined;
          if (reply.kind === 'done') resolve(request.kind === 'all' ? rows : reply.value);
          else if (reply.failure.kind === 'busy') resolve(BUSY);
          else if (call.failure !== undefined) reject(call.failure);
          else reject(this.#errorOf(reply.failure, signal));
        },
      };
      this.#inFlight = call;
      const envelope: Envelope = { id, request };
      try {
        this.#worker.postMessage(envelope);
      } catch (error) {
        // Nothing reached the thread: a write's first page that cannot be cloned.
        detach();
        this.#inFlight = undefined;
        const count = Math.min(items.length, PAGE_SIZE);
        reject(unsendable(count > 0 ? pageName(0, count) : 'The parameters', error));
      }
    });
  }

  #onReply(reply: Reply): void {
    const call = this.#inFlight;
    if (call === undefined || call.id !== reply.id) return;
    if (reply.kind === 'page') {
      for (const row of reply.rows) call.rows.push(row);
      const next: Envelope = { id: call.id, request: { kind: 'next' } };
      this.#worker.postMessage(next);
    } else if (reply.kind === 'ask') {
      this.#sendPage(call);
    } else {
      call.settle(reply);
    }
  }

  /**
   * The next page of a write, cloned here: one page at a time, so the app's thread never
   * serialises more than a page between two turns of its event loop. A page that cannot
   * be cloned (a value that is not SQL data) rolls the write back: a TypeError naming the
   * page, the clone error as its cause.
   */
  #sendPage(call: InFlight): void {
    const { items, sent } = call.pages;
    call.pages.sent = sent + PAGE_SIZE;
    const page = items.slice(sent, sent + PAGE_SIZE);
    try {
      const next: Envelope = {
        id: call.id,
        request: { kind: 'page', items: page, more: sent + PAGE_SIZE < items.length },
      };
      this.#worker.postMessage(next);
    } catch (error) {
      call.failure = unsendable(pageName(sent, page.length), error);
      const rollback: Envelope = { id: call.id, request: { kind: 'rollback' } };
      this.#worker.postMessage(rollback);
    }
  }

  #onThreadEnd(error: unknown): void {
    this.#failure = error;
    this.#state = 'closed';
    if (this.#key !== undefined) openFiles.delete(this.#key);
    const failure: Failure = { kind: 'sqlite', error: { message: String(error), code: undefined } };
    this.#inFlight?.settle({ id: this.#inFlight.id, kind: 'failed', failure });
  }

  #errorOf(failure: Failure, signal: AbortSignal | undefined): Error {
    const path = this.#path;
    switch (failure.kind) {
      case 'busy':
        return this.#busy();
      case 'aborted':
        return signal === undefined ? new ClosedError() : abortErrorOf(signal);
      case 'usage':
        return new TypeError(failure.message);
      case 'corrupt':
        return new StoreCorruptError(`${path} is not a SQLite database: ${failure.message}`, {
          path,
        });
      case 'newer':
        return new StoreSchemaError(
          `${path} has schema version ${failure.version}, newer than this code knows (${failure.known})`,
          { path, version: failure.version },
        );
      case 'migration':
        return new StoreSchemaError(
          `Migration ${failure.version} failed on ${path}, schema left as it was: ${failure.error.message}`,
          { path, version: failure.version, cause: sqliteError(failure.error) },
        );
      case 'sqlite':
        return new StoreError(`${path}: ${failure.error.message}`, {
          path,
          cause: sqliteError(failure.error),
        });
    }
  }
}

/** A request that structured cloning refused; `what` names the part. */
function unsendable(what: string, error: unknown): TypeError {
  return new TypeError(
    `${what} cannot be sent to the database thread (only SQL values can): ${String(error)}`,
    { cause: error },
  );
}

function pageName(first: number, count: number): string {
  return `Items ${first}–${first + count - 1} of the write`;
}

function sqlText(sql: unknown): string {
  if (typeof sql !== 'string') throw new TypeError(`sql must be a string, got ${typeof sql}`);
  return sql;
}

/** The thread's SQLite error, rebuilt with its `code`, to be a store error's `cause`. */
function sqliteError(failure: SqliteFailure): Error {
  const error = new Error(failure.message);
  error.name = 'SqliteError';
  return Object.assign(error, { code: failure.code });
}

/**
 * Compiled, the thread is `thread.js` beside this file. Run from the TypeScript sources
 * (vitest, tsx), it is `thread.ts`, which a plain Worker cannot load, and Node 20 applies
 * a Worker's `execArgv: ['--import', 'tsx']` only after loading its entry module: a small
 * entry script registers tsx in the thread first, then imports the thread module.
 */
function startThread(workerData: ThreadData): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./thread.js', import.meta.url), { workerData });
  }
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const thread = JSON.stringify(new URL('./thread.ts', import.meta.url).href);
  const entry = `import(${tsx}).then((api) => { api.register(); return import(${thread}); });`;
  return new Worker(entry, { eval: true, workerData });
}
