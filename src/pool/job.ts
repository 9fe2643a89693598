import type { AbortOptions } from '../abort.js';
import { AbortError } from '../errors.js';
import type { NormalizedRetry } from './retry.js';

/** `queued → running → succeeded | failed | cancelled`, with `retrying` between attempts. */
export type JobStatus = 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';

/** Exponential backoff between attempts: `min(maxMs, baseMs · 2^(attempt−1))`, full jitter. */
export interface RetryOptions {
  /** Total attempts, the first included (a positive integer). */
  readonly attempts: number;
  /** Backoff before the second attempt. @default 100 */
  readonly baseMs?: number | undefined;
  /** Largest backoff. @default 30000 */
  readonly maxMs?: number | undefined;
}

/** Options of `submit` and `run`. */
export interface JobOptions extends AbortOptions {
  /** Higher runs first; equal priorities run in submission order. A finite number. @default 0 */
  readonly priority?: number | undefined;
  /** While a job with this key is queued, running or retrying, `submit` returns that job. */
  readonly key?: string | undefined;
  /** Per-attempt time limit: the task's signal aborts with `TimeoutError` after it. */
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
  readonly priority: number;
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
 * The running attempt's abort: applied to the task's signal at once if the task has read
 * it, otherwise when it first does.
 * @internal
 */
export interface AttemptControl {
  readonly aborted: boolean;
  readonly abortReason: unknown;
  abort(reason: unknown): void;
}

/**
 * The pool's own record of a job. Only the pool writes it; everyone else reads
 * {@link JobView} copies.
 * @internal
 */
export interface JobRecord {
  readonly id: string;
  readonly typeIndex: number;
  readonly type: string;
  readonly priority: number;
  /** Heap order: higher first; with aging, a time-invariant rank (see WorkPool). */
  readonly rank: number;
  readonly seq: number;
  readonly key: string | undefined;
  /** Replaced by a stub when the job finishes, so its closure can be collected. */
  task: Task<unknown>;
  readonly timeoutMs: number | undefined;
  readonly retry: NormalizedRetry | undefined;
  readonly meta: Readonly<Record<string, unknown>> | undefined;
  readonly queuedAt: number;
  status: JobStatus;
  /** In a queue heap (lazy deletion: a cancelled job stays in the heap until popped). */
  inQueue: boolean;
  attempt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  progress: number;
  note: string | undefined;
  stalled: boolean;
  error: ErrorView | undefined;
  /** Set once cancellation is requested; the outcome is then 'cancelled'. */
  cancelReason: unknown;
  cancelRequested: boolean;
  /** The running attempt's control (its abort); undefined between attempts. */
  context: AttemptControl | undefined;
  /** Timers: the attempt timeout, the backoff wait, the stall report, progress coalescing. */
  timeout: ReturnType<typeof setTimeout> | undefined;
  backoff: ReturnType<typeof setTimeout> | undefined;
  stallTimer: ReturnType<typeof setTimeout> | undefined;
  progressTimer: ReturnType<typeof setTimeout> | undefined;
  progressDirty: boolean;
  detachSignal: () => void;
  outcome:
    | { readonly ok: true; readonly value: unknown }
    | { readonly ok: false; readonly error: unknown }
    | undefined;
  resolve: ((value: unknown) => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
  resultPromise: Promise<unknown> | undefined;
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
 * A handle on a submitted job. Reading is free; only the pool changes a job.
 */
export class Job<R = unknown> {
  readonly #record: JobRecord;
  readonly #cancel: (record: JobRecord, reason: unknown) => void;
  readonly #view: (record: JobRecord) => JobView;

  /** @internal Created by `WorkPool.submit`. */
  constructor(
    record: JobRecord,
    cancel: (record: JobRecord, reason: unknown) => void,
    view: (record: JobRecord) => JobView,
  ) {
    this.#record = record;
    this.#cancel = cancel;
    this.#view = view;
  }

  /** Job id, unique within the pool. */
  get id(): string {
    return this.#record.id;
  }

  /** Job type name. */
  get type(): string {
    return this.#record.type;
  }

  /** Current status. */
  get status(): JobStatus {
    return this.#record.status;
  }

  /**
   * Settles when the job ends: the task's value, or its error (a non-Error thrown value is
   * wrapped in `TaskError`), or an abort error when cancelled, or `QueueFullError` when
   * evicted. Created on first access; an unawaited result never reports an unhandled
   * rejection (failures are visible in events and history).
   */
  get result(): Promise<R> {
    const record = this.#record;
    if (record.resultPromise === undefined) {
      const outcome = record.outcome;
      if (outcome === undefined) {
        record.resultPromise = new Promise((resolve, reject) => {
          record.resolve = resolve;
          record.reject = reject;
        });
      } else if (outcome.ok) {
        record.resultPromise = Promise.resolve(outcome.value);
      } else {
        record.resultPromise = Promise.reject(
          outcome.error === CANCELLED ? cancelError(record) : outcome.error,
        );
        record.resultPromise.catch(noop); // see the getter's note on unhandled rejections
      }
    }
    return record.resultPromise as Promise<R>;
  }

  /**
   * Cancels the job: a queued or retrying job ends at once; a running job's signal
   * aborts and it ends as `cancelled` when its task settles. Does nothing once the job
   * has ended, or on a second call.
   */
  cancel(reason?: unknown): void {
    this.#cancel(this.#record, reason);
  }

  /** A plain, frozen copy of the job's state now. */
  view(): JobView {
    return this.#view(this.#record);
  }
}

function noop(): void {}
