import type { AbortOptions } from '../abort.js';
import { callable } from '../validate.js';
import { lockIdentity, type LockOptions } from './lock-options.js';
import { lockdep } from './lockdep.js';
import type { Permit } from './permit.js';
import { abortOptions, semaphoreOf, type Semaphore } from './semaphore.js';

/**
 * A mutual-exclusion lock with FIFO waiters. Not re-entrant: acquiring it again in the
 * flow that holds it waits forever (lockdep, when enabled, reports that).
 */
export class Mutex {
  readonly #sem: Semaphore;

  /**
   * @param options `name` and `rank`; unknown keys and `null` values are refused.
   * @throws TypeError/RangeError naming `options`, `options.name` or `options.rank` when invalid.
   */
  constructor(options?: LockOptions) {
    this.#sem = semaphoreOf(1, lockIdentity('options', options, 'Mutex', lockdep.enabled));
  }

  /** Lock name: the `name` option, or `'Mutex'`. */
  get name(): string {
    return this.#sem.name;
  }

  /** Lock rank, if given (for lockdep). */
  get rank(): number | undefined {
    return this.#sem.rank;
  }

  /** Whether someone holds the lock. */
  get locked(): boolean {
    return this.#sem.available === 0;
  }

  /** Number of callers waiting in `acquire`. */
  get waiting(): number {
    return this.#sem.waiting;
  }

  /** Takes the lock if it is free and nobody waits; never waits. */
  tryAcquire(): Permit | undefined {
    return this.#sem.tryAcquire(1);
  }

  /**
   * Waits for the lock (FIFO). Rejects with an abort error if the signal aborts while
   * waiting or in the tick the lock is granted; the lock is not kept in that case.
   * Under lockdep the lock is held by the flow that awaits the returned promise.
   * @throws TypeError (as a rejection) for bad `options`, before any state is touched.
   */
  acquire(options: AbortOptions = {}): Promise<Permit> {
    return this.#sem.acquire(1, options);
  }

  /**
   * Runs `fn` holding the lock; releases it when `fn` settles.
   * @throws TypeError (as a rejection) for a bad `fn` or `options`, before any state is touched.
   */
  run<T>(fn: () => T | PromiseLike<T>, options: AbortOptions = {}): Promise<T> {
    let signal: AbortSignal | undefined;
    try {
      callable('fn', fn);
      signal = abortOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#sem.run(fn, { signal });
  }
}
