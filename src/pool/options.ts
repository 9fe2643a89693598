import { duration, finite, integer, oneOf, optionalSignal } from '../validate.js';
import type { PoolEventSink } from './events.js';

/** At most `limit` job starts in any window of `intervalMs`. */
export interface RateLimit {
  readonly limit: number;
  readonly intervalMs: number;
}

/** Limits and behaviour of one job type. */
export interface JobTypeOptions {
  /** Jobs of this type running at once (a positive integer). */
  readonly concurrency: number;
  /** Optional start-rate limit, e.g. `{ limit: 5, intervalMs: 1000 }`. */
  readonly rate?: RateLimit | undefined;
  /**
   * Report a job of this type that runs longer than this once (`job.stalled` event, flag
   * in the snapshot); it is not killed.
   */
  readonly stallAfterMs?: number | undefined;
  /**
   * Run this type's jobs in worker threads (tinypool). Jobs of this type are submitted as
   * structured-cloneable input, not as functions.
   *
   * The module (an absolute path or file URL) must be JavaScript the runtime loads as it
   * is: compiled output or a `.mjs` file, not TypeScript source. It default-exports a
   * function wrapped with `workerTask`. A TypeScript app points at its compiled file, or
   * at a JavaScript shim that loads the TypeScript module through `tsx`:
   *
   * ```js
   * // parse.worker.mjs
   * import { tsImport } from 'tsx/esm/api';
   * const { default: task } = await tsImport('./parse.worker.ts', import.meta.url);
   * export default task;
   * ```
   *
   * Whatever the module or its thread does wrong ends the job, never the process: a
   * module that is missing, fails to parse, throws at import, or does not default-export
   * a `workerTask`, a thread that exits or crashes mid-job, a result, thrown value or
   * progress report that cannot be cloned, each fail the job with `WorkerError` (code
   * `WORKER_FAILED`, naming the type and module, the failure as `cause`), and the job's
   * slot is freed. The module is loaded by each thread for its first job, so no failure
   * poisons the type: a thread whose load failed is replaced, and a later job loads the
   * module afresh (and runs, once the file is fixed).
   */
  readonly worker?: string | URL | undefined;
  /**
   * Worker types: how long a cancelled task may take to honour its signal before its
   * thread is torn down. @default 100
   */
  readonly cancelGraceMs?: number | undefined;
}

/** The queue of jobs waiting to start. */
export interface QueueOptions {
  /** Most queued jobs. @default Infinity */
  readonly capacity?: number | undefined;
  /**
   * When full, `submit` throws `QueueFullError` (`'reject'`), or evicts the
   * lowest-ranked queued job, whose result rejects with `QueueFullError`
   * (`'drop-lowest'`; a submit ranked no higher than every queued job is refused).
   * @default 'reject'
   */
  readonly whenFull?: 'reject' | 'drop-lowest' | undefined;
}

/** Priority aging: a queued job's effective priority rises by `by` every `everyMs` it waits. */
export interface AgingOptions {
  readonly everyMs: number;
  readonly by: number;
}

/** Options of {@link WorkPool}. */
export interface WorkPoolOptions<Type extends string> {
  /** Global cap on running jobs (a positive integer). */
  readonly concurrency: number;
  /** The job types and their limits. */
  readonly types: { readonly [T in Type]: JobTypeOptions };
  readonly queue?: QueueOptions | undefined;
  /** How many finished jobs the snapshot's history keeps. @default 100 */
  readonly history?: number | undefined;
  /** Where job events are published (an `EventBus` whose events include {@link PoolEvents}). */
  readonly bus?: PoolEventSink | undefined;
  /** Parent signal: aborting it closes the pool at once (no drain, no grace). */
  readonly signal?: AbortSignal | undefined;
  /** Optional priority aging, off by default. */
  readonly aging?: AgingOptions | undefined;
  /** How long `close` waits for aborted jobs before abandoning them. @default 1000 */
  readonly abortGraceMs?: number | undefined;
  /** Least time between two `job.progress` events of one job. @default 100 */
  readonly progressIntervalMs?: number | undefined;
  /** Source of retry jitter in [0, 1). @default Math.random */
  readonly random?: (() => number) | undefined;
}

export interface NormalizedType {
  readonly name: string;
  readonly concurrency: number;
  readonly rate: RateLimit | undefined;
  readonly stallAfterMs: number | undefined;
  readonly worker: string | URL | undefined;
  readonly cancelGraceMs: number;
}

export interface NormalizedOptions {
  readonly concurrency: number;
  readonly types: readonly NormalizedType[];
  readonly capacity: number;
  readonly whenFull: 'reject' | 'drop-lowest';
  readonly history: number;
  readonly bus: PoolEventSink | undefined;
  readonly signal: AbortSignal | undefined;
  readonly aging: AgingOptions | undefined;
  readonly abortGraceMs: number;
  readonly progressIntervalMs: number;
  readonly random: () => number;
}

function object(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(
      `${field} must be an object, got ${value === null ? 'null' : typeof value}`,
    );
  }
  return value as Record<string, unknown>;
}

function optionalInteger(field: string, value: unknown, min: number): number | undefined {
  return value === undefined ? undefined : integer(field, value, min);
}

function workerModule(field: string, value: unknown): string | URL | undefined {
  if (value === undefined || value instanceof URL) return value;
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${field} must be a module path or file URL, got ${typeof value}`);
  }
  return value;
}

/** Validates every option once and returns a frozen, normalised copy (the caller's object is not touched). */
export function normalizeOptions(options: WorkPoolOptions<string>): NormalizedOptions {
  const o = object('options', options);
  const concurrency = integer('concurrency', o.concurrency, 1);
  const typesIn = object('types', o.types);
  const names = Object.keys(typesIn);
  if (names.length === 0) throw new TypeError('types must name at least one job type, got {}');
  const types = names.map((name): NormalizedType => {
    const t = object(`types.${name}`, typesIn[name]);
    const rate =
      t.rate === undefined
        ? undefined
        : (() => {
            const r = object(`types.${name}.rate`, t.rate);
            return Object.freeze({
              limit: integer(`types.${name}.rate.limit`, r.limit, 1),
              intervalMs: integer(`types.${name}.rate.intervalMs`, r.intervalMs, 1),
            });
          })();
    return Object.freeze({
      name,
      concurrency: integer(`types.${name}.concurrency`, t.concurrency, 1),
      rate,
      stallAfterMs: optionalInteger(`types.${name}.stallAfterMs`, t.stallAfterMs, 1),
      worker: workerModule(`types.${name}.worker`, t.worker),
      cancelGraceMs: duration(`types.${name}.cancelGraceMs`, t.cancelGraceMs ?? 100),
    });
  });
  const queue = o.queue === undefined ? {} : object('queue', o.queue);
  const capacity =
    queue.capacity === undefined || queue.capacity === Number.POSITIVE_INFINITY
      ? Number.POSITIVE_INFINITY
      : integer('queue.capacity', queue.capacity, 0);
  const aging =
    o.aging === undefined
      ? undefined
      : (() => {
          const a = object('aging', o.aging);
          const by = finite('aging.by', a.by);
          if (!(by > 0)) throw new RangeError(`aging.by must be a positive number, got ${by}`);
          return Object.freeze({ everyMs: integer('aging.everyMs', a.everyMs, 1), by });
        })();
  if (o.bus !== undefined && typeof (o.bus as { publish?: unknown }).publish !== 'function') {
    throw new TypeError('bus must have a publish(topic, payload) method, such as an EventBus');
  }
  if (o.random !== undefined && typeof o.random !== 'function') {
    throw new TypeError(
      `random must be a function returning a number in [0, 1), got ${typeof o.random}`,
    );
  }
  return Object.freeze({
    concurrency,
    types: Object.freeze(types),
    capacity,
    whenFull: oneOf('queue.whenFull', queue.whenFull ?? 'reject', [
      'reject',
      'drop-lowest',
    ] as const),
    history: integer('history', o.history ?? 100, 0),
    bus: o.bus as PoolEventSink | undefined,
    signal: optionalSignal('signal', o.signal),
    aging,
    abortGraceMs: integer('abortGraceMs', o.abortGraceMs ?? 1000, 0),
    progressIntervalMs: integer('progressIntervalMs', o.progressIntervalMs ?? 100, 0),
    random: (o.random as (() => number) | undefined) ?? Math.random,
  });
}
