import { callable, duration, integer, options } from '../validate.js';

/** Retry options with the defaults filled in. @internal */
export interface NormalizedRetry {
  readonly attempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly retryIf: ((error: unknown, attempt: number) => boolean) | undefined;
}

/** Validates a `retry` option once, filling in the defaults. @internal */
export function normalizeRetry(field: string, value: unknown): NormalizedRetry | undefined {
  if (value === undefined) return undefined;
  const r = options(field, value, ['attempts', 'baseMs', 'maxMs', 'retryIf']);
  const attempts = integer(`${field}.attempts`, r.attempts, 1);
  const baseMs = duration(`${field}.baseMs`, r.baseMs ?? 100);
  const maxMs = duration(`${field}.maxMs`, r.maxMs ?? 30_000);
  if (maxMs < baseMs)
    throw new RangeError(
      `${field}.maxMs must be at least ${field}.baseMs (${baseMs}), got ${maxMs}`,
    );
  const retryIf =
    r.retryIf === undefined
      ? undefined
      : callable(`${field}.retryIf`, r.retryIf as (error: unknown, attempt: number) => boolean);
  return Object.freeze({ attempts, baseMs, maxMs, retryIf });
}

/**
 * Backoff after failed attempt `attempt` (1-based): exponential, capped, with full jitter
 * (a uniform draw in [0, cap)), so retries of jobs that failed together spread out.
 * @internal
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
