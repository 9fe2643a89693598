import type { ErrorView, JobView } from './job.js';

/** What `close()` resolves with. */
export interface CloseReport {
  /** Jobs that succeeded, failed or were skipped after `close()` was called. */
  readonly completed: number;
  /** Jobs cancelled by the close (queued ones, and running ones that honoured the abort). */
  readonly cancelled: number;
  /** Ids of running jobs that ignored their abort past the abort grace. */
  readonly abandoned: readonly string[];
}

/** The pool's events, as plain structured-cloneable data. */
export interface PoolEvents {
  'job.queued': JobView;
  'job.started': JobView;
  'job.progress': JobView;
  'job.retrying': JobView & { readonly delayMs: number; readonly lastError: ErrorView };
  'job.stalled': JobView;
  'job.finished': JobView;
  /**
   * A keyed job's outcome could not be recorded in its failure tracker (a store error):
   * the job's own result is unaffected. See `WorkPoolOptions.tracker`.
   */
  'tracker.failed': {
    readonly id: string;
    readonly type: string;
    readonly key: string;
    readonly error: ErrorView;
  };
  'pool.idle': { readonly at: number };
  'pool.closed': CloseReport;
}

/** Anything that can take the pool's events: an `EventBus` whose events include {@link PoolEvents}. */
export interface PoolEventSink {
  publish<K extends keyof PoolEvents>(topic: K, payload: PoolEvents[K]): number;
}
