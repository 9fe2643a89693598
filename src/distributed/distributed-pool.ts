import {
  DelayedError,
  Job as BullJob,
  Queue,
  QueueEvents,
  UnrecoverableError,
  Worker,
  type ConnectionOptions,
  type JobsOptions,
} from 'bullmq';
import type { Redis } from 'ioredis';
import { isAbortError, onAbort, throwIfAborted } from '../abort.js';
import {
  AbortError,
  ClosedError,
  NonRetryableError,
  RedisUnavailableError,
  TimeoutError,
} from '../errors.js';
import { after, type Timer } from '../internal/timer.js';
import type { CloseReport } from '../pool/events.js';
import type { JobOptions, JobStatus, JobView, TaskContext } from '../pool/job.js';
import { timeLimit } from '../pool/options.js';
import { backoffDelay } from '../pool/retry.js';
import type { PoolSnapshot, TypeLoad } from '../pool/snapshot.js';
import { deepFreeze, errorView } from '../pool/views.js';
import { duration, integer, optionalSignal, options as checkOptions } from '../validate.js';
import { bullConnection, closeClient, openClient, unavailable } from './connection.js';
import {
  normalizeDistributedOptions,
  wireRetry,
  type DistributedPoolOptions,
  type DistributedTypesOptions,
  type NormalizedDistributedOptions,
  type NormalizedDistributedType,
} from './options.js';
import { EarlyOutcomes } from './early-outcomes.js';
import { bullPriority } from './priority.js';
import { RedisKeyedSemaphore } from './redis-semaphore.js';
import { decodeError, encodeError, failureOf, type WireError, type WireJob } from './wire.js';

/** Options of {@link DistributedPool.submit}: `JobOptions` as plain data, plus `limitKey`. */
export interface DistributedJobOptions extends Omit<JobOptions, 'retry' | 'priority'> {
  /**
   * Higher runs first; equal priorities run in submission order, within a type. An
   * integer in ±1,000,000 (BullMQ's priorities are integers). @default 0
   */
  readonly priority?: number | undefined;
  /** Retries: attempts and backoff cross the wire; `retryIf` is the type's, in the worker. */
  readonly retry?:
    { readonly attempts: number; readonly baseMs?: number; readonly maxMs?: number } | undefined;
  /** The key of the type's `perKey` limit (a host). */
  readonly limitKey?: string | undefined;
}

/** Options of {@link DistributedPool.close}. */
export interface DistributedCloseOptions {
  /** How long this process's running jobs get before their signals abort, ms. @default 10000 */
  readonly graceMs?: number | undefined;
}

const SUBMIT_KEYS = [
  'signal',
  'priority',
  'key',
  'timeoutMs',
  'retry',
  'meta',
  'limitKey',
] as const;
/** A submit waits at most this long for Redis (BullMQ queues commands while disconnected). */
const SUBMIT_LIMIT_MS = 10_000;
/** How long a cancel request is remembered for a job not yet started. */
const CANCEL_TTL_MS = 24 * 3600 * 1000;

/** How long a worker remembers a cancel heard for a job it was not running. */
const CANCEL_HEARD_MS = 10 * 60 * 1000;

/** Why a running job's signal aborted, kept apart from whatever the handler throws. */
const CANCELLED = Symbol('cancelled');
const CLOSING = Symbol('closing');

interface Running {
  readonly controller: AbortController;
  cause: typeof CANCELLED | typeof CLOSING | 'timeout' | undefined;
}

interface Waiter {
  readonly type: string;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * After a reconnect, when the waited jobs are read back from Redis: BullMQ's event
 * reader may come back later than ours, and an event published in between is never
 * read, so a job that finished meanwhile is found by its state instead.
 */
const SWEEPS_MS = [500, 2000, 8000];

/**
 * A worker process's own connections, both waiting a Redis outage out: `cancels`
 * subscribes to the cancel channel; `books` carries the bookkeeping around a job held
 * (cancel flag, per-key lease, counters). A job must not fail because Redis blinked while
 * it ran: BullMQ's connections wait for Redis, so ours around its jobs wait too, while
 * the pool's command connection (submit, cancel, snapshot) keeps failing at once.
 */
interface WorkerClients {
  readonly cancels: Redis;
  readonly books: Redis;
}

interface TypeRuntime {
  readonly options: NormalizedDistributedType;
  readonly queue: Queue;
  /** The reader of the type's outcomes, opened by the first submit (see {@link DistributedPool.submit}). */
  events: Promise<QueueEvents> | undefined;
  readonly worker: Worker | undefined;
  readonly semaphore: RedisKeyedSemaphore | undefined;
}

/**
 * One caller's handle on a job of a {@link DistributedPool}: the job lives in Redis, so
 * `view()` reads it from there.
 */
export class DistributedJob<R = unknown> {
  /** The job's id (BullMQ's), unique within its type. */
  readonly id: string;
  /** Its type. */
  readonly type: string;
  /**
   * Settles when the job ends, in whichever process ran it: its handler's value (as
   * JSON), or an abort error when it was cancelled, `TimeoutError` when its last attempt
   * timed out, `JobFailedError` (the worker's error as data) when it failed, or
   * `ClosedError` when this pool closed first (the job goes on), `RedisUnavailableError`
   * when the job was gone from Redis after a reconnect. Never reports an unhandled
   * rejection.
   */
  readonly result: Promise<R>;
  readonly #pool: DistributedPool;

  /** @internal */
  constructor(pool: DistributedPool, id: string, type: string, result: Promise<R>) {
    this.#pool = pool;
    this.id = id;
    this.type = type;
    this.result = result;
    result.catch(noop);
  }

  /**
   * Cancels the job, from any process: queued or retrying, it is removed; running, its
   * handler's signal aborts in whichever process runs it, and it ends `cancelled`,
   * never retried. A job not started yet is remembered as cancelled for a day, so a
   * worker that takes it meanwhile ends it at once. Resolves once the request is in
   * Redis; does nothing once the job has ended.
   * @throws RedisUnavailableError when Redis cannot be reached.
   */
  cancel(reason?: unknown): Promise<void> {
    return this.#pool._cancel(this.type, this.id, reason);
  }

  /** The job's state now, read from Redis. */
  view(): Promise<JobView> {
    return this.#pool._view(this.type, this.id);
  }
}

/**
 * The `WorkPool` contract across processes, on BullMQ (one queue per job type).
 *
 * Every process opens a pool with the same `types`; a process that runs jobs also gives
 * `handlers` (jobs are addressed by type and plain JSON input, never closures).
 *
 * What holds across processes: priorities within a type (higher first, submission order
 * within a level: every job gets an explicit BullMQ priority, since BullMQ runs jobs with
 * none first); per-type concurrency per process (`concurrency`) and across processes
 * (`globalConcurrency`); per-type rate limits across processes; retries with exponential
 * backoff and full jitter, `retryIf` (in the worker) and `NonRetryableError`; per-attempt
 * time limits; keys (a submit with the key of a job still queued, running or retrying
 * joins it); progress; cancel from any process; per-key limits across processes
 * (`perKey`, on leases); snapshots of the same shape; history; events; a phased close.
 *
 * What does not, and why:
 * - **Order between types** is not kept: each type is its own queue, taken by workers
 *   independently. There is no pool-wide `concurrency` either (per type only).
 * - **At-least-once**: a worker killed mid-job (or frozen past its lock) loses its lock;
 *   after `stalledIntervalMs` another worker runs the job again, counted as a new
 *   attempt (`ctx.attempt`). Handlers must be idempotent (the feed fetchers are: a
 *   re-run fetches only a feed still due, and the store upserts items by guid).
 * - `submit`, `cancel`, `view` and `snapshot` wait on Redis, so they return promises; a
 *   joiner does not raise a shared job's priority; `pause` and `setConcurrency` are not
 *   offered; `close()` stops this process only: jobs queued in Redis stay for the other
 *   workers (nothing is drained or cancelled there).
 *
 * @example
 * ```ts
 * // Every process opens the pool with the same types; a worker process adds handlers.
 * const types = { measure: { concurrency: 4, globalConcurrency: 8 } };
 * const worker = await DistributedPool.open({
 *   connection: url,
 *   name,
 *   types,
 *   handlers: { measure: (text: string, { signal }) => (signal.aborted ? 0 : text.length) },
 * });
 * const producer = await DistributedPool.open({ connection: url, name, types });
 * const length = await producer.run('measure', 'hello', { priority: 5 });
 * ```
 */
export class DistributedPool<Types extends DistributedTypesOptions = DistributedTypesOptions> {
  readonly #o: NormalizedDistributedOptions;
  readonly #client: Redis;
  /** The workers' connections, when this process has handlers: see {@link WorkerClients}. */
  readonly #workers: WorkerClients | undefined;
  readonly #types: ReadonlyMap<string, TypeRuntime>;
  readonly #waiters = new Map<string, Waiter[]>();
  readonly #early = new EarlyOutcomes<{ readonly ok: boolean; readonly value: unknown }>();
  readonly #running = new Map<string, Running>();
  /** Cancels heard for jobs not running here, by id, oldest first: see {@link #process}. */
  readonly #cancelHeard = new Map<string, number>();
  #whenIdle: (() => void)[] = [];
  #sweeps: Timer[] = [];
  #state: 'open' | 'closing' | 'closed' = 'open';
  #closing: Promise<CloseReport> | undefined;
  #completedAfterClose = 0;
  #cancelledByClose = 0;
  readonly #detachSignal: () => void;

  private constructor(
    o: NormalizedDistributedOptions,
    client: Redis,
    workers: WorkerClients | undefined,
    types: Map<string, TypeRuntime>,
  ) {
    this.#o = o;
    this.#client = client;
    this.#workers = workers;
    this.#types = types;
    this.#detachSignal = onAbort(o.signal, () => void this.close({ graceMs: 0 }));
  }

  /**
   * Connects to Redis, opens each type's queue and, for each type with a handler here,
   * its worker. Waits until everything is connected.
   * @throws RedisUnavailableError when Redis cannot be reached; an abort error when
   * `signal` aborts; TypeError/RangeError for bad options.
   */
  static async open<Types extends DistributedTypesOptions>(
    options: DistributedPoolOptions<Types>,
  ): Promise<DistributedPool<Types>> {
    const o = normalizeDistributedOptions(options);
    throwIfAborted(o.signal);
    const label = `${o.name}:pool`;
    const client = await openClient(o.connection, 'command', label, o.signal);
    const hasWorkers = [...o.types.values()].some((t) => t.handler !== undefined);
    const workers: { -readonly [K in keyof WorkerClients]?: Redis } = {};
    const types = new Map<string, TypeRuntime>();
    let pool: DistributedPool<Types> | undefined;
    try {
      if (hasWorkers) {
        workers.cancels = await openClient(o.connection, 'waiting', `${label}:cancels`, o.signal);
        workers.books = await openClient(o.connection, 'waiting', `${label}:books`, o.signal);
      }
      pool = new DistributedPool<Types>(
        o,
        client,
        hasWorkers ? (workers as WorkerClients) : undefined,
        types,
      );
      await pool.#start(types);
      return pool;
    } catch (error) {
      await Promise.allSettled([...types.values()].map((t) => closeType(t, true)));
      await Promise.allSettled(Object.values(workers).map(closeClient));
      await closeClient(client);
      if (pool !== undefined) pool.#detachSignal();
      throw unavailable(error, 'open');
    }
  }

  async #start(types: Map<string, TypeRuntime>): Promise<void> {
    const o = this.#o;
    // BullMQ types its options as its own RedisOptions; they are ioredis's, which it uses.
    const connection = bullConnection(o.connection) as ConnectionOptions;
    for (const t of o.types.values()) {
      const queue = new Queue(t.name, { connection, prefix: o.name });
      const worker =
        t.handler === undefined
          ? undefined
          : new Worker(t.name, (job, token) => this.#process(t, job, token ?? ''), {
              connection,
              prefix: o.name,
              concurrency: t.concurrency,
              ...(t.rate === undefined
                ? {}
                : { limiter: { max: t.rate.limit, duration: t.rate.intervalMs } }),
              // BullMQ counts finished jobs inside its own finishing step (no extra round
              // trip per job): the snapshot's succeeded and failed totals.
              metrics: { maxDataPoints: 1 },
              lockDuration: o.stalledIntervalMs,
              stalledInterval: o.stalledIntervalMs,
              // The delay was drawn (full jitter) where the attempt failed; see #failure.
              settings: { backoffStrategy: (_attempts, _type, error) => delayOf(error) },
              autorun: false,
            });
      const semaphore =
        t.perKey === undefined
          ? undefined
          : new RedisKeyedSemaphore(
              // Only workers take leases (t.perKey is a worker-side limit).
              this.#workers?.books ?? this.#client,
              `${o.name}:perkey:${t.name}:`,
              t.perKey.limit,
              t.perKey.leaseMs,
            );
      const runtime: TypeRuntime = { options: t, queue, events: undefined, worker, semaphore };
      types.set(t.name, runtime);
      queue.on('error', noop);
      worker?.on('error', noop);
      await queue.waitUntilReady();
      if (t.globalConcurrency !== undefined) await queue.setGlobalConcurrency(t.globalConcurrency);
    }
    // The first 'ready' came before this listener: each one now is a reconnect.
    this.#client.on('ready', () => this.#reconnected());
    if (this.#workers !== undefined) {
      await this.#workers.cancels.subscribe(`${o.name}:cancel`);
      this.#workers.cancels.on('message', (_channel: string, id: string) =>
        this.#cancelRunning(id),
      );
    }
    for (const t of types.values()) {
      if (t.worker === undefined) continue;
      void t.worker.run().catch(noop);
      await t.worker.waitUntilReady();
    }
  }

  /** `'open'`, then `'closing'` once `close()` is called, then `'closed'`. */
  get state(): 'open' | 'closing' | 'closed' {
    return this.#state;
  }

  /**
   * Adds a job of `type` with plain JSON `input`. Waits for Redis's acknowledgement
   * (at most 10 s, or until `signal` aborts), never for a worker.
   * @returns the job's handle; with a `key` whose job is still queued, running or
   * retrying, a handle on that job instead (BullMQ deduplication).
   * @throws ClosedError after `close()`; RedisUnavailableError at once while the pool's
   * connection to Redis is down, or when Redis does not answer in time (then the job may
   * or may not have been added: submit again with a `key`);
   * an abort error when `signal` aborts; TypeError/RangeError for bad arguments.
   */
  async submit<R = unknown>(
    type: keyof Types & string,
    input: unknown,
    jobOptions: DistributedJobOptions = {},
  ): Promise<DistributedJob<R>> {
    const t = this.#type(type);
    const j = checkOptions('job options', jobOptions, SUBMIT_KEYS);
    const signal = optionalSignal('signal', j.signal);
    const priority = j.priority === undefined ? t.options.priority : (j.priority as number);
    const data: WireJob = {
      input: jsonCopy('input', input),
      priority,
      key: j.key === undefined ? undefined : nonEmpty('key', j.key),
      timeoutMs: timeLimit('timeoutMs', j.timeoutMs) ?? t.options.timeoutMs,
      retry: wireRetry('retry', j.retry) ?? t.options.retry,
      meta: j.meta === undefined ? undefined : (jsonCopy('meta', j.meta) as WireJob['meta']),
      limitKey: j.limitKey === undefined ? undefined : nonEmpty('limitKey', j.limitKey),
    };
    const bullOptions: JobsOptions = {
      priority: bullPriority('priority', priority),
      attempts: data.retry.attempts,
      backoff: { type: 'workbus' },
      removeOnComplete: { count: this.#o.history },
      removeOnFail: { count: this.#o.history },
      ...(data.key === undefined ? {} : { deduplication: { id: data.key } }),
    };
    this.#checkOpen('submit');
    throwIfAborted(signal);
    // BullMQ's connections queue commands while Redis is down; ours know it is down.
    if (this.#client.status !== 'ready') {
      throw new RedisUnavailableError(
        `Redis is unavailable (submit a "${type}" job): the connection is ${this.#client.status}`,
      );
    }
    await bounded(this.#listen(t), signal, `submit a "${type}" job`);
    const ticket = this.#early.begin();
    let added: BullJob;
    try {
      added = await bounded(t.queue.add(type, data, bullOptions), signal, `submit a "${type}" job`);
    } catch (error) {
      this.#early.end(ticket, undefined);
      throw error;
    }
    const id = added.id ?? '';
    const job = new DistributedJob<R>(this, id, type, this.#wait(type, id) as Promise<R>);
    const early = this.#early.end(ticket, id);
    if (early !== undefined) this.#settle(id, early.ok, early.value);
    this.#emit('job.queued', () => viewOf(added, 'queued'));
    return job;
  }

  /** `submit`, then the job's `result`. */
  async run<R = unknown>(
    type: keyof Types & string,
    input: unknown,
    jobOptions?: DistributedJobOptions,
  ): Promise<R> {
    return (await this.submit<R>(type, input, jobOptions)).result;
  }

  /**
   * The pool's state across every process, read from Redis: the same shape as
   * `WorkPool.snapshot()`, deeply frozen. `queued` lists each type's first jobs in its
   * dispatch order, merged by priority then submission time (types are not ordered
   * against each other at run time); `retrying` lists delayed jobs (retry backoffs and
   * jobs waiting for a `perKey` slot); counts of finished jobs are totals since the
   * pool's keys were created.
   */
  async snapshot(
    snapshotOptions: { readonly limit?: number | undefined } = {},
  ): Promise<PoolSnapshot> {
    const s = checkOptions('snapshot options', snapshotOptions, ['limit']);
    const limit = integer('limit', s.limit ?? 100, 0);
    try {
      return await this.#snapshot(limit);
    } catch (error) {
      throw unavailable(error, 'snapshot');
    }
  }

  async #snapshot(limit: number): Promise<PoolSnapshot> {
    const totals = await this.#client.hgetall(`${this.#o.name}:counts`);
    const finished = await Promise.all(
      [...this.#types.values()].map((t) =>
        Promise.all([t.queue.getMetrics('completed', 0, 0), t.queue.getMetrics('failed', 0, 0)]),
      ),
    );
    const sum = (n: 0 | 1): number => finished.reduce((total, m) => total + m[n].meta.count, 0);
    const counts: Record<JobStatus, number> = {
      queued: 0,
      running: 0,
      retrying: 0,
      succeeded: sum(0),
      // A job cancelled while running ends as a BullMQ failure; it is counted as cancelled.
      failed: sum(1) - Number(totals['cancelledRunning'] ?? 0),
      cancelled: Number(totals['cancelled'] ?? 0) + Number(totals['cancelledRunning'] ?? 0),
      skipped: 0,
    };
    const types: Record<string, TypeLoad> = {};
    const queued: JobView[] = [];
    const running: JobView[] = [];
    const retrying: JobView[] = [];
    const history: JobView[] = [];
    for (const t of this.#types.values()) {
      const [c, paused, rateTtl] = await Promise.all([
        t.queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed'),
        t.queue.isPaused(),
        t.queue.getRateLimitTtl(),
      ]);
      const waiting = (c['waiting'] ?? 0) + (c['prioritized'] ?? 0);
      counts.queued += waiting;
      counts.running += c['active'] ?? 0;
      counts.retrying += c['delayed'] ?? 0;
      types[t.options.name] = {
        running: c['active'] ?? 0,
        queued: waiting,
        limit: t.options.globalConcurrency ?? t.options.concurrency,
        paused,
        heldByRate: waiting > 0 && rateTtl > 0,
      };
      const end = Math.max(0, limit - 1);
      const [q, a, d, done, failed] = await Promise.all([
        limit === 0 ? [] : t.queue.getJobs(['prioritized', 'waiting'], 0, end, true),
        t.queue.getJobs(['active']),
        limit === 0 ? [] : t.queue.getJobs(['delayed'], 0, end, true),
        t.queue.getJobs(['completed'], 0, this.#o.history - 1, false),
        t.queue.getJobs(['failed'], 0, this.#o.history - 1, false),
      ]);
      queued.push(...present(q).map((job) => viewOf(job, 'queued')));
      running.push(...present(a).map((job) => viewOf(job, 'running')));
      retrying.push(
        ...present(d).map((job) => viewOf(job, job.attemptsMade > 0 ? 'retrying' : 'queued')),
      );
      history.push(...present(done).map((job) => viewOf(job, 'succeeded')));
      history.push(...present(failed).map((job) => viewOf(job, finalStatus(job))));
    }
    queued.sort((x, y) => y.priority - x.priority || x.queuedAt - y.queuedAt);
    history.sort((x, y) => (x.finishedAt ?? 0) - (y.finishedAt ?? 0));
    return deepFreeze({
      at: Date.now(),
      state: this.#state,
      paused: false,
      counts: counts,
      types,
      queued: queued.slice(0, limit),
      running,
      retrying: retrying.slice(0, limit),
      history: history.slice(-this.#o.history),
    });
  }

  /**
   * Closes this process's part of the pool, in phases: its workers stop taking jobs;
   * its running jobs get `graceMs` to finish; then their signals abort (`ClosedError`)
   * and a job that honours it goes back to the queue for another worker (no attempt
   * counted); after `abortGraceMs` more, a handler still running is abandoned (listed in
   * the report; its lock lapses and another worker runs it again after the stall
   * interval). Then every connection closes; results still awaited here reject with
   * `ClosedError` (their jobs go on in Redis). Never hangs on a handler; a second call
   * returns the same promise.
   */
  close(closeOptions: DistributedCloseOptions = {}): Promise<CloseReport> {
    const c = checkOptions('close options', closeOptions, ['graceMs']);
    const graceMs = duration('graceMs', c.graceMs ?? 10_000);
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  /** Lifecycle component stop: `close()`. */
  async stop(): Promise<void> {
    await this.close();
  }

  async #close(graceMs: number): Promise<CloseReport> {
    this.#state = 'closing';
    this.#detachSignal();
    for (const timer of this.#sweeps) timer.clear();
    const workers = [...this.#types.values()].flatMap((t) =>
      t.worker === undefined ? [] : [t.worker],
    );
    await Promise.allSettled(workers.map((w) => w.pause(true)));
    if (!(await this.#idleWithin(graceMs))) {
      for (const running of this.#running.values()) {
        running.cause = CLOSING;
        running.controller.abort(new ClosedError('The distributed pool is closing'));
      }
      await this.#idleWithin(this.#o.abortGraceMs);
    }
    const abandoned = Object.freeze([...this.#running.keys()]);
    await Promise.allSettled(
      [...this.#types.values()].map((t) => closeType(t, abandoned.length > 0)),
    );
    if (this.#workers !== undefined) {
      await Promise.all([closeClient(this.#workers.cancels), closeClient(this.#workers.books)]);
    }
    await closeClient(this.#client);
    const closed = new ClosedError(
      'The distributed pool closed before the job ended (it goes on in Redis)',
    );
    for (const waiters of this.#waiters.values()) for (const w of waiters) w.reject(closed);
    this.#waiters.clear();
    this.#state = 'closed';
    const report: CloseReport = Object.freeze({
      completed: this.#completedAfterClose,
      cancelled: this.#cancelledByClose,
      abandoned,
    });
    this.#emit('pool.closed', () => report);
    return report;
  }

  /** Whether this process's running jobs all ended within `ms`. */
  async #idleWithin(ms: number): Promise<boolean> {
    if (this.#running.size === 0) return true;
    let timer: Timer | undefined;
    const idle = await Promise.race([
      new Promise<boolean>((resolve) => this.#whenIdle.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = after(ms, () => resolve(false)))),
    ]);
    timer?.clear();
    return idle;
  }

  /** @internal */
  async _cancel(type: string, id: string, _reason: unknown): Promise<void> {
    const t = this.#type(type);
    try {
      await this.#client.set(`${this.#o.name}:cancelled:${id}`, '1', 'PX', CANCEL_TTL_MS);
      // A job waiting in the queue is removed (its waiters hear 'removed'); a running
      // one is locked, so remove() leaves it, and the channel reaches its worker.
      const removed = await t.queue.remove(id).catch(() => 0);
      if (removed === 1) await this.#count(this.#client, 'cancelled');
      else await this.#client.publish(`${this.#o.name}:cancel`, id);
    } catch (error) {
      throw unavailable(error, `cancel job ${id}`);
    }
  }

  /** @internal */
  async _view(type: string, id: string): Promise<JobView> {
    const t = this.#type(type);
    try {
      const job = await BullJob.fromId(t.queue, id);
      if (job === undefined) {
        const cancelled = await this.#client.exists(`${this.#o.name}:cancelled:${id}`);
        return deepFreeze({
          ...EMPTY_VIEW,
          id,
          type,
          status: cancelled === 1 ? 'cancelled' : 'succeeded',
        });
      }
      const state = await job.getState();
      return viewOf(job, statusOf(job, state));
    } catch (error) {
      throw unavailable(error, `view job ${id}`);
    }
  }

  #type(type: string): TypeRuntime {
    const t = this.#types.get(type);
    if (t === undefined) {
      throw new TypeError(
        `unknown job type ${JSON.stringify(type)}; the types are ${[...this.#types.keys()].join(', ')}`,
      );
    }
    return t;
  }

  /**
   * The type's outcome reader, opened once, by the first submit of the type: a process
   * that only works submits nothing, and a reader there would parse every event of the
   * queue for no waiter. Opened before the `add` it is awaited by, so it sees the outcome.
   * QueueEvents reads from `'$'` by default, which is resolved when its first XREAD runs,
   * some time after it is ready: a job finished in between would never settle. Reading on
   * from the stream's last entry as of now misses nothing.
   */
  #listen(t: TypeRuntime): Promise<QueueEvents> {
    if (t.events !== undefined) return t.events;
    const opening = (async () => {
      const stream = t.queue.keys['events'] ?? '';
      const [last] = await this.#client.xrevrange(stream, '+', '-', 'COUNT', 1);
      const events = new QueueEvents(t.options.name, {
        connection: bullConnection(this.#o.connection) as ConnectionOptions,
        prefix: this.#o.name,
        lastEventId: last?.[0] ?? '0-0',
      });
      events.on('error', noop);
      events.on('completed', ({ jobId, returnvalue }) => this.#settle(jobId, true, returnvalue));
      events.on('failed', ({ jobId, failedReason }) =>
        this.#settle(jobId, false, failureOf(jobId, decodeError(failedReason))),
      );
      events.on('removed', ({ jobId }) =>
        this.#settle(jobId, false, new AbortError(`Job ${jobId} was cancelled`)),
      );
      await events.waitUntilReady();
      return events;
    })();
    t.events = opening;
    // A failed open (Redis down) is tried again by the next submit.
    opening.catch(() => {
      if (t.events === opening) t.events = undefined;
    });
    return opening;
  }

  #checkOpen(operation: string): void {
    if (this.#state !== 'open')
      throw new ClosedError(`DistributedPool is ${this.#state}; cannot ${operation}`);
  }

  #wait(type: string, id: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const list = this.#waiters.get(id);
      if (list === undefined) this.#waiters.set(id, [{ type, resolve, reject }]);
      else list.push({ type, resolve, reject });
    });
  }

  /** Redis is back: read the waited jobs' states a few times as BullMQ reconnects too. */
  #reconnected(): void {
    for (const timer of this.#sweeps) timer.clear();
    this.#sweeps = SWEEPS_MS.map((ms, n) =>
      after(ms, () => void this.#sweep(n === SWEEPS_MS.length - 1)),
    );
  }

  /**
   * `final`: the last sweep after a reconnect, when a waited job that is no longer in
   * Redis is taken as lost (a restart without persistence, or finished and pruned while
   * the connection was down) rather than left to wait forever.
   */
  async #sweep(final: boolean): Promise<void> {
    for (const [id, list] of [...this.#waiters]) {
      const t = this.#types.get(list[0]?.type ?? '');
      if (t === undefined || this.#state === 'closed') return;
      try {
        // The state first: a job read before it finished and then found finished would
        // carry no outcome. Once finished, what the job holds no longer changes.
        const state = await t.queue.getJobState(id);
        const job =
          state === 'completed' || state === 'failed'
            ? await BullJob.fromId(t.queue, id)
            : undefined;
        if (job !== undefined && state === 'completed') this.#settle(id, true, job.returnvalue);
        else if (job !== undefined) {
          this.#settle(id, false, failureOf(id, decodeError(job.failedReason)));
        } else if (final && (state === 'unknown' || state === 'completed' || state === 'failed')) {
          this.#settle(id, false, lost(id));
        }
      } catch {
        return; // down again: the next reconnect sweeps
      }
    }
  }

  #settle(id: string, ok: boolean, value: unknown): void {
    const list = this.#waiters.get(id);
    if (list === undefined) {
      this.#early.keep(id, { ok, value });
      return;
    }
    this.#waiters.delete(id);
    for (const w of list) {
      if (ok) w.resolve(value);
      else w.reject(value);
    }
  }

  #cancelRunning(id: string): void {
    const running = this.#running.get(id);
    if (running === undefined) {
      // Locked by this worker but not yet in #running: its processor is about to start.
      const now = Date.now();
      this.#cancelHeard.set(id, now);
      for (const [heard, at] of this.#cancelHeard) {
        if (at > now - CANCEL_HEARD_MS) break;
        this.#cancelHeard.delete(heard);
      }
      return;
    }
    if (running.controller.signal.aborted) return;
    running.cause = CANCELLED;
    running.controller.abort(new AbortError(`Job ${id} was cancelled`));
  }

  /**
   * The worker side of one attempt. Cancelled before it starts when a cancel was asked:
   * a job still waiting is removed by the canceller, so a first attempt can only have
   * been locked already, by this worker, which heard the cancel on the channel (it
   * subscribes before taking jobs); a later start (a retry, or a re-run after a stall,
   * maybe on a worker that was not listening then) reads the flag in Redis. So the flag
   * costs a round trip only on later attempts.
   */
  async #process(t: NormalizedDistributedType, job: BullJob, token: string): Promise<unknown> {
    const id = job.id ?? '';
    const data = job.data as WireJob;
    const running: Running = { controller: new AbortController(), cause: undefined };
    this.#running.set(id, running);
    let lease: { release(): Promise<void> } | undefined;
    try {
      if (this.#cancelHeard.has(id) || (job.attemptsStarted > 1 && (await this.#flagged(id)))) {
        running.cause = CANCELLED;
        throw new AbortError(`Job ${id} was cancelled`);
      }
      const semaphore = this.#types.get(t.name)?.semaphore;
      if (semaphore !== undefined && data.limitKey !== undefined) {
        lease = await semaphore.tryAcquire(data.limitKey);
        if (lease === undefined) {
          await job.moveToDelayed(Date.now() + (t.perKey?.retryDelayMs ?? 100), token);
          throw new DelayedError();
        }
      }
      this.#emit('job.started', () => viewOf(job, 'running'));
      const value = await this.#attempt(t, job, data, running);
      if (this.#state !== 'open') this.#completedAfterClose++;
      this.#emit('job.finished', () => ({ ...viewOf(job, 'succeeded'), finishedAt: Date.now() }));
      return value === undefined ? null : value;
    } catch (error) {
      if (error instanceof DelayedError) throw error;
      throw await this.#failure(t, job, token, data, running, error);
    } finally {
      await lease?.release();
      this.#running.delete(id);
      if (this.#running.size === 0) {
        const idle = this.#whenIdle;
        this.#whenIdle = [];
        for (const resolve of idle) resolve();
      }
    }
  }

  /** Runs the handler; a time limit ends the attempt at once, even if the handler ignores it. */
  async #attempt(
    t: NormalizedDistributedType,
    job: BullJob,
    data: WireJob,
    running: Running,
  ): Promise<unknown> {
    const handler = t.handler as NonNullable<NormalizedDistributedType['handler']>;
    const id = job.id ?? '';
    const progress = progressWriter(job, this.#o.progressIntervalMs, (fraction, note) =>
      this.#emit('job.progress', () => ({ ...viewOf(job, 'running'), progress: fraction, note })),
    );
    const context: TaskContext = Object.freeze({
      signal: running.controller.signal,
      id,
      attempt: job.attemptsStarted,
      progress,
    });
    const task = Promise.resolve().then(() => handler(data.input as never, context));
    task.catch(noop);
    if (data.timeoutMs === undefined) return task;
    const timeoutMs = data.timeoutMs;
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = after(timeoutMs, () => {
        const error = new TimeoutError(`Job ${id} timed out after ${timeoutMs} ms`, { timeoutMs });
        running.cause = 'timeout';
        running.controller.abort(error);
        reject(error);
      });
    });
    try {
      return await Promise.race([task, timeout]);
    } finally {
      timer?.clear();
    }
  }

  /** What BullMQ is told of a failed attempt: retry (with our delay), fail for good, or back to the queue. */
  async #failure(
    t: NormalizedDistributedType,
    job: BullJob,
    token: string,
    data: WireJob,
    running: Running,
    error: unknown,
  ): Promise<Error> {
    if (running.cause === CLOSING) {
      // Not the job's fault: back to the queue for another worker, no attempt counted.
      this.#cancelledByClose++;
      await job.moveToDelayed(Date.now(), token).catch(noop);
      return new DelayedError();
    }
    if (running.cause === CANCELLED) {
      await this.#count(this.#books, 'cancelledRunning');
      const view: WireError = {
        name: 'AbortError',
        message: `Job ${job.id ?? ''} was cancelled`,
        code: 'ABORTED',
        cancelled: true,
      };
      this.#emit('job.finished', () => ({
        ...viewOf(job, 'cancelled'),
        error: view,
        finishedAt: Date.now(),
      }));
      return new UnrecoverableError(encodeError(view));
    }
    const attempt = job.attemptsMade + 1;
    let reported = error;
    let retry =
      attempt < data.retry.attempts &&
      !isAbortError(error) &&
      !(error instanceof NonRetryableError);
    try {
      if (retry && t.retryIf !== undefined && !t.retryIf(error, attempt)) retry = false;
    } catch (policyError) {
      reported = policyError;
      retry = false;
    }
    const view = errorView(reported);
    if (!retry) {
      this.#emit('job.finished', () => ({
        ...viewOf(job, 'failed'),
        error: view,
        finishedAt: Date.now(),
      }));
      return new UnrecoverableError(encodeError(view));
    }
    const delayMs = backoffDelay({ ...data.retry, retryIf: undefined }, attempt, this.#o.random);
    this.#emit('job.retrying', () => ({
      ...viewOf(job, 'retrying'),
      error: view,
      delayMs,
      lastError: view,
    }));
    return Object.assign(new Error(encodeError(view)), { workbusDelayMs: delayMs });
  }

  /** The counts BullMQ's metrics do not tell apart: cancelled before or while running. */
  async #count(client: Redis, status: 'cancelled' | 'cancelledRunning'): Promise<void> {
    await client.hincrby(`${this.#o.name}:counts`, status, 1).catch(noop);
  }

  /** Whether a cancel of job `id` was asked (the flag `_cancel` sets first). */
  async #flagged(id: string): Promise<boolean> {
    return (await this.#books.exists(`${this.#o.name}:cancelled:${id}`)) === 1;
  }

  /** The worker side's connection (only called where a handler runs). */
  get #books(): Redis {
    return this.#workers?.books ?? this.#client;
  }

  /** Publishes on the pool's bus, if any; `payload` is built only when there is one. */
  #emit(topic: string, payload: () => unknown): void {
    const bus = this.#o.bus;
    if (bus === undefined) return;
    try {
      const published = bus.publish(topic, deepFreeze(payload()) as never);
      if (published instanceof Promise) published.catch(noop);
    } catch {
      // A closed or failing bus never fails a job.
    }
  }
}

const EMPTY_VIEW: Omit<JobView, 'id' | 'type' | 'status'> = {
  priority: 0,
  key: undefined,
  attempt: 0,
  progress: 0,
  note: undefined,
  queuedAt: 0,
  startedAt: undefined,
  finishedAt: undefined,
  stalled: false,
  error: undefined,
  meta: undefined,
};

/** A BullMQ job as a workbus view. */
function viewOf(job: BullJob, status: JobStatus): JobView {
  const data = job.data as WireJob;
  const progress = job.progress as { fraction?: number; note?: string } | number | undefined;
  const failed = status === 'failed' || status === 'cancelled' || status === 'retrying';
  const error =
    failed && job.failedReason !== undefined ? decodeError(job.failedReason) : undefined;
  return deepFreeze({
    id: job.id ?? '',
    type: job.name,
    status,
    priority: data.priority,
    key: data.key,
    attempt: job.attemptsStarted,
    progress: typeof progress === 'object' ? (progress.fraction ?? 0) : (progress ?? 0),
    note: typeof progress === 'object' ? progress.note : undefined,
    queuedAt: job.timestamp,
    startedAt: job.processedOn,
    finishedAt: job.finishedOn,
    stalled: false,
    error:
      error === undefined
        ? undefined
        : {
            name: error.name,
            message: error.message,
            ...(error.code === undefined ? {} : { code: error.code }),
          },
    meta: data.meta,
  });
}

function finalStatus(job: BullJob): JobStatus {
  return decodeError(job.failedReason).cancelled === true ? 'cancelled' : 'failed';
}

function statusOf(job: BullJob, state: string): JobStatus {
  switch (state) {
    case 'active':
      return 'running';
    case 'completed':
      return 'succeeded';
    case 'failed':
      return finalStatus(job);
    case 'delayed':
      return job.attemptsMade > 0 ? 'retrying' : 'queued';
    default:
      return 'queued';
  }
}

/** BullMQ's getters may list a job removed meanwhile as `undefined`. */
function present(jobs: readonly (BullJob | undefined)[]): BullJob[] {
  return jobs.filter((job): job is BullJob => job !== undefined);
}

/** `ctx.progress`: at most one write per interval, the last value always written. */
function progressWriter(
  job: BullJob,
  intervalMs: number,
  onWrite: (fraction: number, note: string | undefined) => void,
): (fraction: number, note?: string) => void {
  let pending: { fraction: number; note: string | undefined } | undefined;
  let timer: Timer | undefined;
  const write = (): void => {
    if (pending === undefined) return;
    const { fraction, note } = pending;
    pending = undefined;
    void job.updateProgress(note === undefined ? { fraction } : { fraction, note }).catch(noop);
    onWrite(fraction, note);
    timer = after(intervalMs, () => {
      timer = undefined;
      write();
    });
  };
  return (fraction, note) => {
    if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
      throw new RangeError(
        `progress fraction must be a number from 0 to 1, got ${String(fraction)}`,
      );
    }
    pending = { fraction, note };
    if (timer === undefined) write();
  };
}

function lost(id: string): RedisUnavailableError {
  return new RedisUnavailableError(
    `Job ${id} is no longer in Redis after a reconnect: Redis restarted without persistence, or the job finished and was pruned (history) while this process was cut off`,
  );
}

/** The retry delay drawn where the attempt failed (0 for an error BullMQ made itself). */
function delayOf(error: Error | undefined): number {
  const delay = (error as { workbusDelayMs?: unknown } | undefined)?.workbusDelayMs;
  return typeof delay === 'number' ? delay : 0;
}

/** Waits for a Redis call at most {@link SUBMIT_LIMIT_MS}, or until `signal` aborts. */
async function bounded<T>(
  call: Promise<T>,
  signal: AbortSignal | undefined,
  operation: string,
): Promise<T> {
  let timer: Timer | undefined;
  let detach = noop;
  try {
    return await Promise.race([
      call,
      new Promise<never>((_, reject) => {
        timer = after(SUBMIT_LIMIT_MS, () =>
          reject(
            new RedisUnavailableError(
              `Redis did not answer within ${SUBMIT_LIMIT_MS} ms (${operation})`,
            ),
          ),
        );
        detach = onAbort(signal, () =>
          reject(new AbortError(`Aborted: ${operation}`, { cause: signal?.reason })),
        );
      }),
    ]);
  } catch (error) {
    call.catch(noop);
    throw unavailable(error, operation);
  } finally {
    timer?.clear();
    detach();
  }
}

async function closeType(t: TypeRuntime, force: boolean): Promise<void> {
  await t.worker?.close(force);
  await Promise.allSettled([t.events?.then((events) => events.close()), t.queue.close()]);
}

function jsonCopy(field: string, value: unknown): unknown {
  const json = JSON.stringify(value);
  if (json === undefined)
    throw new TypeError(`${field} must be plain JSON data, got ${typeof value}`);
  return JSON.parse(json) as unknown;
}

function nonEmpty(field: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${field} must be a non-empty string, got ${typeof value}`);
  }
  return value;
}

function noop(): void {}
