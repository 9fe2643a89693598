import { duration, finite, integer, oneOf, optionalSignal, options } from '../validate.js';
import type { PoolEventSink } from './events.js';
import type { KeyTracker } from './tracking.js';
import type { AnyWorkerModule } from './worker-task.js';
import type { JobOptions } from './job.js';
import { normalizeRetry, type NormalizedRetry } from './retry.js';

/** At most `limit` job starts in any window of `intervalMs`. */
export interface RateLimit {
  /** Starts allowed per window (a positive integer). */
  readonly limit: number;
  /** The window, in milliseconds. */
  readonly intervalMs: number;
}

/** Options every job of a type gets unless its `submit` says otherwise (BullMQ's `defaultJobOptions`). */
export type JobDefaults = Pick<JobOptions, 'priority' | 'timeoutMs' | 'retry'>;

/** Limits and behaviour of one job type. */
export interface JobTypeOptions {
  /** Jobs of this type running at once (a positive integer; `setConcurrency` changes it later). */
  readonly concurrency: number;
  /** Optional start-rate limit, e.g. `{ limit: 5, intervalMs: 1000 }`. */
  readonly rate?: RateLimit | undefined;
  /**
   * Report a job of this type that runs longer than this many milliseconds, once
   * (`job.stalled` event, flag in the snapshot); it is not killed (use `timeoutMs`).
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
  readonly worker?: string | URL | AnyWorkerModule | undefined;
  /**
   * Worker types: how long a cancelled task may take to honour its signal before its
   * thread is torn down, in milliseconds. @default 100
   */
  readonly cancelGraceMs?: number | undefined;
  /** Defaults for this type's jobs: `priority`, `timeoutMs`, `retry`. */
  readonly defaults?: JobDefaults | undefined;
  /** This type's failure tracker, instead of the pool's `tracker` (see there). */
  readonly tracker?: KeyTracker | undefined;
}

/** The queue of jobs waiting to start. */
export interface QueueOptions {
  /** Most queued jobs (a positive integer, or `Infinity`). @default Infinity */
  readonly capacity?: number | undefined;
  /**
   * When full, `submit` throws `QueueFullError` (`'reject'`), or evicts the
   * lowest-ranked queued job, whose result rejects with `QueueFullError`
   * (`'drop-lowest'`; a submit ranked no higher than every queued job is refused).
   * `run` always waits for room instead.
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
export interface WorkPoolOptions<Types extends JobTypesOptions = JobTypesOptions> {
  /** Global cap on running jobs (a positive integer). */
  readonly concurrency: number;
  /** The job types and their limits. */
  readonly types: Types & { readonly [K in keyof Types]: JobTypeOptions };
  readonly queue?: QueueOptions | undefined;
  /** How many finished jobs the snapshot's history keeps. @default 100 */
  readonly history?: number | undefined;
  /** Where job events are published (an `EventBus` whose events include {@link PoolEvents}). */
  readonly bus?: PoolEventSink | undefined;
  /** Parent signal: aborting it closes the pool at once (no drain, no grace). */
  readonly signal?: AbortSignal | undefined;
  /** Optional priority aging, off by default. */
  readonly aging?: AgingOptions | undefined;
  /** How long `close` waits for aborted jobs before abandoning them, in milliseconds. @default 1000 */
  readonly abortGraceMs?: number | undefined;
  /** Least time between two `job.progress` events of one job, in milliseconds. @default 100 */
  readonly progressIntervalMs?: number | undefined;
  /** Source of retry jitter in [0, 1). @default Math.random */
  readonly random?: (() => number) | undefined;
  /**
   * A failure tracker (`FailureTracker`) for every keyed job of the pool (a type's own
   * `tracker` replaces it for that type). Each keyed job is checked at submit and before
   * every start: while its key backs off or is failed for good it ends at once as
   * `skipped` (its result rejects with `JobSkippedError`), using no slot. A keyed job is
   * recorded as running before its task first starts; its final outcome is recorded before
   * its result settles: a success clears the key, a failure (after the job's own retries,
   * a timeout included, an abort not) counts one — a permanent one if the error is a
   * `NonRetryableError` with `permanent: true` — and a cancel or skip counts nothing. A
   * record that fails leaves the job's result as it is and is reported on the bus as
   * `tracker.failed`. The tracker counts by key alone: types that share it share their
   * keys' failures (give a type a tracker of its own `name` to keep them apart).
   */
  readonly tracker?: KeyTracker | undefined;
}

/** The `types` option: job type name → its limits. */
export type JobTypesOptions = { readonly [type: string]: JobTypeOptions };

/** @internal */
export interface NormalizedDefaults {
  readonly priority: number | undefined;
  readonly timeoutMs: number | undefined;
  readonly retry: NormalizedRetry | undefined;
}

/** @internal */
export interface NormalizedType {
  readonly name: string;
  readonly concurrency: number;
  readonly rate: RateLimit | undefined;
  readonly stallAfterMs: number | undefined;
  readonly worker: string | URL | undefined;
  readonly cancelGraceMs: number;
  readonly defaults: NormalizedDefaults;
  /** The type's own tracker, or else the pool's. */
  readonly tracker: KeyTracker | undefined;
}

/** @internal */
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

const POOL_KEYS = [
  'concurrency',
  'types',
  'queue',
  'history',
  'bus',
  'signal',
  'aging',
  'abortGraceMs',
  'progressIntervalMs',
  'random',
  'tracker',
] as const;
const TYPE_KEYS = [
  'concurrency',
  'rate',
  'stallAfterMs',
  'worker',
  'cancelGraceMs',
  'defaults',
  'tracker',
];
const DEFAULTS_KEYS = ['priority', 'timeoutMs', 'retry'];

function workerLocation(field: string, value: unknown): string | URL | undefined {
  if (value === undefined || value instanceof URL) return value;
  // A `workerModule(url)`: its location (its types served the type checker only).
  if (typeof value === 'object' && value !== null && 'url' in value) {
    return workerLocation(`${field}.url`, value.url);
  }
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${field} must be a module path or file URL, got ${typeof value}`);
  }
  return value;
}

/** A per-attempt time limit: a positive duration. @internal */
export function timeLimit(field: string, value: unknown): number | undefined {
  return value === undefined ? undefined : duration(field, value, Number.MIN_VALUE);
}

/** A type's `rate` option, validated and frozen. @internal */
export function rateLimit(field: string, value: unknown): RateLimit | undefined {
  if (value === undefined) return undefined;
  const r = options(field, value, ['limit', 'intervalMs']);
  return Object.freeze({
    // A RingBuffer of `limit` start times is kept: at most its largest capacity.
    limit: integer(`${field}.limit`, r.limit, 1, 2 ** 32 - 1),
    intervalMs: duration(`${field}.intervalMs`, r.intervalMs, Number.MIN_VALUE),
  });
}

function keyTracker(field: string, value: unknown): KeyTracker | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'object' ||
    value === null ||
    !('check' in value && typeof value.check === 'function') ||
    !('begin' in value && typeof value.begin === 'function')
  ) {
    throw new TypeError(
      `${field} must be a failure tracker (with check(key) and begin(key, options)), such as a FailureTracker, got ${typeof value}`,
    );
  }
  return value as KeyTracker;
}

function normalizeType(
  name: string,
  value: unknown,
  poolTracker: KeyTracker | undefined,
): NormalizedType {
  const field = `types.${name}`;
  const t = options(field, value, TYPE_KEYS);
  const rate = rateLimit(`${field}.rate`, t.rate);
  const d = t.defaults === undefined ? {} : options(`${field}.defaults`, t.defaults, DEFAULTS_KEYS);
  return Object.freeze({
    name,
    concurrency: integer(`${field}.concurrency`, t.concurrency, 1),
    rate,
    stallAfterMs: timeLimit(`${field}.stallAfterMs`, t.stallAfterMs),
    worker: workerLocation(`${field}.worker`, t.worker),
    cancelGraceMs: duration(`${field}.cancelGraceMs`, t.cancelGraceMs ?? 100),
    defaults: Object.freeze({
      priority:
        d.priority === undefined ? undefined : finite(`${field}.defaults.priority`, d.priority),
      timeoutMs: timeLimit(`${field}.defaults.timeoutMs`, d.timeoutMs),
      retry: normalizeRetry(`${field}.defaults.retry`, d.retry),
    }),
    tracker: keyTracker(`${field}.tracker`, t.tracker) ?? poolTracker,
  });
}

/** Validates every option once and returns a frozen, normalised copy (the caller's object is not touched). @internal */
export function normalizeOptions(value: WorkPoolOptions): NormalizedOptions {
  const o = options('WorkPool options', value, POOL_KEYS);
  const concurrency = integer('concurrency', o.concurrency, 1);
  if (typeof o.types !== 'object' || o.types === null) {
    throw new TypeError(`types must be an object naming each job type, got ${String(o.types)}`);
  }
  const names = Object.keys(o.types);
  if (names.length === 0) throw new TypeError('types must name at least one job type, got {}');
  const tracker = keyTracker('tracker', o.tracker);
  const types = names.map((name) =>
    normalizeType(name, (o.types as Record<string, unknown>)[name], tracker),
  );
  const queue = o.queue === undefined ? {} : options('queue', o.queue, ['capacity', 'whenFull']);
  const capacity =
    queue.capacity === undefined || queue.capacity === Number.POSITIVE_INFINITY
      ? Number.POSITIVE_INFINITY
      : integer('queue.capacity', queue.capacity, 1);
  let aging: AgingOptions | undefined;
  if (o.aging !== undefined) {
    const a = options('aging', o.aging, ['everyMs', 'by']);
    const by = finite('aging.by', a.by);
    if (!(by > 0)) throw new RangeError(`aging.by must be a positive number, got ${by}`);
    aging = Object.freeze({ everyMs: duration('aging.everyMs', a.everyMs, Number.MIN_VALUE), by });
  }
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
    history: integer('history', o.history ?? 100, 0, 2 ** 32 - 1), // a RingBuffer's largest
    bus: o.bus as PoolEventSink | undefined,
    signal: optionalSignal('signal', o.signal),
    aging,
    abortGraceMs: duration('abortGraceMs', o.abortGraceMs ?? 1000),
    progressIntervalMs: duration('progressIntervalMs', o.progressIntervalMs ?? 100),
    random: (o.random as (() => number) | undefined) ?? Math.random,
  });
}
