/**
 * The one way workbus arms a timer for a duration a user gave.
 *
 * Node's timers treat any delay at or above 2^31 ms (about 24.8 days) as 1 ms, so a
 * grace, timeout or backoff that long would fire at once. `after` chains timers of at
 * most {@link MAX_TIMER_STEP_MS} instead, so every duration up to
 * {@link MAX_DURATION_MS} means what it says. Fractional milliseconds are passed to Node
 * as they are. A lint rule forbids `setTimeout` elsewhere in `src/`.
 * Internal: not part of the public surface.
 */

/** The longest single step Node's timers honour. */
export const MAX_TIMER_STEP_MS = 2 ** 31 - 1;

/** The longest duration any workbus option accepts (about 285,000 years). */
export const MAX_DURATION_MS = Number.MAX_SAFE_INTEGER;

/** An armed timer. `clear()` is idempotent and safe after it fired. */
export interface Timer {
  clear(): void;
}

class ChainedTimer implements Timer {
  #handle: ReturnType<typeof setTimeout> | undefined;
  #dueAt: number;
  readonly #fn: () => void;
  readonly #unref: boolean;

  constructor(ms: number, fn: () => void, unref: boolean) {
    this.#fn = fn;
    this.#unref = unref;
    this.#dueAt = Date.now() + ms;
    this.#arm(ms);
  }

  #arm(ms: number): void {
    const step = Math.min(ms, MAX_TIMER_STEP_MS);
    this.#handle = setTimeout(() => {
      // Measured against the clock, not a counter: a step may fire late under load.
      const left = this.#dueAt - Date.now();
      if (ms > MAX_TIMER_STEP_MS && left > 0) {
        this.#arm(left);
        return;
      }
      this.#handle = undefined;
      this.#fn();
    }, step);
    if (this.#unref) this.#handle.unref();
  }

  clear(): void {
    if (this.#handle === undefined) return;
    clearTimeout(this.#handle);
    this.#handle = undefined;
  }
}

/**
 * Calls `fn` once, `ms` milliseconds from now (any finite `ms` from 0 to
 * {@link MAX_DURATION_MS}; callers validate it first). With `unref`, the timer does not
 * keep the process alive.
 */
export function after(ms: number, fn: () => void, options?: { readonly unref?: boolean }): Timer {
  return new ChainedTimer(ms, fn, options?.unref ?? false);
}
