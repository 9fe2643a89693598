import { TimeoutError } from '../errors.js';
import { enabled as lockdepOn, runInOwnFlow } from '../sync/lockdep.js';
import { after, type Timer } from '../internal/timer.js';
import type { JobRecord } from './job-record.js';
import type { TaskContext } from './job.js';

/** What an attempt reports back to its pool. @internal */
export interface AttemptHost {
  /** The task settled, or the attempt hit its time limit (`ok` false with a `TimeoutError`). */
  ended(job: JobRecord, attempt: Attempt, ok: boolean, value: unknown): void;
  stalled(job: JobRecord): void;
  progress(job: JobRecord, attempt: Attempt, fraction: number, note: string | undefined): void;
}

/**
 * One attempt of a running job: the context its task receives, its abort, and its two
 * timers. At `timeoutMs` the attempt ends as failed with `TimeoutError` whether or not
 * the task honours its signal — a late settlement of the task is then ignored by the
 * pool (it compares the attempt). After `stallAfterMs` the job is reported stalled once.
 *
 * A class rather than a literal so a start allocates one small object, and an
 * AbortController only if the task reads `signal` (an abort that comes first is kept and
 * applied when it does).
 * @internal
 */
export class Attempt implements TaskContext {
  readonly attempt: number;
  aborted = false;
  abortReason: unknown = undefined;
  /** Its job's place among the pool's running jobs (see RunningJobs). */
  runningAt = 0;
  readonly #job: JobRecord;
  readonly #host: AttemptHost;
  #controller: AbortController | undefined;
  #progress: ((fraction: number, note?: string) => void) | undefined;
  #timeout: Timer | undefined;
  #stall: Timer | undefined;

  constructor(job: JobRecord, host: AttemptHost, stallAfterMs: number | undefined) {
    this.attempt = job.attempt;
    this.#job = job;
    this.#host = host;
    // The timers' closures live in methods of their own: a closure here would make V8
    // allocate a context at every start, timers or not.
    const timeoutMs = job.timeoutMs;
    if (timeoutMs !== undefined) this.#timeout = this.#timeLimit(timeoutMs);
    if (stallAfterMs !== undefined) this.#stall = this.#stallTimer(stallAfterMs);
  }

  #timeLimit(timeoutMs: number): Timer {
    return after(timeoutMs, () => {
      this.#timeout = undefined;
      const job = this.#job;
      const error = new TimeoutError(
        `Job ${job.id} attempt ${this.attempt} timed out after ${timeoutMs} ms`,
        { timeoutMs },
      );
      this.abort(error);
      this.#host.ended(job, this, false, error);
    });
  }

  #stallTimer(stallAfterMs: number): Timer {
    return after(stallAfterMs, () => {
      this.#stall = undefined;
      this.#host.stalled(this.#job);
    });
  }

  /** Runs the task in a flow of its own (never the submitter's) and reports how it settles. */
  run(task: (context: TaskContext) => unknown): void {
    // The promises that report the outcome are the job's too: the pool's code they run
    // (the retry policy, the next dispatch) must not inherit the locks of whoever
    // happened to start the job.
    if (lockdepOn) this.#runInOwnFlow(task);
    else this.#run(task);
  }

  /**
   * Apart from `run`: a closure in `run` itself would make V8 allocate its context at
   * every call, lockdep or not.
   */
  #runInOwnFlow(task: (context: TaskContext) => unknown): void {
    runInOwnFlow(() => this.#run(task));
  }

  #run(task: (context: TaskContext) => unknown): void {
    let outcome: Promise<unknown>;
    try {
      outcome = Promise.resolve(task(this));
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (value) => this.#host.ended(this.#job, this, true, value),
      (error: unknown) => this.#host.ended(this.#job, this, false, error),
    );
  }

  /** The job's id, built when a task reads it (most never do). */
  get id(): string {
    return this.#job.id;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.abortReason);
    }
    return this.#controller.signal;
  }

  /** Aborts the task's signal (once; the first reason wins). */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    const controller = this.#controller;
    if (controller === undefined) return;
    // The task's abort listeners run now, synchronously, but in the task's flow: not in
    // that of whoever cancelled it (who may hold locks the task's cleanup takes).
    if (lockdepOn) abortInOwnFlow(controller, reason);
    else controller.abort(reason);
  }

  /** Clears the attempt's timers (it ended). */
  end(): void {
    this.#timeout?.clear();
    this.#stall?.clear();
    this.#timeout = this.#stall = undefined;
  }

  /** Bound on first access, so `({ progress }) => …` destructuring works. */
  get progress(): (fraction: number, note?: string) => void {
    this.#progress ??= (fraction, note) => this.#host.progress(this.#job, this, fraction, note);
    return this.#progress;
  }
}

/** Apart from `abort`, whose every call would otherwise allocate this closure's context. */
function abortInOwnFlow(controller: AbortController, reason: unknown): void {
  runInOwnFlow(() => controller.abort(reason));
}
