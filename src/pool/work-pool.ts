import { Heap } from 'heap-js';
import { isAbortError, onAbort, throwIfAborted } from '../abort.js';
import { AbortError, ClosedError, QueueFullError, TaskError, TimeoutError } from '../errors.js';
import { RingBuffer } from '../history/ring-buffer.js';
import { assertNotHolding, lockdep, runInOwnFlow } from '../sync/lockdep.js';
import { WaitList } from '../internal/wait-list.js';
import { callable, finite, integer, oneOf, optionalName, optionalSignal } from '../validate.js';
import type { CloseReport, PoolEvents } from './events.js';
import {
  Job,
  type JobOptions,
  type JobRecord,
  type JobStatus,
  type JobView,
  type Task,
  type TaskContext,
  type AttemptControl,
  CANCELLED,
  cancelError,
} from './job.js';
import { normalizeOptions, type NormalizedOptions, type WorkPoolOptions } from './options.js';
import { backoffDelay, normalizeRetry, type NormalizedRetry } from './retry.js';
import { TypeQueue, byDispatchOrder } from './type-queue.js';
import { WorkerRunner } from './worker-runner.js';
import {
  deepFreeze,
  errorView,
  frozenCopy,
  jobView,
  queuedInOrder,
  type StatusCounts,
} from './views.js';

/** Options of {@link WorkPool.snapshot}. */
export interface SnapshotOptions {
  /** Most queued jobs listed (the first ones in dispatch order). @default 100 */
  readonly limit?: number | undefined;
}

/** A deeply frozen copy of the pool's state (copy-on-read). */
export interface PoolSnapshot {
  readonly at: number;
  readonly state: 'open' | 'closing' | 'closed';
  /** Jobs by status now (`queued`, `running`, `retrying`) and in total (`succeeded`, `failed`, `cancelled`). */
  readonly counts: StatusCounts;
  readonly types: {
    readonly [type: string]: {
      readonly running: number;
      readonly queued: number;
      readonly limit: number;
    };
  };
  /** The first `limit` queued jobs in dispatch order (priority, then submission). */
  readonly queued: readonly JobView[];
  readonly running: readonly JobView[];
  /** Jobs waiting out a retry backoff (first `limit`). */
  readonly retrying: readonly JobView[];
  /** The last `history` finished jobs, oldest first. */
  readonly history: readonly JobView[];
}

/** Options of {@link WorkPool.close}. */
export interface CloseOptions {
  /** How long running (and, with `drain`, queued) jobs get before they are aborted. @default 10000 */
  readonly graceMs?: number | undefined;
  /** Run the queued jobs instead of cancelling them. @default false */
  readonly drain?: boolean | undefined;
}

type State = 'open' | 'closing' | 'closed';

/** The error view of every cancelled job (its AbortError is built only if its result is read). */
const CANCELLED_VIEW = errorView(new AbortError('Job was cancelled'));

/** A validated submission, ready to admit. */
interface Submission {
  readonly queue: TypeQueue;
  readonly task: Task<unknown>;
  readonly priority: number;
  readonly key: string | undefined;
  readonly timeoutMs: number | undefined;
  readonly retry: NormalizedRetry | undefined;
  readonly signal: AbortSignal | undefined;
  readonly meta: Readonly<Record<string, unknown>> | undefined;
}

/** Input of a worker-type job: structured-cloneable data (checked, and copied, at submit). */
export type WorkerInput = string | number | boolean | null | bigint | object;

const FINISHED: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * A priority work pool with per-type limits.
 *
 * Ownership: the pool is the only writer of its jobs, queues and history; everything
 * it hands out (job views, events, snapshots) is a frozen copy. `submit` never waits;
 * `run` waits for queue room. Every promise the pool hands out settles, whatever
 * happens (cancel, eviction, close, a task that never returns).
 */
export class WorkPool<Type extends string = string> {
  readonly #o: NormalizedOptions;
  readonly #queues: readonly TypeQueue[];
  readonly #byName = new Map<string, TypeQueue>();
  readonly #typeNames: readonly string[];
  readonly #runners = new Map<string, WorkerRunner>();
  #state: State = 'open';
  #drain = false;
  #ids = 0;
  #seq = 0;
  readonly #t0 = Date.now();
  #queued = 0;
  #running = 0;
  readonly #totals = { succeeded: 0, failed: 0, cancelled: 0 };
  readonly #runningJobs = new Set<JobRecord>();
  readonly #retryingJobs = new Set<JobRecord>();
  readonly #keys = new Map<string, Job<unknown>>();
  /** Views of finished jobs, frozen by the snapshot that first hands them out. */
  readonly #history: RingBuffer<JobView> | undefined;
  /** Lowest-ranked queued jobs first, for `'drop-lowest'` (lazy deletion, like the type queues). */
  readonly #lowest: Heap<JobRecord> | undefined;
  readonly #roomWaiters = new WaitList<undefined, undefined>();
  #idleWaiters: (() => void)[] = [];
  #rateTimer: ReturnType<typeof setTimeout> | undefined;
  #rateTimerAt = Number.POSITIVE_INFINITY;
  #dispatching = false;
  #dispatchAgain = false;
  #closing: Promise<CloseReport> | undefined;
  #closeStats = { completed: 0, cancelled: 0 };
  #detachParent: () => void;
  readonly #cancelJob = (job: JobRecord, reason: unknown): void => this.#cancel(job, reason);

  /**
   * @throws TypeError/RangeError naming the option (`concurrency`, `types.fetch.rate.limit`, …)
   * when one is invalid.
   */
  constructor(options: WorkPoolOptions<Type>) {
    this.#o = normalizeOptions(options);
    this.#queues = this.#o.types.map((t, i) => new TypeQueue(t, i));
    for (const q of this.#queues) this.#byName.set(q.name, q);
    this.#typeNames = this.#queues.map((q) => q.name);
    for (const t of this.#o.types) {
      if (t.worker !== undefined)
        this.#runners.set(
          t.name,
          new WorkerRunner(t.name, t.worker, t.concurrency, t.cancelGraceMs),
        );
    }
    this.#history = this.#o.history > 0 ? new RingBuffer<JobView>(this.#o.history) : undefined;
    this.#lowest =
      this.#o.whenFull === 'drop-lowest'
        ? new Heap<JobRecord>((a, b) => -byDispatchOrder(a, b))
        : undefined;
    const parent = this.#o.signal;
    this.#detachParent = noop;
    if (parent?.aborted) void this.close({ graceMs: 0 });
    else this.#detachParent = onAbort(parent, () => void this.close({ graceMs: 0 }));
  }

  /** `'open'`, `'closing'` (after `close()`, until it resolves) or `'closed'`. */
  get state(): State {
    return this.#state;
  }

  /**
   * Queues `task` as a job of `type` and returns at once (never waits).
   *
   * With a `key` already queued, running or retrying, returns that job instead.
   * @throws TypeError/RangeError for an unknown type or a bad option (naming it);
   * ClosedError after `close()`; QueueFullError when the queue is full (`'reject'`, or
   * `'drop-lowest'` with nothing ranked lower to evict); an abort error if `signal` has
   * already aborted.
   */
  submit<R>(type: Type, task: Task<R>, options?: JobOptions): Job<R>;
  /** Queues `input` for a worker type (its module's function runs in a thread). */
  submit<R = unknown>(type: Type, input: WorkerInput, options?: JobOptions): Job<R>;
  submit<R>(type: Type, work: Task<R> | WorkerInput, options: JobOptions = {}): Job<R> {
    return this.#admit(this.#prepare(type, work, options)) as Job<R>;
  }

  /** Validates a submission once, before anything changes (and before `run` waits). */
  #prepare(type: string, work: unknown, options: JobOptions): Submission {
    const queue = this.#queueOf(type);
    const task = this.#taskFor(queue, work);
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`options must be an object, got ${String(options)}`);
    }
    const o = options as Record<string, unknown>;
    return {
      queue,
      task,
      priority: o.priority === undefined ? 0 : finite('priority', o.priority),
      key: optionalName('key', o.key),
      timeoutMs: o.timeoutMs === undefined ? undefined : integer('timeoutMs', o.timeoutMs, 1),
      retry: normalizeRetry(o.retry),
      signal: optionalSignal('signal', o.signal),
      meta:
        o.meta === undefined ? undefined : frozenCopy('meta', o.meta as Record<string, unknown>),
    };
  }

  #admit(s: Submission): Job<unknown> {
    const { queue, key, signal } = s;
    if (this.#state !== 'open') {
      throw new ClosedError(`WorkPool is ${this.#state}; cannot submit a ${queue.name} job`);
    }
    throwIfAborted(signal);
    // Keys are scoped to their type: the same URL may be fetched and embedded at once.
    const keyId = key === undefined ? undefined : `${queue.name}\u0000${key}`;
    if (keyId !== undefined) {
      const existing = this.#keys.get(keyId);
      if (existing) return existing;
    }
    const now = Date.now();
    const aging = this.#o.aging;
    const record: JobRecord = {
      id: `job-${++this.#ids}`,
      typeIndex: queue.index,
      type: queue.name,
      priority: s.priority,
      // Aging raises every queued job's effective priority at the same rate, so the order
      // between two jobs depends only on priority − queuedAt·by/everyMs: a time-invariant
      // rank that a heap can keep ordered without re-sorting as time passes.
      rank: aging ? s.priority - ((now - this.#t0) * aging.by) / aging.everyMs : s.priority,
      seq: ++this.#seq,
      key: keyId,
      task: s.task,
      timeoutMs: s.timeoutMs,
      retry: s.retry,
      meta: s.meta,
      queuedAt: now,
      status: 'queued',
      inQueue: false,
      attempt: 0,
      startedAt: undefined,
      finishedAt: undefined,
      progress: 0,
      note: undefined,
      stalled: false,
      error: undefined,
      cancelReason: undefined,
      cancelRequested: false,
      context: undefined,
      timeout: undefined,
      backoff: undefined,
      stallTimer: undefined,
      progressTimer: undefined,
      progressDirty: false,
      detachSignal: noop,
      outcome: undefined,
      resolve: undefined,
      reject: undefined,
      resultPromise: undefined,
    };
    const victim = this.#victimFor(record);
    const job = new Job<unknown>(record, this.#cancelJob, jobView);
    if (keyId !== undefined) this.#keys.set(keyId, job);
    if (signal !== undefined)
      record.detachSignal = onAbort(signal, () => this.#cancel(record, signal.reason));
    this.#enqueue(queue, record);
    // Evicted only once the newcomer is queued, so the pool never looks idle in between.
    if (victim !== undefined) {
      this.#unqueue(victim);
      this.#finish(
        victim,
        'cancelled',
        new QueueFullError(
          `Job ${victim.id} was evicted from the full queue by a higher-priority job`,
        ),
      );
    }
    this.#dispatch();
    return job;
  }

  /**
   * Waits for queue room (backpressure), submits, and waits for the job's result.
   * @throws as {@link WorkPool.submit}, and rejects with an abort error if `signal` aborts
   * while waiting for room, or with `ClosedError` if the pool closes meanwhile; with
   * lockdep on, rejects with `LockHeldWhileWaitingError` if called while holding a lock.
   */
  async run<R>(type: Type, task: Task<R>, options: JobOptions = {}): Promise<R> {
    // Waiting on the pool while holding a lock deadlocks as soon as a job needs that lock.
    assertNotHolding('WorkPool.run');
    const submission = this.#prepare(type, task, options);
    while (this.#state === 'open' && this.#queued >= this.#o.capacity) {
      throwIfAborted(submission.signal);
      await this.#roomWaiters.park(undefined, submission.signal);
    }
    return (this.#admit(submission) as Job<R>).result;
  }

  /**
   * Resolves when nothing is queued, running or retrying (at once if so now). With
   * lockdep on, rejects with `LockHeldWhileWaitingError` if it would wait while the
   * caller holds a lock.
   */
  onIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    try {
      assertNotHolding('WorkPool.onIdle');
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * A deeply frozen copy of the pool's state. Costs O(limit · log + running + history),
   * not O(queue length).
   * @throws RangeError if `limit` is not a non-negative integer.
   */
  snapshot(options: SnapshotOptions = {}): PoolSnapshot {
    const limit = integer('limit', options.limit ?? 100, 0);
    // fromEntries defines own properties, so even a type named "__proto__" is listed.
    const types = Object.fromEntries(
      this.#queues.map((q) => [
        q.name,
        { running: q.running, queued: q.queued, limit: q.concurrency },
      ]),
    );
    const retrying: JobView[] = [];
    for (const job of this.#retryingJobs) {
      if (retrying.length >= limit) break;
      retrying.push(jobView(job));
    }
    return deepFreeze({
      at: Date.now(),
      state: this.#state,
      counts: {
        queued: this.#queued,
        running: this.#running,
        retrying: this.#retryingJobs.size,
        ...this.#totals,
      },
      types,
      queued: queuedInOrder(this.#queues, limit).map((job) => jobView(job)),
      running: [...this.#runningJobs].map((job) => jobView(job)),
      retrying,
      history: this.#history?.toArray() ?? [],
    });
  }

  /**
   * Closes the pool, in phases: (1) refuse new work (`submit` throws, `run` rejects with
   * `ClosedError`); (2) cancel queued and retrying jobs, or run them if `drain`; (3) wait
   * up to `graceMs` for the jobs left; (4) abort them and wait the abort grace; (5) abandon
   * those that still run (their results reject; their ids are reported) and clear every
   * timer and listener the pool holds.
   *
   * Idempotent: a second call returns the same promise.
   * @returns the report `{ completed, cancelled, abandoned }`.
   */
  close(options: CloseOptions = {}): Promise<CloseReport> {
    if (this.#closing) return this.#closing;
    const graceMs = integer('graceMs', options.graceMs ?? 10_000, 0);
    if (options.drain !== undefined && typeof options.drain !== 'boolean') {
      throw new TypeError(`drain must be a boolean, got ${typeof options.drain}`);
    }
    this.#closing = this.#close(graceMs, options.drain ?? false);
    return this.#closing;
  }

  /**
   * Lifecycle component stop: closes with `drain` (work queued by components that stopped
   * earlier still runs) and a grace that ends at `deadline`.
   */
  stop(context: { readonly deadline?: number | undefined } = {}): Promise<CloseReport> {
    const deadline = context.deadline ?? Date.now() + 10_000;
    return this.close({ graceMs: Math.max(0, Math.floor(deadline - Date.now())), drain: true });
  }

  async #close(graceMs: number, drain: boolean): Promise<CloseReport> {
    this.#state = 'closing';
    this.#drain = drain;
    this.#detachParent();
    this.#detachParent = noop;
    this.#roomWaiters.refuseAll(
      () => new ClosedError('WorkPool closed while waiting for queue room'),
    );
    const reason = new ClosedError('WorkPool closed');
    if (!drain) this.#cancelWaiting(reason);
    const abandoned: string[] = [];
    if (!(await this.#idleWithin(graceMs))) {
      this.#cancelWaiting(reason);
      for (const job of [...this.#runningJobs]) this.#cancel(job, reason);
      if (!(await this.#idleWithin(this.#o.abortGraceMs))) {
        for (const job of [...this.#runningJobs]) {
          abandoned.push(job.id);
          this.#abandon(job, reason);
        }
      }
    }
    this.#clearRateTimer();
    await Promise.all([...this.#runners.values()].map((runner) => runner.destroy()));
    this.#state = 'closed';
    const report: CloseReport = Object.freeze({
      ...this.#closeStats,
      abandoned: Object.freeze(abandoned),
    });
    this.#emit('pool.closed', report);
    return report;
  }

  #taskFor(queue: TypeQueue, work: unknown): Task<unknown> {
    const runner = this.#runners.get(queue.name);
    if (runner === undefined) return callable('task', work as Task<unknown>);
    if (typeof work === 'function') {
      throw new TypeError(
        `${queue.name} jobs run in worker threads: submit structured-cloneable input, not a function`,
      );
    }
    let input: unknown;
    try {
      input = structuredClone(work);
    } catch (error) {
      throw new TypeError(`input of a ${queue.name} job must be structured-cloneable`, {
        cause: error,
      });
    }
    return runner.task(input);
  }

  #queueOf(type: string): TypeQueue {
    const queue = this.#byName.get(type);
    if (queue === undefined) oneOf('type', type, this.#typeNames);
    return queue as TypeQueue;
  }

  /**
   * Room for `incoming`: nothing to do below capacity; otherwise the lowest-ranked queued
   * job to evict (`'drop-lowest'`), or QueueFullError.
   */
  #victimFor(incoming: JobRecord): JobRecord | undefined {
    if (this.#queued < this.#o.capacity) return undefined;
    const lowest = this.#lowest;
    if (lowest === undefined) {
      throw new QueueFullError(
        `WorkPool queue is full (capacity ${this.#o.capacity}, whenFull 'reject'); use run() to wait for room`,
      );
    }
    let victim = lowest.peek();
    while (victim !== undefined && !victim.inQueue) {
      lowest.pop();
      victim = lowest.peek();
    }
    if (victim === undefined || byDispatchOrder(incoming, victim) >= 0) {
      throw new QueueFullError(
        `WorkPool queue is full (capacity ${this.#o.capacity}) and holds nothing ranked below priority ${incoming.priority}`,
      );
    }
    lowest.pop();
    return victim;
  }

  #enqueue(queue: TypeQueue, job: JobRecord): void {
    job.status = 'queued';
    queue.push(job);
    this.#queued++;
    this.#publish('job.queued', job);
    const lowest = this.#lowest;
    if (lowest === undefined) return;
    lowest.push(job);
    // Entries of started or cancelled jobs stay until popped; rebuild before they pile up.
    if (lowest.length > 64 && lowest.length > 2 * this.#queued) {
      lowest.init([...new Set(lowest.heapArray.filter((j) => j.inQueue))]);
    }
  }

  /** Takes a job out of its queue (cancel or eviction) and lets a `run` waiter in. */
  #unqueue(job: JobRecord): void {
    (this.#queues[job.typeIndex] as TypeQueue).remove(job);
    this.#dequeued();
  }

  /** Bookkeeping after a job leaves the queue (started, cancelled or evicted). */
  #dequeued(): void {
    // With nothing queued, every eviction-index entry is dead: drop them all at once.
    if (--this.#queued === 0) this.#lowest?.clear();
    this.#wakeRoomWaiter();
  }

  #wakeRoomWaiter(): void {
    const waiter = this.#roomWaiters.peek();
    if (waiter !== undefined) this.#roomWaiters.grant(waiter, undefined);
  }

  /**
   * Starts jobs while global capacity lasts.
   *
   * Fairness rule (no head-of-line blocking across types): the next job started is the
   * highest-ranked queued job (priority, then submission order) among the types that
   * have a free slot and rate budget now. A type at its limit is skipped, never waited
   * on, so a saturated `embed` type cannot delay a queued `fetch` job. Within a type,
   * order is strict. A rate-limited type is reconsidered when its window next opens.
   */
  #dispatch(): void {
    if (this.#dispatching) {
      this.#dispatchAgain = true;
      return;
    }
    if (this.#state === 'closed' || (this.#state === 'closing' && !this.#drain)) return;
    this.#dispatching = true;
    try {
      do {
        this.#dispatchAgain = false;
        let opensAt = Number.POSITIVE_INFINITY;
        while (this.#running < this.#o.concurrency && this.#queued > 0) {
          const now = Date.now();
          let best: TypeQueue | undefined;
          let bestJob: JobRecord | undefined;
          for (const q of this.#queues) {
            if (q.running >= q.concurrency || q.queued === 0) continue;
            const head = q.peek();
            if (head === undefined) continue;
            if (!q.rateAllows(now)) {
              opensAt = Math.min(opensAt, q.rateOpensAt());
              continue;
            }
            if (bestJob === undefined || byDispatchOrder(head, bestJob) < 0) {
              best = q;
              bestJob = head;
            }
          }
          if (best === undefined || bestJob === undefined) break;
          best.take();
          this.#dequeued();
          this.#start(best, bestJob, now);
        }
        this.#armRateTimer(opensAt);
      } while (this.#dispatchAgain);
    } finally {
      this.#dispatching = false;
    }
  }

  #start(queue: TypeQueue, job: JobRecord, now: number): void {
    job.status = 'running';
    job.attempt++;
    job.startedAt = now;
    job.stalled = false;
    job.progress = 0;
    job.note = undefined;
    queue.running++;
    queue.recordStart(now);
    this.#running++;
    this.#runningJobs.add(job);
    if (job.timeoutMs !== undefined) {
      const timeoutMs = job.timeoutMs;
      job.timeout = setTimeout(() => {
        job.timeout = undefined;
        job.context?.abort(
          new TimeoutError(`Job ${job.id} attempt ${job.attempt} timed out after ${timeoutMs} ms`, {
            timeoutMs,
          }),
        );
      }, timeoutMs);
    }
    const stallAfterMs = queue.config.stallAfterMs;
    if (stallAfterMs !== undefined) {
      job.stallTimer = setTimeout(() => {
        job.stallTimer = undefined;
        job.stalled = true;
        this.#publish('job.stalled', job);
      }, stallAfterMs);
    }
    this.#publish('job.started', job);
    const attempt = job.attempt;
    const context = new AttemptContext(job, attempt, this.#onProgress);
    job.context = context;
    let outcome: Promise<unknown>;
    try {
      outcome = Promise.resolve(
        lockdep.enabled ? runInOwnFlow(() => job.task(context)) : job.task(context),
      );
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (value) => this.#attemptEnded(job, attempt, true, value),
      (error: unknown) => this.#attemptEnded(job, attempt, false, error),
    );
  }

  readonly #onProgress = (job: JobRecord, attempt: number, fraction: number, note?: string): void =>
    this.#progress(job, attempt, fraction, note);

  #progress(job: JobRecord, attempt: number, fraction: number, note: string | undefined): void {
    if (job.status !== 'running' || job.attempt !== attempt) return;
    if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
      throw new RangeError(
        `progress fraction must be a number from 0 to 1, got ${String(fraction)}`,
      );
    }
    if (note !== undefined && typeof note !== 'string') {
      throw new TypeError(`progress note must be a string, got ${typeof note}`);
    }
    job.progress = fraction;
    job.note = note;
    if (this.#o.bus === undefined) return;
    // Coalesced: at most one event per job per progressIntervalMs, always ending with the latest value.
    if (job.progressTimer !== undefined) {
      job.progressDirty = true;
      return;
    }
    this.#publish('job.progress', job);
    job.progressTimer = setTimeout(() => this.#flushProgress(job), this.#o.progressIntervalMs);
  }

  #flushProgress(job: JobRecord): void {
    job.progressTimer = undefined;
    if (!job.progressDirty) return;
    job.progressDirty = false;
    this.#publish('job.progress', job);
    job.progressTimer = setTimeout(() => this.#flushProgress(job), this.#o.progressIntervalMs);
  }

  #attemptEnded(job: JobRecord, attempt: number, ok: boolean, value: unknown): void {
    // A stale settlement: the job was abandoned, or this attempt already ended.
    if (job.status !== 'running' || job.attempt !== attempt) return;
    // The last coalesced progress goes out before the job's end.
    if (job.progressDirty) {
      job.progressDirty = false;
      this.#publish('job.progress', job);
    }
    const reason = job.context?.abortReason;
    const timeoutError = reason instanceof TimeoutError ? reason : undefined;
    const timedOut = timeoutError !== undefined;
    this.#release(job);
    if (job.cancelRequested) {
      this.#finish(job, 'cancelled', CANCELLED);
    } else if (ok) {
      this.#finish(job, 'succeeded', value);
    } else {
      // A task that honours its timeout usually rejects with an abort error: it is the timeout.
      const error = timedOut && isAbortError(value) ? timeoutError : normalizeError(job, value);
      const retry = job.retry;
      // While closing without drain nothing more may start, so nothing is retried.
      const retrying = this.#state === 'open' || this.#drain;
      if (retrying && retry !== undefined && attempt < retry.attempts && !isAbortError(error)) {
        let delayMs: number;
        try {
          delayMs = backoffDelay(retry, attempt, this.#o.random);
        } catch (randomError) {
          this.#finish(job, 'failed', randomError);
          this.#dispatch();
          return;
        }
        this.#scheduleRetry(job, error, delayMs);
      } else {
        this.#finish(job, 'failed', error);
      }
    }
    this.#dispatch();
  }

  /** Gives a running job's slot back and clears its attempt's timers. */
  #release(job: JobRecord): void {
    this.#runningJobs.delete(job);
    (this.#queues[job.typeIndex] as TypeQueue).running--;
    this.#running--;
    clearTimeout(job.timeout);
    clearTimeout(job.stallTimer);
    job.timeout = job.stallTimer = undefined;
    job.context = undefined;
  }

  #scheduleRetry(job: JobRecord, error: unknown, delayMs: number): void {
    job.status = 'retrying';
    job.error = errorView(error);
    this.#retryingJobs.add(job);
    if (this.#o.bus !== undefined) {
      this.#emit('job.retrying', Object.freeze({ ...jobView(job), delayMs, lastError: job.error }));
    }
    job.backoff = setTimeout(() => {
      job.backoff = undefined;
      this.#retryingJobs.delete(job);
      this.#enqueue(this.#queues[job.typeIndex] as TypeQueue, job);
      this.#dispatch();
    }, delayMs);
  }

  #cancel(job: JobRecord, reason: unknown): void {
    if (FINISHED.has(job.status) || job.cancelRequested) return;
    job.cancelRequested = true;
    job.cancelReason = reason;
    switch (job.status) {
      case 'queued':
        this.#unqueue(job);
        this.#finish(job, 'cancelled', CANCELLED);
        break;
      case 'retrying':
        clearTimeout(job.backoff);
        job.backoff = undefined;
        this.#retryingJobs.delete(job);
        this.#finish(job, 'cancelled', CANCELLED);
        break;
      case 'running':
        job.context?.abort(reason);
        break;
    }
  }

  /** Cancels every queued and retrying job. */
  #cancelWaiting(reason: unknown): void {
    for (const job of [...this.#retryingJobs]) this.#cancel(job, reason);
    for (const q of this.#queues) {
      for (let job = q.peek(); job !== undefined; job = q.peek()) this.#cancel(job, reason);
    }
  }

  #abandon(job: JobRecord, reason: unknown): void {
    if (!job.cancelRequested) {
      job.cancelRequested = true;
      job.cancelReason = reason;
    }
    reason = job.cancelReason; // a user's earlier cancel keeps its reason
    this.#release(job);
    this.#finish(
      job,
      'cancelled',
      new AbortError(`Job ${job.id} ignored its abort and was abandoned at close`, {
        cause: reason,
      }),
      true,
    );
  }

  #finish(
    job: JobRecord,
    status: 'succeeded' | 'failed' | 'cancelled',
    value: unknown,
    abandoned = false,
  ): void {
    job.status = status;
    job.finishedAt = Date.now();
    job.error =
      status === 'succeeded' ? undefined : value === CANCELLED ? CANCELLED_VIEW : errorView(value);
    this.#totals[status]++;
    if (this.#state !== 'open' && !abandoned) {
      if (status === 'cancelled') this.#closeStats.cancelled++;
      else this.#closeStats.completed++;
    }
    job.detachSignal();
    job.detachSignal = noop;
    clearTimeout(job.progressTimer);
    job.progressTimer = undefined;
    if (job.key !== undefined && this.#keys.get(job.key)?.id === job.id) this.#keys.delete(job.key);
    // The history keeps a copy, not the record: no task closure or result stays reachable.
    this.#history?.push(jobView(job, false));
    job.task = finishedTask;
    if (job.resultPromise === undefined) {
      job.outcome = status === 'succeeded' ? { ok: true, value } : { ok: false, error: value };
    } else if (status === 'succeeded') {
      job.resolve?.(value);
    } else {
      job.resultPromise.catch(noop); // failures are visible in events and history
      job.reject?.(value === CANCELLED ? cancelError(job) : value);
    }
    job.resolve = job.reject = undefined;
    this.#publish('job.finished', job);
    if (this.#isIdle()) this.#becameIdle();
  }

  #isIdle(): boolean {
    return this.#queued === 0 && this.#running === 0 && this.#retryingJobs.size === 0;
  }

  #becameIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
    this.#emit('pool.idle', Object.freeze({ at: Date.now() }));
  }

  /** Resolves true when idle within `ms`, false otherwise; leaves no timer behind. */
  #idleWithin(ms: number): Promise<boolean> {
    if (this.#isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  #armRateTimer(at: number): void {
    if (at === Number.POSITIVE_INFINITY || at >= this.#rateTimerAt) return;
    this.#clearRateTimer();
    this.#rateTimerAt = at;
    this.#rateTimer = setTimeout(
      () => {
        this.#rateTimer = undefined;
        this.#rateTimerAt = Number.POSITIVE_INFINITY;
        this.#dispatch();
      },
      Math.max(0, at - Date.now()),
    );
  }

  #clearRateTimer(): void {
    clearTimeout(this.#rateTimer);
    this.#rateTimer = undefined;
    this.#rateTimerAt = Number.POSITIVE_INFINITY;
  }

  #publish(
    topic: 'job.queued' | 'job.started' | 'job.progress' | 'job.stalled' | 'job.finished',
    job: JobRecord,
  ): void {
    if (this.#o.bus !== undefined) this.#emit(topic, jobView(job));
  }

  #emit<K extends keyof PoolEvents>(topic: K, payload: PoolEvents[K]): void {
    const bus = this.#o.bus;
    if (bus === undefined) return;
    try {
      bus.publish(topic, payload);
    } catch {
      // A closed or broken bus must not break the pool: events are observations.
    }
  }
}

/** What a finished record holds instead of its task, so the task's closure can be collected. */
function finishedTask(): never {
  throw new Error('a finished job has no task');
}

/**
 * What a task receives, and the control of its attempt. A class rather than a literal so
 * a start allocates one small object, and an AbortController only if the task reads
 * `signal` (an abort that comes first is kept and applied when it does).
 */
class AttemptContext implements TaskContext, AttemptControl {
  readonly id: string;
  readonly attempt: number;
  aborted = false;
  abortReason: unknown = undefined;
  readonly #job: JobRecord;
  readonly #onProgress: (job: JobRecord, attempt: number, fraction: number, note?: string) => void;
  #controller: AbortController | undefined;
  #progress: ((fraction: number, note?: string) => void) | undefined;

  constructor(
    job: JobRecord,
    attempt: number,
    onProgress: (job: JobRecord, attempt: number, fraction: number, note?: string) => void,
  ) {
    this.id = job.id;
    this.attempt = attempt;
    this.#job = job;
    this.#onProgress = onProgress;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.abortReason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.#controller?.abort(reason);
  }

  /** Bound on first access, so `({ progress }) => …` destructuring works. */
  get progress(): (fraction: number, note?: string) => void {
    this.#progress ??= (fraction, note) =>
      this.#onProgress(this.#job, this.attempt, fraction, note);
    return this.#progress;
  }
}

function normalizeError(job: JobRecord, value: unknown): unknown {
  if (value instanceof Error) return value;
  return new TaskError(
    `Job ${job.id} (${job.type}) failed with a non-Error value: ${String(value)}`,
    {
      cause: value,
    },
  );
}

function noop(): void {}
