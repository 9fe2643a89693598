import type { AbortOptions } from '../abort.js';
import { lockIdentity, type LockOptions } from './lock-options.js';
import type { Permit } from './permit.js';
import { Semaphore } from './semaphore.js';

/**
 * A mutual-exclusion lock with FIFO waiters. Not re-entrant: acquiring it again in the
 * flow that holds it waits forever (lockdep, when enabled, reports that).
 */
export class Mutex {
  readonly #sem: Semaphore;

  /** @throws TypeError/RangeError naming `name` or `rank` when invalid. */
  constructor(options: LockOptions = {}) {
    this.#sem = new Semaphore(1, lockIdentity(options, 'Mutex'));
  }

  /** Lock class name (for lockdep). */
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
   */
  acquire(options: AbortOptions = {}): Promise<Permit> {
    return this.#sem.acquire(1, options);
  }

  /** Runs `fn` holding the lock; releases it when `fn` settles. */
  run<T>(fn: () => T | PromiseLike<T>, options: AbortOptions = {}): Promise<T> {
    return this.#sem.run(fn, options);
  }
}
