/**
 * When to ask a feed again. Each feed waits a random time between a minimum and a
 * maximum interval after a good answer, so feeds added together drift apart instead of
 * hitting their servers in step; a server's `Retry-After` is honoured as given, never
 * shortened, and never counted against the feed.
 */

/** The schedule's settings (validated by the controller). */
export interface Schedule {
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly random: () => number;
}

/** After a good answer (200 or 304): a uniform draw in `[min, max]` from `now`. */
export function nextAfterSuccess(schedule: Schedule, now: number): number {
  const { minIntervalMs, maxIntervalMs, random } = schedule;
  return Math.round(now + minIntervalMs + random() * (maxIntervalMs - minIntervalMs));
}

/**
 * After 429/503: the time the server's `Retry-After` names, as given (it knows its load);
 * the minimum interval when it sent none.
 */
export function nextAfterRetryLater(
  schedule: Schedule,
  now: number,
  retryAt: number | undefined,
): number {
  return retryAt ?? now + schedule.minIntervalMs;
}
