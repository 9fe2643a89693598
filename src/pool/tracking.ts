/**
 * What a pool asks of a failure tracker for its keyed jobs. `FailureTracker` (in
 * `src/store`) implements it; the pool depends only on this interface, so the pool does
 * not import the store.
 */

/** Why, and until when, a key's jobs are not run. */
export interface KeyHold {
  /** `'backoff'` after failures; `'permanent'` after a failure marked permanent. */
  readonly reason: 'backoff' | 'permanent';
  /** When a job of the key may run again, in ms since the epoch. */
  readonly eligibleAt: number;
}

/** Options every tracker write takes. */
export interface TrackerCallOptions {
  readonly signal: AbortSignal;
}

/**
 * One job of a key, recorded as running (durably) by {@link KeyTracker.begin}. Exactly one
 * of its methods is called, once, when the job's outcome is known.
 */
export interface TrackedRun {
  /** The job succeeded: the key's failures are cleared. */
  succeeded(options: TrackerCallOptions): Promise<void>;
  /**
   * The job failed (after its own retries): one failure is counted. A `NonRetryableError`
   * with `permanent: true` marks the key failed for good.
   */
  failed(error: unknown, options: TrackerCallOptions): Promise<void>;
  /** The job ended without an outcome of its own (cancelled, skipped): nothing is counted. */
  released(options: TrackerCallOptions): Promise<void>;
}

/** A failure tracker as a pool uses it (see `WorkPoolOptions.tracker`). */
export interface KeyTracker {
  /**
   * Whether jobs of `key` are held back now, and until when; `undefined` when they may
   * run. Synchronous: the pool calls it for every keyed job at submit and before every
   * start, without waiting. It must not throw (a throw at submit reaches the caller; one
   * at a start would break the dispatch).
   */
  check(key: string): KeyHold | undefined;
  /**
   * Records durably that a job of `key` is running, before its task runs, so that a crash
   * before its outcome is recorded is counted as a failure later (never lost).
   */
  begin(key: string, options: TrackerCallOptions): Promise<TrackedRun>;
}
