import { integer } from '../validate.js';
/** Retry options with the defaults filled in. */
export interface NormalizedRetry {
  readonly attempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Validates `retry` once, at submit, filling in the defaults. */
export function normalizeRetry(value: unknown): NormalizedRetry | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(
      `retry must be an object like { attempts: 3 }, got ${value === null ? 'null' : typeof value}`,
    );
  }
  const r = value as Record<string, unknown>;
  const attempts = integer('retry.attempts', r.attempts, 1);
  const baseMs = integer('retry.baseMs', r.baseMs ?? 100, 0);
  const maxMs = integer('retry.maxMs', r.maxMs ?? 30_000, 0);
  if (maxMs < baseMs)
    throw new RangeError(`retry.maxMs must be at least retry.baseMs (${baseMs}), got ${maxMs}`);
  return Object.freeze({ attempts, baseMs, maxMs });
}

/**
 * Backoff after failed attempt `attempt` (1-based): exponential, capped, with full jitter
 * (a uniform draw in [0, cap)), so retries of jobs that failed together spread out.
 */
export function backoffDelay(
  retry: NormalizedRetry,
  attempt: number,
  random: () => number,
): number {
  const cap = Math.min(retry.maxMs, retry.baseMs * 2 ** (attempt - 1));
  const draw = random();
  if (!(draw >= 0 && draw < 1))
    throw new RangeError(`random() must return a number in [0, 1), got ${draw}`);
  return Math.floor(draw * cap);
}
