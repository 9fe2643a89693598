/**
 * FailureTracker: failures of keyed work, kept in a `Database`, so repeated failures back
 * off and permanent ones are skipped for a time-to-live, across restarts and processes.
 *
 * The database is the truth; the tracker keeps an in-memory copy of its rows so that
 * {@link FailureTracker.check} answers synchronously (a pool asks it for every keyed job,
 * at submit and before every start, without waiting). The copy is loaded at open and
 * replaced by the row read back after each of this tracker's writes; another process's
 * writes are seen at the next write of the same key, or at {@link FailureTracker.refresh}.
 *
 * Counting is done by SQLite, never read-modify-write in JavaScript: each failure is one
 * `INSERT … ON CONFLICT DO UPDATE SET failures = failures + 1` in a `BEGIN IMMEDIATE`
 * transaction, so concurrent failures of one key — from one process or many on the same
 * file — each count once.
 *
 * Crashes never lose a failure (write-ahead): {@link FailureTracker.begin} records a run
 * (an in-flight count under this tracker's owner id) before the job's task starts; the
 * outcome turns it into a failure, a cleared key, or nothing, in one transaction. Runs
 * left by a process that died (same host, pid no longer alive) are counted as failures
 * at the next `open` or `refresh` on that file: a job killed between its failure and its
 * record is counted once, and a job killed while it ran (which might have succeeded) is
 * counted once too — at most one over-count per job that was running — unless a later run
 * of the same key succeeded before the dead owner was recovered (its job ran again
 * elsewhere and did the work): a success settles the key's unfinished runs.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { NonRetryableError } from '../errors.js';
import type { ErrorView } from '../pool/job.js';
import type { KeyHold, KeyTracker, TrackedRun, TrackerCallOptions } from '../pool/tracking.js';
import { errorView } from '../pool/views.js';
import {
  callable,
  duration,
  nonEmptyString,
  options as checkOptions,
  requiredSignal,
} from '../validate.js';
import { callSignal } from './options.js';
import { Database } from './database.js';
import type { Row, SqlValue, Statement } from './protocol.js';

/** Options of {@link FailureTracker.open}. */
export interface FailureTrackerOptions {
  /** Cancels the open (creating the tables, recovering dead runs, loading). Required. */
  readonly signal: AbortSignal;
  /**
   * Several trackers can share one database: each sees only the keys of its name.
   * @default 'default'
   */
  readonly name?: string | undefined;
  /** Backoff after the first failure (before the jitter), in ms; at least 1. @default 60000 */
  readonly baseMs?: number | undefined;
  /** Largest backoff, in ms (at least `baseMs`). @default 21600000 (6 hours) */
  readonly maxMs?: number | undefined;
  /** How long a permanent failure holds its key back, in ms. @default 604800000 (7 days) */
  readonly permanentTtlMs?: number | undefined;
  /** The clock, in ms since the epoch. @default Date.now */
  readonly now?: (() => number) | undefined;
  /** The jitter's source: a number in [0, 1). @default Math.random */
  readonly random?: (() => number) | undefined;
}

/** One key's failures, as plain frozen data (what a dashboard lists). */
export interface FailureRecord {
  readonly key: string;
  /** Failures since the key last succeeded or was cleared. */
  readonly failures: number;
  readonly firstFailedAt: number;
  readonly lastFailedAt: number;
  readonly lastError: ErrorView;
  /** The last failure was permanent: the key is held back until `eligibleAt` (its TTL). */
  readonly permanent: boolean;
  /** When jobs of the key may run again (the next attempt, or "permanent until"). */
  readonly eligibleAt: number;
}

/** Options of {@link FailureTracker.recordFailure}. */
export interface RecordFailureOptions extends TrackerCallOptions {
  /**
   * Hold the key back for `permanentTtlMs` rather than backing off.
   * @default whether `error` is a `NonRetryableError` with `permanent: true`
   */
  readonly permanent?: boolean | undefined;
}

const FAILURES = 'workbus_failures';
const RUNS = 'workbus_failure_runs';
const OWNERS = 'workbus_failure_owners';

// Tables of their own, created if missing: the tracker needs no entry in the app's
// migrations, and several trackers (by name) share them.
const SCHEMA: readonly Statement[] = [
  {
    sql: `CREATE TABLE IF NOT EXISTS ${FAILURES} (
      tracker TEXT NOT NULL, key TEXT NOT NULL, failures INTEGER NOT NULL,
      first_failed_at INTEGER NOT NULL, last_failed_at INTEGER NOT NULL,
      error_name TEXT NOT NULL, error_message TEXT NOT NULL, error_code TEXT,
      permanent INTEGER NOT NULL, eligible_at INTEGER NOT NULL,
      PRIMARY KEY (tracker, key)) WITHOUT ROWID`,
  },
  {
    sql: `CREATE TABLE IF NOT EXISTS ${RUNS} (
      tracker TEXT NOT NULL, key TEXT NOT NULL, owner TEXT NOT NULL, running INTEGER NOT NULL,
      PRIMARY KEY (tracker, key, owner)) WITHOUT ROWID`,
  },
  {
    sql: `CREATE TABLE IF NOT EXISTS ${OWNERS} (
      owner TEXT NOT NULL PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL) WITHOUT ROWID`,
  },
];

/**
 * When a key that now has `count` failures (an SQL expression) may run again: the
 * permanent TTL, or full-jitter backoff `draw · min(maxMs, baseMs · 2^(count−1))` —
 * computed by SQLite in the same statement that counts, so it uses the count as
 * committed. The shift is capped at 62 (an int64); with `baseMs ≥ 1`, `2^62` ms is far
 * past any `maxMs`, so the cap never changes the result.
 */
function eligibleAt(count: string): string {
  return `CASE WHEN :permanent = 1 THEN :now + :ttl
    ELSE :now + CAST(:draw * min(:maxMs, :baseMs * (1 << min(${count} - 1, 62))) AS INTEGER) END`;
}

/** Adds failures to keys: `source` yields (tracker, key, count, error columns…). */
function countFailures(source: string): string {
  return `INSERT INTO ${FAILURES} (tracker, key, failures, first_failed_at, last_failed_at,
      error_name, error_message, error_code, permanent, eligible_at)
    ${source}
    ON CONFLICT (tracker, key) DO UPDATE SET
      failures = failures + excluded.failures,
      last_failed_at = excluded.last_failed_at,
      error_name = excluded.error_name,
      error_message = excluded.error_message,
      error_code = excluded.error_code,
      permanent = excluded.permanent,
      eligible_at = ${eligibleAt('failures + excluded.failures')}`;
}

const RECORD_FAILURE = countFailures(
  `VALUES (:tracker, :key, 1, :now, :now, :name, :message, :code, :permanent, ${eligibleAt('1')})`,
);

// `WHERE true`: SQLite needs it to tell the upsert's ON CONFLICT from a join constraint.
const RECOVER_OWNER = countFailures(
  `SELECT tracker, key, running, :now, :now, 'ProcessEnded', :message, NULL, :permanent,
      ${eligibleAt('running')}
    FROM ${RUNS} WHERE owner = :owner AND running > 0 AND true`,
);

/** Owner ids of the trackers open in this process (a dead process's are not here). */
const liveOwners = new Set<string>();

const OPEN_OPTIONS = ['signal', 'name', 'baseMs', 'maxMs', 'permanentTtlMs', 'now', 'random'];

/**
 * Failures of keyed work, persistent in a {@link Database}: attempts, first and last
 * failure, the last error, when the key may run again (exponential backoff with full
 * jitter, capped), and permanent failures with a time-to-live. Give it to a `WorkPool`
 * (`tracker`, or per type `types.x.tracker`) and every keyed job of the pool goes
 * through it; see the module comment for how it counts under concurrency and crashes.
 *
 * @example
 * ```ts
 * const tracker = await FailureTracker.open(db, { signal, baseMs: 1_000, maxMs: 60_000 });
 * const pool = new WorkPool({ concurrency: 2, types: { fetch: { concurrency: 2 } }, tracker });
 * ```
 */
export class FailureTracker implements KeyTracker {
  readonly #db: Database;
  readonly #name: string;
  readonly #owner: string;
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  #rows = new Map<string, FailureRecord>();

  private constructor(db: Database, o: Normalized) {
    this.#db = db;
    this.#name = o.name;
    this.#owner = `${hostname()}:${process.pid}:${randomUUID()}`;
    this.#baseMs = o.baseMs;
    this.#maxMs = o.maxMs;
    this.#ttlMs = o.permanentTtlMs;
    this.#now = o.now;
    this.#random = o.random;
  }

  /**
   * Opens the tracker named `name` in `db`: creates its tables if missing, counts as
   * failures the runs left by processes that died, and loads the keys' rows.
   * @throws TypeError/RangeError for a bad option (naming it); the `Database`'s errors
   * (StoreError, StoreBusyError, ClosedError, an abort error).
   */
  static async open(db: Database, options: FailureTrackerOptions): Promise<FailureTracker> {
    if (!(db instanceof Database)) {
      throw new TypeError(`db must be a Database, got ${typeof db}`);
    }
    const o = normalize(options);
    const tracker = new FailureTracker(db, o);
    await db.transaction(
      [
        ...SCHEMA,
        {
          sql: `INSERT INTO ${OWNERS} (owner, host, pid) VALUES (?, ?, ?)`,
          params: [tracker.#owner, hostname(), process.pid],
        },
      ],
      { signal: o.signal },
    );
    liveOwners.add(tracker.#owner);
    await tracker.refresh({ signal: o.signal });
    return tracker;
  }

  /**
   * Whether jobs of `key` are held back now (`now()` before its `eligibleAt`), why, and
   * until when; `undefined` if they may run. Synchronous: reads the in-memory copy.
   */
  check(key: string): KeyHold | undefined {
    const row = this.#rows.get(key);
    if (row === undefined || !(this.#now() < row.eligibleAt)) return undefined;
    return { reason: row.permanent ? 'permanent' : 'backoff', eligibleAt: row.eligibleAt };
  }

  /** The key's failures (from the in-memory copy), or `undefined` if it has none. */
  get(key: string): FailureRecord | undefined {
    return this.#rows.get(key);
  }

  /** Every key with failures (from the in-memory copy), by key. */
  list(): readonly FailureRecord[] {
    return Object.freeze([...this.#rows.values()].sort((a, b) => (a.key < b.key ? -1 : 1)));
  }

  /**
   * Reloads the in-memory copy from the database, after counting as failures the runs
   * left by processes that died. Call it to see other processes' writes.
   * @throws as {@link FailureTracker.open}.
   */
  async refresh(options: TrackerCallOptions): Promise<void> {
    const signal = callSignal('refresh', options);
    await this.#recoverDeadOwners(signal);
    const rows = await this.#db.all(`SELECT * FROM ${FAILURES} WHERE tracker = ?`, [this.#name], {
      signal,
    });
    this.#rows = new Map(rows.map((row) => [String(row['key']), recordOf(row)]));
  }

  /**
   * Counts one failure of `key` (outside any run: the feed kit's 410, a manual mark).
   * Resolves with the key's record as written.
   * @throws TypeError for a bad key or options; the `Database`'s errors.
   */
  async recordFailure(
    key: string,
    error: unknown,
    options: RecordFailureOptions,
  ): Promise<FailureRecord> {
    const given = checkOptions('recordFailure options', options, ['signal', 'permanent']);
    const signal = requiredSignal('recordFailure options.signal', given['signal']);
    const permanent = given['permanent'];
    if (permanent !== undefined && typeof permanent !== 'boolean') {
      throw new TypeError(`permanent must be a boolean, got ${typeof permanent}`);
    }
    nonEmptyString('key', key);
    await this.#db.transaction([this.#failure(key, error, permanent)], { signal });
    return (await this.#reload(key, signal)) as FailureRecord;
  }

  /**
   * Forgives `key`: its failures are deleted, so its jobs run at once (a manual
   * "refresh this feed", a dashboard's "retry now"). Clearing a key without failures does
   * nothing.
   * @throws TypeError for a bad key; the `Database`'s errors.
   */
  async clear(key: string, options: TrackerCallOptions): Promise<void> {
    const signal = callSignal('clear', options);
    nonEmptyString('key', key);
    await this.#db.run(`DELETE FROM ${FAILURES} WHERE tracker = ? AND key = ?`, [this.#name, key], {
      signal,
    });
    await this.#reload(key, signal);
  }

  /**
   * Records durably that a job of `key` is running, before its task runs (write-ahead):
   * if the process dies before the run's outcome is recorded, the run is counted as a
   * failure at the next `open`/`refresh` of the file. Call exactly one of the run's
   * methods when the job ends.
   * @throws TypeError for a bad key; the `Database`'s errors (nothing is recorded then).
   */
  async begin(key: string, options: TrackerCallOptions): Promise<TrackedRun> {
    const signal = callSignal('begin', options);
    nonEmptyString('key', key);
    await this.#db.run(
      `INSERT INTO ${RUNS} (tracker, key, owner, running) VALUES (?, ?, ?, 1)
        ON CONFLICT (tracker, key, owner) DO UPDATE SET running = running + 1`,
      [this.#name, key, this.#owner],
      { signal },
    );
    let ended = false;
    const end = async (
      outcome: Statement | readonly Statement[] | undefined,
      callOptions: TrackerCallOptions,
    ): Promise<void> => {
      const signalOf = callSignal('run outcome', callOptions);
      if (ended) throw new TypeError(`The run of ${key} has already ended`);
      ended = true;
      try {
        await this.#db.transaction(
          [...this.#endRun(key), ...(outcome === undefined ? [] : [outcome].flat())],
          { signal: signalOf },
        );
      } catch (error) {
        // Nothing was written (a transaction is all or nothing): the outcome may be retried.
        ended = false;
        throw error;
      }
      if (outcome !== undefined) await this.#reload(key, signalOf);
    };
    return Object.freeze({
      succeeded: (o: TrackerCallOptions) => end(this.#succeededStatements(key), o),
      failed: (error: unknown, o: TrackerCallOptions) => end(this.#failure(key, error), o),
      released: (o: TrackerCallOptions) => end(undefined, o),
    });
  }

  /** The statements that take one run of `key` off this tracker's in-flight count. */
  #endRun(key: string): Statement[] {
    const params = [this.#name, key, this.#owner];
    return [
      {
        sql: `UPDATE ${RUNS} SET running = running - 1 WHERE tracker = ? AND key = ? AND owner = ?`,
        params,
      },
      {
        sql: `DELETE FROM ${RUNS} WHERE tracker = ? AND key = ? AND owner = ? AND running <= 0`,
        params,
      },
    ];
  }

  /**
   * A success clears the key, and settles its unfinished runs of other owners: the key's
   * work is done, so a run that died before this one (its job run again here, as an
   * at-least-once queue does) is not the key's failure, and must not be counted when its
   * dead owner is recovered later. A run still going elsewhere (the same key run twice at
   * once) loses its write-ahead record: if its process dies, that run is not counted.
   */
  #succeededStatements(key: string): Statement[] {
    return [
      this.#clearStatement(key),
      {
        sql: `DELETE FROM ${RUNS} WHERE tracker = ? AND key = ? AND owner <> ?`,
        params: [this.#name, key, this.#owner],
      },
    ];
  }

  #clearStatement(key: string): Statement {
    return {
      sql: `DELETE FROM ${FAILURES} WHERE tracker = ? AND key = ?`,
      params: [this.#name, key],
    };
  }

  #failure(key: string, error: unknown, permanent?: boolean): Statement {
    const view = errorView(error);
    const isPermanent = permanent ?? (error instanceof NonRetryableError && error.permanent);
    return {
      sql: RECORD_FAILURE,
      params: {
        ...this.#formula(isPermanent),
        tracker: this.#name,
        key,
        name: view.name,
        message: view.message,
        code: view.code ?? null,
      },
    };
  }

  /** The parameters of {@link eligibleAt}, with a fresh draw and the time now. */
  #formula(permanent: boolean): Record<string, SqlValue> {
    const draw = this.#random();
    if (!(typeof draw === 'number' && draw >= 0 && draw < 1)) {
      throw new RangeError(`random() must return a number in [0, 1), got ${String(draw)}`);
    }
    return {
      now: this.#now(),
      ttl: this.#ttlMs,
      draw,
      maxMs: this.#maxMs,
      baseMs: this.#baseMs,
      permanent: permanent ? 1 : 0,
    };
  }

  /** Reads `key`'s row back into the in-memory copy (the database is the truth). */
  async #reload(key: string, signal: AbortSignal): Promise<FailureRecord | undefined> {
    const row = await this.#db.get(
      `SELECT * FROM ${FAILURES} WHERE tracker = ? AND key = ?`,
      [this.#name, key],
      { signal },
    );
    const record = row === undefined ? undefined : recordOf(row);
    if (record === undefined) this.#rows.delete(key);
    else this.#rows.set(key, record);
    return record;
  }

  /**
   * Counts the runs of dead owners as failures and forgets those owners, one owner per
   * transaction. Only owners on this host can be judged (by their pid; a pid reused since
   * would keep a dead owner's runs uncounted until that process ends too); an owner of
   * this process is dead if no tracker of this process has its id. Two processes
   * recovering the same owner at once count its runs once: the second finds none left.
   */
  async #recoverDeadOwners(signal: AbortSignal): Promise<void> {
    const owners = await this.#db.all(
      `SELECT owner, pid FROM ${OWNERS} WHERE host = ?`,
      [hostname()],
      {
        signal,
      },
    );
    for (const row of owners) {
      const owner = String(row['owner']);
      const pid = Number(row['pid']);
      if (pid === process.pid ? liveOwners.has(owner) : isAlive(pid)) continue;
      await this.#db.transaction(
        [
          {
            sql: RECOVER_OWNER,
            params: {
              ...this.#formula(false),
              owner,
              message: `Process ${pid} ended while the job ran, before its outcome was recorded`,
            },
          },
          { sql: `DELETE FROM ${RUNS} WHERE owner = ?`, params: [owner] },
          { sql: `DELETE FROM ${OWNERS} WHERE owner = ?`, params: [owner] },
        ],
        { signal },
      );
    }
  }
}

interface Normalized {
  readonly signal: AbortSignal;
  readonly name: string;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly permanentTtlMs: number;
  readonly now: () => number;
  readonly random: () => number;
}

function normalize(value: unknown): Normalized {
  const o = checkOptions('FailureTracker options', value, OPEN_OPTIONS);
  const baseMs = duration('baseMs', o['baseMs'] ?? 60_000, 1);
  const maxMs = duration('maxMs', o['maxMs'] ?? 6 * 3_600_000);
  if (maxMs < baseMs) {
    throw new RangeError(`maxMs must be at least baseMs (${baseMs}), got ${maxMs}`);
  }
  return Object.freeze({
    signal: requiredSignal('FailureTracker options.signal', o['signal']),
    name: nonEmptyString('name', o['name'] ?? 'default'),
    baseMs,
    maxMs,
    permanentTtlMs: duration('permanentTtlMs', o['permanentTtlMs'] ?? 7 * 86_400_000),
    now: o['now'] === undefined ? Date.now : callable('now', o['now'] as () => number),
    random:
      o['random'] === undefined ? Math.random : callable('random', o['random'] as () => number),
  });
}

function recordOf(row: Row): FailureRecord {
  const code = row['error_code'];
  return Object.freeze({
    key: String(row['key']),
    failures: Number(row['failures']),
    firstFailedAt: Number(row['first_failed_at']),
    lastFailedAt: Number(row['last_failed_at']),
    lastError: Object.freeze({
      name: String(row['error_name']),
      message: String(row['error_message']),
      ...(typeof code === 'string' ? { code } : {}),
    }),
    permanent: row['permanent'] === 1,
    eligibleAt: Number(row['eligible_at']),
  });
}

/** Whether a process of this host is alive (EPERM: it is, but is not ours to signal). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
