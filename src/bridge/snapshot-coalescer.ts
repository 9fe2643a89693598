import { ClosedError } from '../errors.js';
import { after, type Timer } from '../internal/timer.js';

/**
 * Builds snapshots at most once per `intervalMs`, whoever asks: a request within the
 * interval after the last build waits for the next one, which every waiter shares. A
 * client that asks a thousand times a second costs the host a few builds, and holds at
 * most one pending timer.
 */
export class SnapshotCoalescer<S> {
  readonly #build: () => S;
  readonly #intervalMs: number;
  #lastAt = Number.NEGATIVE_INFINITY;
  #waiters: { resolve(snapshot: S): void; reject(error: unknown): void }[] = [];
  #timer: Timer | undefined;
  #closed = false;

  constructor(build: () => S, intervalMs: number) {
    this.#build = build;
    this.#intervalMs = intervalMs;
  }

  /** Builds since the coalescer began. */
  builds = 0;

  /** The next snapshot: now if none was built within the interval, else at the interval's end. */
  next(): Promise<S> {
    if (this.#closed) return Promise.reject(new ClosedError('The bridge connection is closed'));
    const wait = this.#lastAt + this.#intervalMs - Date.now();
    if (wait <= 0 && this.#timer === undefined) {
      try {
        return Promise.resolve(this.#take());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const promise = new Promise<S>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#timer ??= after(Math.max(0, wait), () => this.#flush());
    return promise;
  }

  /** Rejects the waiters with `ClosedError` and clears the timer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer?.clear();
    this.#timer = undefined;
    const error = new ClosedError('The bridge connection is closed');
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  #take(): S {
    this.#lastAt = Date.now();
    this.builds++;
    return this.#build();
  }

  #flush(): void {
    this.#timer = undefined;
    const waiters = this.#waiters.splice(0);
    try {
      const snapshot = this.#take();
      for (const waiter of waiters) waiter.resolve(snapshot);
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
    }
  }
}
