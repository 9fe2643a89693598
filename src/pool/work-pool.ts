import { isAbortError, onAbort, throwIfAborted } from '../abort.js';
import {
  AbortError,
  ClosedError,
  JobSkippedError,
  NonRetryableError,
  QueueFullError,
  TaskError,
  TimeoutError,
} from '../errors.js';
import { RingBuffer } from '../history/ring-buffer.js';
import { after, type Timer } from '../internal/timer.js';
import { assertNotHolding } from '../sync/lockdep.js';
import { duration, finite, integer, oneOf, optionalSignal, options } from '../validate.js';
import { Admission } from './admission.js';
import { Attempt, type AttemptHost } from './attempt.js';
import type { CloseReport, PoolEvents } from './events.js';
import {
  CANCELLED,
  Job,
  settleResult,
  type JobHost,
  type JobOptions,
  type JobStatus,
  type JobView,
  type Task,
} from './job.js';
import { JobRecord } from './job-record.js';
import type {
  TaskType,
  TypeName,
  WorkerInput,
  WorkerInputOf,
  WorkerResultOf,
  WorkerType,
} from './job-types.js';
import {
  normalizeOptions,
  type JobTypesOptions,
  type NormalizedOptions,
  type WorkPoolOptions,
} from './options.js';
import { ProgressCoalescer } from './progress.js';
import { backoffDelay } from './retry.js';
import type { KeyHold, KeyTracker, TrackedRun } from './tracking.js';
import type { CloseOptions, PoolSnapshot, SnapshotOptions, TypeLoad } from './snapshot.js';
import { RunningJobs } from './running-jobs.js';
import { SeqIndex } from './seq-index.js';
import { keepShapes } from './shapes.js';
import { prepareSubmission, type Submission } from './submission.js';
import { TypeQueue, byDispatchOrder } from './type-queue.js';
import { deepFreeze, errorView, jobView, queuedInOrder } from './views.js';
import { WorkerRunner } from './worker-runner.js';

type State = 'open' | 'closing' | 'closed';

const FINISHED: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);
/** The error view of every cancelled job (its AbortError is built only if its result is read). */
const CANCELLED_VIEW = errorView(new AbortError('Job was cancelled'));

/**
 * A priority work pool with per-type limits.
 *
 * Ownership: the pool is the only writer of its jobs, queues and history; everything
 * it hands out (job views, events, snapshots) is a frozen copy. `submit` never waits;
 * `run` waits for queue room. Every promise the pool hands out settles, whatever
 * happens (cancel, eviction, close, a task that never returns).
 *
 * @example
 * ```ts
 * const pool = new WorkPool({
 *   concurrency: 4,
 *   types: {
 *     fetch: { concurrency: 3, defaults: { timeoutMs: 5_000 } },
 *     embed: { concurrency: 1, rate: { limit: 5, intervalMs: 1000 } },
 *   },
 * });
 * const page = await pool.run('fetch', ({ signal }) => download(url, signal), { priority: 5 });
 * ```
 */
// The bare `WorkPool` means "a pool of any job types": every specific pool is assignable
// to it (a mapped default would make the parameter invariant through submit's overloads).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export class WorkPool<Types extends JobTypesOptions = any> {
  readonly #o: NormalizedOptions;
  readonly #queues: readonly TypeQueue[];
  readonly #byName = new Map<string, TypeQueue>();
  readonly #typeNames: readonly string[];
  readonly #runners = new Map<string, WorkerRunner>();
  readonly #room: Admission;
  #state: State = 'open';
  #paused = false;
  #drain = false;
  #seq = 0;
  readonly #t0 = Date.now();
  #running = 0;
  readonly #totals = { succeeded: 0, failed: 0, cancelled: 0, skipped: 0 };
  readonly #runningJobs = new RunningJobs();
  readonly #retryingJobs = new Set<JobRecord>();
  /**
   * Unfinished jobs by sequence number (their id is `job-<seq>`), for
   * {@link WorkPool.cancel}: added when queued, removed at the end. Keyed by the number,
   * so a job's id string is never built unless someone reads it.
   */
  readonly #live = new SeqIndex<JobRecord>();
  /** The last finished jobs' records; a snapshot copies them into views. */
  readonly #history: RingBuffer<JobRecord> | undefined;
  #idleWaiters: (() => void)[] = [];
  #rateTimer: Timer | undefined;
  #rateTimerAt = Number.POSITIVE_INFINITY;
  #dispatching = false;
  #dispatchAgain = false;
  #closing: Promise<CloseReport> | undefined;
  #closeStats = { completed: 0, cancelled: 0 };
  #detachParent: () => void = noop;
  /** Outcomes of keyed jobs being written to their tracker; their results settle after. */
  readonly #recording = new Set<Promise<void>>();
  /**
   * Aborts the tracker writes still pending when `close` gives up on running jobs. Made
   * by the first tracker write: a pool without one closes without an abort to dispatch.
   */
  #recordsAbort: AbortController | undefined;
  /** What jobs and attempts call back into; private, so nobody else can. */
  readonly #host: JobHost & AttemptHost = {
    withdraw: (record, reason) => this.#withdraw(record, reason),
    view: (record) => jobView(record),
    ended: (job, attempt, ok, value) => this.#ended(job, attempt, ok, value),
    stalled: (job) => this.#stalled(job),
    progress: (job, attempt, fraction, note) => this.#progress(job, attempt, fraction, note),
  };

  /**
   * @throws TypeError/RangeError naming the option (`concurrency`, `types.fetch.rate.limit`,
   * an unknown key with a did-you-mean, …) when one is invalid.
   */
  constructor(options: WorkPoolOptions<Types>) {
    this.#o = normalizeOptions(options);
    // The pool's and its jobs' hidden classes must outlive a burst of work (see shapes.ts).
    keepShapes(() => new WorkPool({ concurrency: 1, types: { shape: { concurrency: 1 } } }));
    // Aging makes ranks fractional, and eviction needs a slot per job: both need heaps.
    const buckets = this.#o.aging === undefined && this.#o.whenFull !== 'drop-lowest';
    this.#queues = this.#o.types.map((t, i) => new TypeQueue(t, i, buckets, this.#host));
    for (const q of this.#queues) this.#byName.set(q.name, q);
    this.#typeNames = this.#queues.map((q) => q.name);
    for (const t of this.#o.types) {
      if (t.worker !== undefined)
        this.#runners.set(
          t.name,
          new WorkerRunner(t.name, t.worker, t.concurrency, t.cancelGraceMs),
        );
    }
    this.#room = new Admission(this.#o.capacity, this.#o.whenFull);
    this.#history = this.#o.history > 0 ? new RingBuffer<JobRecord>(this.#o.history) : undefined;
    const parent = this.#o.signal;
    if (parent?.aborted) void this.close({ graceMs: 0, drain: false });
    else this.#detachParent = onAbort(parent, () => void this.close({ graceMs: 0, drain: false }));
  }

  /** `'open'`, `'closing'` (after `close()`, until it resolves) or `'closed'`. */
  get state(): State {
    return this.#state;
  }

  /** Jobs queued now (not started; retrying jobs not included). O(1). */
  get size(): number {
    return this.#room.queued;
  }

  /** Jobs running now. O(1). */
  get pending(): number {
    return this.#running;
  }

  /**
   * One type's load now, without building a snapshot: running, queued, its limit, whether
   * it is paused, and whether its rate holds it back (jobs queued, a free slot, and no
   * rate budget). O(1).
   * @throws TypeError for an unknown type.
   */
  load(type: TypeName<Types>): TypeLoad {
    const q = this.#queueOf(type);
    return Object.freeze({
      running: q.running,
      queued: q.queued,
      limit: q.concurrency,
      paused: q.paused,
      heldByRate: q.ready && !q.rateAllows(Date.now()),
    });
  }

  /**
   * Queues `task` as a job of `type` and returns at once (never waits).
   *
   * With a `key` whose job is queued, running or retrying, joins that job instead (see
   * {@link JobOptions.key}): the handle is the caller's own.
   * @throws TypeError/RangeError for an unknown type or a bad option (naming it);
   * ClosedError after `close()`; QueueFullError when the queue is full (`'reject'`, or
   * `'drop-lowest'` with nothing ranked lower to evict, or `run()` callers waiting); an
   * abort error if `signal` has already aborted.
   * @example
   * ```ts
   * const job = pool.submit('fetch', ({ signal }) => download(url, signal), {
   *   key: url, // a second submit of this url joins this job
   *   retry: { attempts: 3, retryIf: (error) => !(error instanceof NotFound) },
   * });
   * job.cancel(); // or: await job.result
   * ```
   */
  submit<R>(type: TaskType<Types>, task: Task<R>, options?: JobOptions): Job<R>;
  /** Queues `input` for a worker type (its module's function runs in a thread). */
  submit<K extends WorkerType<Types>>(
    type: K,
    input: WorkerInputOf<Types[K]>,
    options?: JobOptions,
  ): Job<WorkerResultOf<Types[K]>>;
  /** As above, with the result type given (`submit<Parsed>('parse', input)`). */
  submit<R>(type: WorkerType<Types>, input: WorkerInput, options?: JobOptions): Job<R>;
  submit<R>(type: string, work: unknown, options?: JobOptions): Job<R> {
    const s = this.#prepare(type, work, options);
    return (this.#join(s) ?? this.#create(s, false)) as Job<R>;
  }

  /**
   * Waits for queue room (backpressure; callers are served in arrival order), submits,
   * and waits for the job's result. A call whose `key` joins an existing job needs no room.
   * @throws as {@link WorkPool.submit}, and rejects with an abort error if `signal` aborts
   * while waiting (for room or for the result), or with `ClosedError` if the pool closes
   * meanwhile; with lockdep on, rejects with `LockHeldWhileWaitingError` if called while
   * holding a lock.
   * @example
   * ```ts
   * const text = await pool.run('fetch', ({ signal }) => download(url, signal), { signal });
   * ```
   */
  run<R>(type: TaskType<Types>, task: Task<R>, options?: JobOptions): Promise<R>;
  /** Runs `input` as a job of a worker type, waiting for room and for the result. */
  run<K extends WorkerType<Types>>(
    type: K,
    input: WorkerInputOf<Types[K]>,
    options?: JobOptions,
  ): Promise<WorkerResultOf<Types[K]>>;
  /** As above, with the result type given. */
  run<R>(type: WorkerType<Types>, input: WorkerInput, options?: JobOptions): Promise<R>;
  async run<R>(type: string, work: unknown, options?: JobOptions): Promise<R> {
    // Waiting on the pool while holding a lock deadlocks as soon as a job needs that lock.
    assertNotHolding('WorkPool.run');
    const s = this.#prepare(type, work, options);
    const joined = this.#join(s);
    if (joined !== undefined) return joined.result as Promise<R>;
    // A held key's job ends at once as skipped: it needs no room either.
    if (this.#state !== 'open' || this.#room.hasRoom || this.#hold(s.queue, s.key) !== undefined)
      return this.#create(s, false).result as Promise<R>;
    await this.#room.reserve(s.signal);
    let job: Job<unknown>;
    try {
      const rejoined = this.#join(s);
      // A waiter ahead of this one may have queued the key's job meanwhile: joining it
      // needs no room, so the reserved place goes to the next waiter.
      if (rejoined !== undefined) this.#room.giveBack();
      job = rejoined ?? this.#create(s, true);
    } catch (error) {
      this.#room.giveBack();
      throw error;
    }
    return job.result as Promise<R>;
  }

  /**
   * Cancels the job `id` for every caller, whoever submitted it (an operator's decision,
   * such as a dashboard's "cancel"): a queued or retrying job ends at once; a running job's
   * signal aborts with `reason` and it ends as `cancelled` when its task settles. Each
   * caller's `result` rejects with an abort error.
   * @returns true if the cancel reached an unfinished job; false for an unknown or
   * finished job, or one already cancelled (a second call).
   */
  cancel(id: string, reason?: unknown): boolean {
    const job = this.#live.get(seqOf(id));
    if (job === undefined || job.cancelRequested) return false;
    this.#cancel(job, reason ?? new AbortError(`Job ${id} was cancelled by id`));
    return true;
  }

  /**
   * Stops starting jobs of `type`, or of every type when none is given; queued jobs wait
   * and running ones go on. `close({ drain })` does not start paused types' jobs either:
   * they are cancelled when its grace ends.
   * @throws TypeError for an unknown type.
   */
  pause(type?: TypeName<Types>): void {
    if (type === undefined) this.#paused = true;
    else this.#queueOf(type).paused = true;
  }

  /** Starts jobs of `type` (or of the whole pool) again after {@link WorkPool.pause}. */
  resume(type?: TypeName<Types>): void {
    if (type === undefined) this.#paused = false;
    else this.#queueOf(type).paused = false;
    this.#dispatch();
  }

  /** Whether `type` (or, with no type, the whole pool) is paused. */
  isPaused(type?: TypeName<Types>): boolean {
    return type === undefined ? this.#paused : this.#queueOf(type).paused;
  }

  /**
   * Changes how many jobs of `type` may run at once. A higher limit starts queued jobs at
   * once; a lower one lets running jobs finish and starts no more until under it.
   * @throws TypeError for an unknown type; RangeError unless a positive integer; and for a
   * worker type, RangeError above its initial limit (its thread pool is sized for that).
   */
  setConcurrency(type: TypeName<Types>, concurrency: number): void {
    const q = this.#queueOf(type);
    const limit = this.#runners.has(q.name) ? q.config.concurrency : Number.MAX_SAFE_INTEGER;
    q.concurrency = integer('concurrency', concurrency, 1, limit);
    this.#dispatch();
  }

  /**
   * Resolves when nothing is queued, running or retrying, and no outcome is being
   * recorded in a failure tracker (at once if so now). With
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
   * @throws TypeError for an unknown option; RangeError if `limit` is not a non-negative integer.
   */
  snapshot(snapshotOptions: SnapshotOptions = {}): PoolSnapshot {
    const o = options('snapshot options', snapshotOptions, ['limit']);
    const limit = integer('limit', o.limit ?? 100, 0);
    const now = Date.now();
    // fromEntries defines own properties, so even a type named "__proto__" is listed.
    const types = Object.fromEntries(
      this.#queues.map((q) => [
        q.name,
        {
          running: q.running,
          queued: q.queued,
          limit: q.concurrency,
          paused: q.paused,
          heldByRate: q.ready && !q.rateAllows(now),
        },
      ]),
    );
    const retrying: JobView[] = [];
    for (const job of this.#retryingJobs) {
      if (retrying.length >= limit) break;
      retrying.push(jobView(job));
    }
    return deepFreeze({
      at: now,
      state: this.#state,
      paused: this.#paused,
      counts: {
        queued: this.#room.queued,
        running: this.#running,
        retrying: this.#retryingJobs.size,
        ...this.#totals,
      },
      types,
      queued: queuedInOrder(this.#queues, limit).map((job) => jobView(job)),
      running: this.#runningJobs.list().map((job) => jobView(job)),
      retrying,
      history: this.#history?.toArray().map((job) => jobView(job)) ?? [],
    });
  }

  /**
   * Closes the pool gracefully, in phases: (1) refuse new work (`submit` throws, `run`
   * rejects with `ClosedError`); (2) let queued and retrying jobs run (`drain`, the
   * default) or cancel them (`drain: false`); (3) wait up to `graceMs` for the jobs left;
   * (4) cancel everything still queued, abort what runs and wait the abort grace; (5)
   * abandon those that still run (their results reject; their ids are reported), stop
   * worker threads and clear every timer and listener the pool holds.
   *
   * `stop()` (the Lifecycle component method) is this same close, with the grace ending
   * at the Lifecycle's deadline.
   *
   * Idempotent: a second call returns the same promise (its options are ignored).
   * @returns the report `{ completed, cancelled, abandoned }`.
   * @throws TypeError/RangeError for a bad option.
   */
  close(closeOptions: CloseOptions = {}): Promise<CloseReport> {
    if (this.#closing) return this.#closing;
    const o = options('close options', closeOptions, ['graceMs', 'drain']);
    const graceMs = duration('graceMs', o.graceMs ?? 10_000);
    if (o.drain !== undefined && typeof o.drain !== 'boolean') {
      throw new TypeError(`drain must be a boolean, got ${typeof o.drain}`);
    }
    this.#closing = this.#close(graceMs, o.drain ?? true);
    return this.#closing;
  }

  /**
   * Lifecycle component stop: {@link WorkPool.close} with its defaults (drain), the grace
   * ending at `deadline`.
   * @throws TypeError for a context that is not an object, an unknown or `null` key, or a
   * `signal` that is not an AbortSignal; RangeError for a `deadline` that is not finite.
   */
  stop(
    context: {
      readonly signal?: AbortSignal | undefined;
      readonly deadline?: number | undefined;
    } = {},
  ): Promise<CloseReport> {
    const o = options('stop context', context, ['signal', 'deadline']);
    optionalSignal('signal', o.signal);
    const deadline =
      o.deadline === undefined ? Date.now() + 10_000 : finite('deadline', o.deadline);
    return this.close({ graceMs: Math.max(0, deadline - Date.now()) });
  }

  async #close(graceMs: number, drain: boolean): Promise<CloseReport> {
    this.#state = 'closing';
    this.#drain = drain;
    this.#detachParent();
    this.#detachParent = noop;
    this.#room.close();
    // Built only if something is cancelled: a stack trace per close of an idle pool is
    // most of what a short-lived pool costs.
    let closed: ClosedError | undefined;
    const reason = (): ClosedError => (closed ??= new ClosedError('WorkPool closed'));
    if (!drain) this.#cancelWaiting(reason);
    const abandoned: string[] = [];
    if (!(await this.#idleWithin(graceMs))) {
      this.#cancelWaiting(reason);
      for (const job of this.#runningJobs.list()) this.#cancel(job, reason());
      if (!(await this.#idleWithin(this.#o.abortGraceMs))) {
        for (const job of this.#runningJobs.list()) {
          abandoned.push(job.id);
          this.#abandon(job, reason());
        }
      }
    }
    this.#clearRateTimer();
    // Outcomes still being recorded past the grace are given up (reported as
    // tracker.failed); their jobs' results then settle.
    this.#recordsAbort?.abort(reason());
    await Promise.all([...this.#recording]);
    await Promise.all([...this.#runners.values()].map((runner) => runner.destroy()));
    this.#state = 'closed';
    const report: CloseReport = Object.freeze({
      ...this.#closeStats,
      abandoned: Object.freeze(abandoned),
    });
    this.#emit('pool.closed', report);
    return report;
  }

  /** Validates a submission once, before anything changes (and before `run` waits). */
  #prepare(type: string, work: unknown, jobOptions: JobOptions | undefined): Submission {
    const queue = this.#queueOf(type);
    return prepareSubmission(queue, this.#runners.get(queue.name), work, jobOptions);
  }

  #checkOpen(s: Submission): void {
    if (this.#state !== 'open') {
      throw new ClosedError(`WorkPool is ${this.#state}; cannot submit a ${s.queue.name} job`);
    }
    throwIfAborted(s.signal);
  }

  /**
   * Joins the job of `s.key`, if one is queued, running or retrying: a handle of the
   * caller's own, and the job's priority raised to the caller's if that is higher.
   */
  #join(s: Submission): Job<unknown> | undefined {
    if (s.key === undefined) return undefined;
    const record = s.queue.keys.get(s.key);
    // A job its last caller cancelled (its task may not have honoured the abort yet) is
    // ending as cancelled: a new caller gets a job of its own.
    if (record === undefined || record.cancelRequested) return undefined;
    this.#checkOpen(s);
    record.claims++;
    if (s.priority > record.priority) this.#raise(record, s.priority);
    // The joiner's timeoutMs bounds its own wait: the job keeps its creator's time limit.
    return new Job(record, s.signal, s.waitMs, record.handle);
  }

  #raise(record: JobRecord, priority: number): void {
    record.rank += priority - record.priority;
    record.priority = priority;
    if (record.slot !== undefined) this.#room.reranked(this.#queueOfRecord(record).rerank(record));
  }

  /** Creates and queues a job; `reserved` when `run` holds a reserved place for it. */
  #create(s: Submission, reserved: boolean): Job<unknown> {
    this.#checkOpen(s);
    const { queue } = s;
    const now = Date.now();
    const aging = this.#o.aging;
    const runner = this.#runners.get(queue.name);
    const record = new JobRecord(
      s,
      ++this.#seq,
      // Aging raises every queued job's effective priority at the same rate, so the order
      // between two jobs depends only on priority − queuedAt·by/everyMs: a time-invariant
      // rank that a heap can keep ordered without re-sorting as time passes.
      aging ? s.priority - ((now - this.#t0) * aging.by) / aging.everyMs : s.priority,
      s.task ?? (runner as WorkerRunner).task(s.input),
      now,
    );
    const hold = this.#hold(queue, s.key);
    if (hold !== undefined) {
      if (reserved) this.#room.giveBack();
      const skipped = new Job<unknown>(record, s.signal, undefined);
      record.handle = skipped;
      this.#finish(record, 'skipped', skipError(record, hold));
      return skipped;
    }
    // Found before anything changes, so a refused submit leaves no trace.
    const victim =
      reserved || this.#room.hasRoom
        ? undefined
        : this.#room.victimFor({ rank: record.rank, seq: record.seq, item: record });
    if (reserved) this.#room.take();
    const job = new Job<unknown>(record, s.signal, undefined);
    record.handle = job;
    if (s.key !== undefined) queue.keys.set(s.key, record);
    this.#live.add(record.seq, record);
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

  #enqueue(queue: TypeQueue, job: JobRecord): void {
    job.status = 'queued';
    this.#room.entered(queue.push(job));
    this.#publish('job.queued', job);
  }

  /** Takes a job out of its queue (cancel or eviction); its room goes to a `run` waiter. */
  #unqueue(job: JobRecord): void {
    this.#queueOfRecord(job).remove(job);
    this.#room.left();
  }

  /**
   * Starts jobs while global capacity lasts.
   *
   * Fairness rule (no head-of-line blocking across types): the next job started is the
   * highest-ranked queued job (priority, then submission order) among the types that
   * have a free slot and rate budget now and are not paused. A type at its limit is
   * skipped, never waited on, so a saturated `embed` type cannot delay a queued `fetch`
   * job. Within a type, order is strict. A rate-limited type is reconsidered when its
   * window next opens.
   */
  #dispatch(): void {
    if (this.#dispatching) {
      this.#dispatchAgain = true;
      return;
    }
    if (this.#paused || this.#state === 'closed' || (this.#state === 'closing' && !this.#drain))
      return;
    this.#dispatching = true;
    try {
      do {
        this.#dispatchAgain = false;
        let opensAt = Number.POSITIVE_INFINITY;
        // One clock reading per round: the jobs a round starts start at the same instant.
        const now = this.#running < this.#o.concurrency && this.#room.queued > 0 ? Date.now() : 0;
        while (this.#running < this.#o.concurrency && this.#room.queued > 0) {
          let best: TypeQueue | undefined;
          let bestJob: JobRecord | undefined;
          for (const q of this.#queues) {
            if (!q.ready) continue;
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
          this.#room.left();
          this.#start(best, bestJob, now);
        }
        this.#armRateTimer(opensAt);
      } while (this.#dispatchAgain);
    } finally {
      this.#dispatching = false;
    }
  }

  /**
   * Starts an attempt of `job`, just taken out of its queue. Every attempt of every job
   * (submitted, run, joined, worker type, retried) starts here, so this is where a keyed
   * job meets its failure tracker: held back, it ends as skipped instead (no slot, no
   * rate budget used); otherwise its run is recorded before its task first starts.
   */
  #start(queue: TypeQueue, job: JobRecord, now: number): void {
    const hold = this.#hold(queue, job.key);
    if (hold !== undefined) {
      this.#finish(job, 'skipped', skipError(job, hold));
      return;
    }
    job.status = 'running';
    job.attempt++;
    job.startedAt = now;
    job.stalled = false;
    job.progress = 0;
    job.note = undefined;
    queue.running++;
    queue.recordStart(now);
    this.#running++;
    const attempt = new Attempt(job, this.#host, queue.config.stallAfterMs);
    job.current = attempt;
    this.#runningJobs.add(job);
    this.#publish('job.started', job);
    const tracker = queue.config.tracker;
    if (tracker === undefined || job.key === undefined) attempt.run(job.task);
    else this.#runTracked(tracker, job, job.key, attempt);
  }

  /** The tracker's hold on `key` for jobs of `queue`, if it has one now. */
  #hold(queue: TypeQueue, key: string | undefined): KeyHold | undefined {
    return key === undefined ? undefined : queue.config.tracker?.check(key);
  }

  /**
   * Runs a keyed job's attempt once its tracker has recorded the job as running (once per
   * job: later attempts wait for the same record). A record that fails fails the attempt
   * with that error (retried if its policy allows), and the job is not tracked.
   */
  #runTracked(tracker: KeyTracker, job: JobRecord, key: string, attempt: Attempt): void {
    let tracking = job.tracking;
    const began = tracking === undefined;
    if (tracking === undefined) {
      try {
        // Not the attempt's signal: a time limit that passes meanwhile fails the job, and
        // that failure must find its run recorded. A cancel is seen once the record is made.
        tracking = tracker.begin(key, { signal: this.#recordsSignal });
      } catch (error) {
        tracking = Promise.reject(error);
      }
      job.tracking = tracking;
    }
    const begun = tracking;
    begun.then(
      () => {
        // The attempt already ended (its time limit, close's abandonment) or was aborted
        // while the record was written: its task is not started.
        if (job.current !== attempt) return;
        if (attempt.aborted) this.#ended(job, attempt, false, attempt.abortReason);
        else attempt.run(job.task);
      },
      (error: unknown) => {
        if (job.tracking === begun) job.tracking = undefined;
        if (job.current !== attempt) return;
        // Begun by an earlier attempt, which ended (its time limit) before the record
        // failed: this attempt tries to record the run anew.
        if (began) this.#ended(job, attempt, false, error);
        else this.#runTracked(tracker, job, key, attempt);
      },
    );
  }

  /** An attempt's task settled, or its time limit passed. */
  #ended(job: JobRecord, attempt: Attempt, ok: boolean, value: unknown): void {
    // A stale settlement: the attempt already ended (time limit, abandonment).
    if (job.current !== attempt) return;
    // The last coalesced progress goes out before the job's end.
    job.reporter?.flush();
    this.#release(job);
    if (job.cancelRequested) {
      this.#finish(job, 'cancelled', CANCELLED);
    } else if (ok) {
      this.#finish(job, 'succeeded', value);
    } else {
      const reason = attempt.abortReason;
      // A task that honours its time limit usually rejects with an abort error: it is the timeout.
      const error =
        reason instanceof TimeoutError && isAbortError(value) ? reason : normalizeError(job, value);
      this.#failed(job, error);
    }
    this.#dispatch();
  }

  /** Retries a failed attempt if its policy allows, or fails the job. */
  #failed(job: JobRecord, error: unknown): void {
    const retry = job.retry;
    // While closing without drain nothing more may start, so nothing is retried.
    const mayRetry =
      (this.#state === 'open' || this.#drain) &&
      retry !== undefined &&
      job.attempt < retry.attempts &&
      !isAbortError(error) &&
      !(error instanceof NonRetryableError);
    if (!mayRetry) {
      this.#finish(job, 'failed', error);
      return;
    }
    let delayMs: number;
    try {
      if (retry.retryIf !== undefined && !retry.retryIf(error, job.attempt)) {
        this.#finish(job, 'failed', error);
        return;
      }
      delayMs = backoffDelay(retry, job.attempt, this.#o.random);
    } catch (policyError) {
      this.#finish(job, 'failed', policyError);
      return;
    }
    job.status = 'retrying';
    job.error = errorView(error);
    this.#retryingJobs.add(job);
    if (this.#o.bus !== undefined) {
      this.#emit('job.retrying', Object.freeze({ ...jobView(job), delayMs, lastError: job.error }));
    }
    job.backoff = after(delayMs, () => {
      job.backoff = undefined;
      this.#retryingJobs.delete(job);
      this.#enqueue(this.#queueOfRecord(job), job);
      this.#dispatch();
    });
  }

  #stalled(job: JobRecord): void {
    job.stalled = true;
    this.#publish('job.stalled', job);
  }

  /** A task reported progress. */
  #progress(job: JobRecord, attempt: Attempt, fraction: number, note: string | undefined): void {
    if (job.current !== attempt) return;
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
    job.reporter ??= new ProgressCoalescer(this.#o.progressIntervalMs, () =>
      this.#publish('job.progress', job),
    );
    job.reporter.report();
  }

  /** Gives a running job's slot back and ends its attempt (its timers). */
  #release(job: JobRecord): void {
    this.#runningJobs.delete(job);
    this.#queueOfRecord(job).running--;
    this.#running--;
    job.current?.end();
    job.current = undefined;
  }

  /** A caller gave up on `record` (see {@link Job.cancel}). */
  #withdraw(record: JobRecord, reason: unknown): boolean {
    if (--record.claims > 0) return true;
    this.#cancel(record, reason);
    return false;
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
        job.backoff?.clear();
        job.backoff = undefined;
        this.#retryingJobs.delete(job);
        this.#finish(job, 'cancelled', CANCELLED);
        break;
      case 'running':
        job.current?.abort(reason);
        break;
    }
  }

  /** Cancels every queued and retrying job, with the reason `reason()` makes (if any). */
  #cancelWaiting(reason: () => unknown): void {
    for (const job of [...this.#retryingJobs]) this.#cancel(job, reason());
    for (const q of this.#queues) {
      for (let job = q.peek(); job !== undefined; job = q.peek()) this.#cancel(job, reason());
    }
  }

  /** The signal of tracker writes (see `#recordsAbort`). */
  get #recordsSignal(): AbortSignal {
    this.#recordsAbort ??= new AbortController();
    return this.#recordsAbort.signal;
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
    status: 'succeeded' | 'failed' | 'cancelled' | 'skipped',
    value: unknown,
    abandoned = false,
  ): void {
    job.status = status;
    job.finishedAt = Date.now();
    this.#live.delete(job.seq);
    job.error =
      status === 'succeeded' ? undefined : value === CANCELLED ? CANCELLED_VIEW : errorView(value);
    this.#totals[status]++;
    if (this.#state !== 'open' && !abandoned) {
      if (status === 'cancelled') this.#closeStats.cancelled++;
      else this.#closeStats.completed++;
    }
    job.detach?.();
    job.detach = undefined;
    job.reporter?.stop();
    job.reporter = undefined;
    const keys = this.#queueOfRecord(job).keys;
    if (job.key !== undefined && keys.get(job.key) === job) keys.delete(job.key);
    // The history keeps the record, whose views are built when read (most never are): it
    // holds no task closure (replaced here) and no result (its handle holds that).
    job.task = finishedTask;
    this.#history?.push(job);
    this.#publish('job.finished', job);
    const tracking = job.tracking;
    job.tracking = undefined;
    if (tracking === undefined) settle(job, status, value);
    else this.#settleWhenRecorded(job, tracking, status, value);
    if (this.#isIdle()) this.#becameIdle();
  }

  /**
   * The result settles once the outcome is recorded, so a caller who sees a failure and
   * submits again finds the key backing off. Apart from `#finish`: this closure there
   * would make V8 allocate a context for every job's end, tracked or not.
   */
  #settleWhenRecorded(
    job: JobRecord,
    tracking: Promise<TrackedRun>,
    status: JobStatus,
    value: unknown,
  ): void {
    const recorded = this.#record(job, tracking, status, value).then(() => {
      settle(job, status, value);
      this.#recording.delete(recorded);
      if (this.#isIdle()) this.#becameIdle();
    });
    this.#recording.add(recorded);
  }

  /**
   * Writes a tracked job's outcome: a success clears its key, a failure counts (an abort
   * error is no failure), anything else releases the run. Never rejects: a write that
   * fails is reported on the bus and leaves the run in flight in the store, where it is
   * counted as a failure once this process has ended (never under-counted).
   */
  async #record(
    job: JobRecord,
    tracking: Promise<TrackedRun>,
    status: JobStatus,
    value: unknown,
  ): Promise<void> {
    let run: TrackedRun;
    try {
      run = await tracking;
    } catch {
      return; // never recorded as running (its error failed the attempt): nothing to end
    }
    const options = { signal: this.#recordsSignal };
    try {
      if (status === 'succeeded') await run.succeeded(options);
      else if (status === 'failed' && !isAbortError(value)) await run.failed(value, options);
      else await run.released(options);
    } catch (error) {
      this.#emit(
        'tracker.failed',
        Object.freeze({
          id: job.id,
          type: job.type,
          key: job.key as string,
          error: errorView(error),
        }),
      );
    }
  }

  #isIdle(): boolean {
    return (
      this.#room.queued === 0 &&
      this.#running === 0 &&
      this.#retryingJobs.size === 0 &&
      this.#recording.size === 0
    );
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
      const timer = after(ms, () => resolve(false));
      this.#idleWaiters.push(() => {
        timer.clear();
        resolve(true);
      });
    });
  }

  #armRateTimer(at: number): void {
    if (at === Number.POSITIVE_INFINITY || at >= this.#rateTimerAt) return;
    this.#clearRateTimer();
    this.#rateTimerAt = at;
    this.#rateTimer = after(Math.max(0, at - Date.now()), () => {
      this.#rateTimer = undefined;
      this.#rateTimerAt = Number.POSITIVE_INFINITY;
      this.#dispatch();
    });
  }

  #clearRateTimer(): void {
    this.#rateTimer?.clear();
    this.#rateTimer = undefined;
    this.#rateTimerAt = Number.POSITIVE_INFINITY;
  }

  #queueOf(type: string): TypeQueue {
    const queue = this.#byName.get(type);
    if (queue === undefined) oneOf('type', type, this.#typeNames);
    return queue as TypeQueue;
  }

  #queueOfRecord(job: JobRecord): TypeQueue {
    return this.#queues[job.typeIndex] as TypeQueue;
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

/** Hands a finished job's outcome to its callers (through its creator's handle). */
function settle(job: JobRecord, status: JobStatus, value: unknown): void {
  const handle = job.handle;
  job.handle = undefined;
  if (handle !== undefined) settleResult(handle, status, value);
}

function skipError(job: JobRecord, hold: KeyHold): JobSkippedError {
  // A TTL may reach past the last date a Date can hold (its toISOString would throw).
  const date = new Date(hold.eligibleAt);
  const until = Number.isNaN(date.getTime()) ? `${hold.eligibleAt} ms` : date.toISOString();
  return new JobSkippedError(
    `Job ${job.id} (${job.type}) was skipped: its key "${String(job.key)}" is ${hold.reason === 'permanent' ? 'failed permanently' : 'backing off'} until ${until}`,
    { key: job.key as string, reason: hold.reason, eligibleAt: hold.eligibleAt },
  );
}

function normalizeError(job: JobRecord, value: unknown): unknown {
  if (value instanceof Error) return value;
  return new TaskError(
    `Job ${job.id} (${job.type}) failed with a non-Error value: ${String(value)}`,
    { cause: value },
  );
}

/** The sequence number of the job `id` names (`job-<seq>`), or NaN for no job's id. */
function seqOf(id: string): number {
  if (typeof id !== 'string' || !id.startsWith('job-')) return Number.NaN;
  const seq = Number(id.slice(4));
  // Exactly the id the pool made: not "job-01", "job-1.0" or "job- 1".
  return `job-${seq}` === id ? seq : Number.NaN;
}

function noop(): void {}
