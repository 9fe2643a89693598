/**
 * A Database's health as counters: what a dashboard shows and an operator asks first
 * ("is the store slow, or waiting on another process?").
 */

/** A slow call, as {@link StoreHealth.lastSlow} names it. */
export interface SlowCall {
  /** `get`, `all`, `run`, `transaction` or `batch`. */
  readonly method: string;
  /** From the call to its answer, waits included, in milliseconds. */
  readonly ms: number;
  /** When it was answered, in ms since the epoch. */
  readonly at: number;
}

/** Counters since the database was opened: plain, frozen data. */
export interface StoreHealth {
  /** Calls answered (resolved or rejected). */
  readonly calls: number;
  /** Calls that rejected, aborts excluded. */
  readonly failed: number;
  /** Calls made and not answered yet (waiting their turn or running). */
  readonly pending: number;
  /** The `slowCallMs` option: a call this long or longer is slow. */
  readonly slowCallMs: number;
  readonly slowCalls: number;
  readonly slowestMs: number;
  readonly lastSlow: SlowCall | undefined;
  /** Times a call found another connection holding the write lock and waited to retry. */
  readonly busyRetries: number;
  /** Calls that gave up with `StoreBusyError` after `busyTimeoutMs`. */
  readonly busyTimeouts: number;
}

/** @internal The counters behind {@link StoreHealth}; the Database feeds them. */
export class HealthMeter {
  readonly #slowCallMs: number;
  #calls = 0;
  #failed = 0;
  #pending = 0;
  #slowCalls = 0;
  #slowestMs = 0;
  #lastSlow: SlowCall | undefined;
  #busyRetries = 0;
  #busyTimeouts = 0;

  constructor(slowCallMs: number) {
    this.#slowCallMs = slowCallMs;
  }

  /** Counts `call` from now to its answer; resolves and rejects as it does. */
  async measure<T>(method: string, call: () => Promise<T>, aborted: () => boolean): Promise<T> {
    const started = performance.now();
    this.#pending++;
    try {
      return await call();
    } catch (error) {
      if (!aborted()) this.#failed++;
      throw error;
    } finally {
      this.#pending--;
      this.#calls++;
      const ms = performance.now() - started;
      if (ms > this.#slowestMs) this.#slowestMs = ms;
      if (ms >= this.#slowCallMs) {
        this.#slowCalls++;
        this.#lastSlow = Object.freeze({ method, ms, at: Date.now() });
      }
    }
  }

  busyRetry(): void {
    this.#busyRetries++;
  }

  busyTimeout(): void {
    this.#busyTimeouts++;
  }

  view(): StoreHealth {
    return Object.freeze({
      calls: this.#calls,
      failed: this.#failed,
      pending: this.#pending,
      slowCallMs: this.#slowCallMs,
      slowCalls: this.#slowCalls,
      slowestMs: this.#slowestMs,
      lastSlow: this.#lastSlow,
      busyRetries: this.#busyRetries,
      busyTimeouts: this.#busyTimeouts,
    });
  }
}
