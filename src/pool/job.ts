import { onAbort, type AbortOptions } from '../abort.js';
import { AbortError, TimeoutError } from '../errors.js';
import { after } from '../internal/timer.js';
import type { JobRecord, Outcome } from './job-record.js';

/**
 * `queued → running → succeeded | failed | cancelled`, with `retrying` between attempts;
 * `skipped` (from submit, or instead of a start) when the failure tracker of a keyed job
 * holds its key back.
 */
export type JobStatus =
  'queued' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';

/** Exponential backoff between attempts: `min(maxMs, baseMs · 2^(attempt−1))`, full jitter. */
export interface RetryOptions {
  /** Total attempts, the first included (a positive integer). */
  readonly attempts: number;
  /** Backoff before the second attempt, in milliseconds. @default 100 */
  readonly baseMs?: number | undefined;
  /** Largest backoff, in milliseconds. @default 30000 */
  readonly maxMs?: number | undefined;
  /**
   * Decides whether a failed attempt is retried (called only while attempts remain; an
   * abort is never retried, and an error marked with `NonRetryableError` never is
   * either). A throw from it fails the job with that error.
   * @example
   * ```ts
   * retry: { attempts: 3, retryIf: (error) => !(error instanceof NotFound) },
   * ```
   */
  readonly retryIf?: ((error: unknown, attempt: number) => boolean) | undefined;
}

/** Options of `submit` and `run`. */
export interface JobOptions extends AbortOptions {
  /** Higher runs first; equal priorities run in submission order. A finite number. @default 0 */
  readonly priority?: number | undefined;
  /**
   * Deduplication: while a job of the same type with this key is queued, running or
   * retrying, `submit` and `run` **join** it instead of creating a job.
   *
   * Each caller that joins gets its own handle with its own wait: its `signal`,
   * `job.cancel()` and `timeoutMs` end only its own wait (its result rejects with an
   * abort error, or `TimeoutError`), and the shared job is cancelled only once every
   * caller has cancelled or aborted, so a caller that never cancelled is never rejected
   * because another did. A joiner with a higher `priority` raises the shared job's
   * priority (the job runs at the highest priority of its callers). A joiner's
   * `timeoutMs` bounds its own wait from the moment it joined; the job's attempts keep
   * the time limit, `retry` and `meta` of the caller that created it.
   *
   * With a failure tracker (`WorkPoolOptions.tracker`), the key is also what the tracker
   * counts failures of: a key that backs off or failed for good makes the job `skipped`.
   */
  readonly key?: string | undefined;
  /**
   * Per-attempt time limit in milliseconds. At the deadline the task's signal aborts with
   * `TimeoutError` and the attempt **ends at once** as failed with that error (retried if
   * `retry` allows): its slot is freed and `result` settles even if the task ignores its
   * signal. Such a task keeps running in the background until it returns; whatever it
   * returns is ignored, but its side effects (writes, requests) still happen — check
   * `signal` before each one.
   */
  readonly timeoutMs?: number | undefined;
  /** Retry failed attempts (never aborts). */
  readonly retry?: RetryOptions | undefined;
  /** Plain structured-cloneable data carried into views, events and snapshots (copied and frozen). */
  readonly meta?: Readonly<Record<string, unknown>> | undefined;
}

/** What a task receives. */
export interface TaskContext {
  /** Aborts on `job.cancel()`, the job's `signal`, its timeout (`TimeoutError`) or pool close. */
  readonly signal: AbortSignal;
  /** The job's id. */
  readonly id: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Reports progress in [0, 1] with an optional note; events are coalesced. */
  readonly progress: (fraction: number, note?: string) => void;
}

/** A unit of work run in the pool's thread. */
export type Task<R> = (context: TaskContext) => R | PromiseLike<R>;

/** A failure as plain data. */
export interface ErrorView {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
}

/** A job as plain, frozen, structured-cloneable data: what events, views and snapshots carry. */
export interface JobView {
  readonly id: string;
  readonly type: string;
  readonly status: JobStatus;
  /** The highest priority of the job's callers. */
  readonly priority: number;
  /** The key as the caller gave it. */
  readonly key: string | undefined;
  readonly attempt: number;
  readonly progress: number;
  readonly note: string | undefined;
  readonly queuedAt: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly stalled: boolean;
  readonly error: ErrorView | undefined;
  readonly meta: Readonly<Record<string, unknown>> | undefined;
}

/**
 * @internal A cancellation's outcome before anyone asked for it: closing a pool with a
 * million queued jobs should not build a million stack traces nobody reads.
 */
export const CANCELLED: unique symbol = Symbol('cancelled');

/** @internal The error a cancelled job's result rejects with; the cancel reason is the cause. */
export function cancelError(job: JobRecord): AbortError {
  return new AbortError(`Job ${job.id} was cancelled`, { cause: job.cancelReason });
}

/**
 * @internal What a handle needs from its pool.
 */
export interface JobHost {
  /**
   * One caller gives up on the job. Returns true if the job goes on for other callers
   * (this caller alone is released), false if it was the last and the job is cancelled.
   */
  withdraw(record: JobRecord, reason: unknown): boolean;
  view(record: JobRecord): JobView;
}

const FINISHED: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

/**
 * @internal Hands a finished job's outcome to its creator's handle, where every caller
 * reads it (the pool calls it once per job).
 */
export let settleResult: (handle: Job, status: JobStatus, value: unknown) => void;

/**
 * One caller's handle on a submitted job. Reading is free; only the pool changes a job.
 * Callers that joined a job by `key` each have their own handle on the shared job.
 */
export class Job<R = unknown> {
  readonly #record: JobRecord;
  /**
   * This caller's own state, made on first need (a signal or wait limit, a keyed result,
   * a withdrawal): most handles never need it, and a queued job's handle stays small.
   */
  #c: Caller<R> | undefined = undefined;
  /**
   * The job's result, held by its creator's handle (a joiner's reads it there) and not
   * by the record, so a finished record the pool keeps in its history holds no result:
   * the promise once read; the outcome if the job ended before anyone read it.
   */
  #result: Promise<unknown> | Outcome | undefined = undefined;
  /** Only `resolve` is kept: a failure resolves it with a rejected promise. */
  #resolve: ((value: unknown) => void) | undefined = undefined;

  static {
    settleResult = (handle, status, value) => handle.#settle(status, value);
  }

  /**
   * @internal Created by `WorkPool.submit`, `run`, and each join by key (a joiner is
   * given the creator's handle, `origin`).
   */
  constructor(
    record: JobRecord,
    signal: AbortSignal | undefined,
    waitMs: number | undefined,
    origin?: Job,
  ) {
    this.#record = record;
    if (origin !== undefined) this.#caller.origin = origin;
    if (signal !== undefined || waitMs !== undefined) this.#bindWait(record, signal, waitMs);
  }

  /**
   * Binds only this caller's wait to its signal and time limit. Apart from the
   * constructor: its closures there would make V8 allocate a context for every handle.
   */
  #bindWait(record: JobRecord, signal: AbortSignal | undefined, waitMs: number | undefined): void {
    const detachSignal = onAbort(signal, () => this.#withdraw(signal?.reason));
    const timer =
      waitMs === undefined
        ? undefined
        : after(waitMs, () =>
            this.#withdraw(
              new TimeoutError(`Wait for job ${record.id} timed out after ${waitMs} ms`, {
                timeoutMs: waitMs,
              }),
            ),
          );
    const c = this.#caller;
    const detach = (): void => {
      detachSignal();
      timer?.clear();
    };
    c.detach = detach;
    const previous = record.detach;
    record.detach =
      previous === undefined
        ? detach
        : () => {
            previous();
            c.detach?.();
          };
  }

  /** Job id, unique within the pool. */
  get id(): string {
    return this.#record.id;
  }

  /** Job type name. */
  get type(): string {
    return this.#record.type;
  }

  /** Current status of the job (shared by every caller joined to it). */
  get status(): JobStatus {
    return this.#record.status;
  }

  /**
   * Settles when the job ends: the task's value, or its error (a non-Error thrown value is
   * wrapped in `TaskError`), or an abort error when cancelled, or `QueueFullError` when
   * evicted, or `JobSkippedError` when its key's failure tracker held it back — or, for a caller that gave up while others still wait on the job, at once
   * with its own abort error (or `TimeoutError` for its wait's time limit). Created on
   * first access; an unawaited result never reports an unhandled rejection (failures are
   * visible in events and history).
   */
  get result(): Promise<R> {
    const released = this.#c?.released;
    if (released !== undefined) return released;
    const origin = this.#c?.origin ?? this;
    // Only a keyed job can have several callers, so only its callers need a promise of
    // their own (one may give up while the job goes on for the others).
    if (this.#record.key === undefined) return origin.#shared() as Promise<R>;
    const c = this.#caller;
    if (c.own === undefined) {
      c.own = new Promise<R>((resolve, reject) => {
        c.rejectOwn = reject;
        (origin.#shared() as Promise<R>).then(resolve, reject);
      });
      c.own.catch(noop); // as the shared promise: never an unhandled rejection
    }
    return c.own;
  }

  /**
   * Gives up on the job. If this caller is the job's only one (or the last still waiting,
   * with joiners by `key`), the job is cancelled: a queued or retrying job ends at once; a
   * running job's signal aborts and it ends as `cancelled` when its task settles. If other
   * callers still wait, only this caller's `result` rejects (at once) and the job goes on
   * for them. Does nothing once the job has ended, or on a second call.
   */
  cancel(reason?: unknown): void {
    this.#withdraw(reason);
  }

  /** A plain, frozen copy of the job's state now. */
  view(): JobView {
    return this.#record.queue.host.view(this.#record);
  }

  #withdraw(reason: unknown): void {
    const c = this.#caller;
    if (c.withdrawn || FINISHED.has(this.#record.status)) return;
    c.withdrawn = true;
    c.detach?.();
    if (!this.#record.queue.host.withdraw(this.#record, reason)) return;
    const error =
      reason instanceof TimeoutError
        ? reason
        : new AbortError(`Stopped waiting for job ${this.#record.id}`, { cause: reason });
    c.released = Promise.reject(error);
    c.released.catch(noop);
    c.own?.catch(noop);
    c.rejectOwn?.(error);
  }

  /** The job's own result promise, shared by its callers: made on first read. */
  #shared(): Promise<unknown> {
    const result = this.#result;
    if (result instanceof Promise) return result;
    let promise: Promise<unknown>;
    if (result === undefined) {
      promise = new Promise(capture);
      this.#resolve = captured;
      captured = undefined; // or it would keep the last promise (and its value) reachable
    } else if (result.ok) {
      promise = Promise.resolve(result.value);
    } else {
      promise = Promise.reject(
        result.error === CANCELLED ? cancelError(this.#record) : result.error,
      );
      promise.catch(noop); // see the getter's note on unhandled rejections
    }
    this.#result = promise;
    return promise;
  }

  #settle(status: JobStatus, value: unknown): void {
    const result = this.#result;
    if (result === undefined) {
      this.#result = status === 'succeeded' ? { ok: true, value } : { ok: false, error: value };
      return;
    }
    const resolve = this.#resolve;
    this.#resolve = undefined;
    if (status === 'succeeded') {
      resolve?.(value);
      return;
    }
    (result as Promise<unknown>).catch(noop); // failures are visible in events and history
    const failure = Promise.reject(value === CANCELLED ? cancelError(this.#record) : value);
    failure.catch(noop);
    resolve?.(failure);
  }

  get #caller(): Caller<R> {
    this.#c ??= new Caller<R>();
    return this.#c;
  }
}

/** One caller's own state (see `Job.#c`). */
class Caller<R> {
  /** A joiner's: the creator's handle, which holds the job's result. */
  origin: Job | undefined = undefined;
  withdrawn = false;
  detach: (() => void) | undefined = undefined;
  /** This caller's own ending, when it gave up while the job went on for others. */
  released: Promise<never> | undefined = undefined;
  /** This caller's result, for a keyed job (see `result`). */
  own: Promise<R> | undefined = undefined;
  rejectOwn: ((error: unknown) => void) | undefined = undefined;
}

function noop(): void {}

/**
 * One executor for every result promise, not a closure per job: it leaves the resolving
 * function here, and the handle takes it at once (the executor runs synchronously).
 */
let captured: ((value: unknown) => void) | undefined;
function capture(resolve: (value: unknown) => void): void {
  captured = resolve;
}
