import { throwIfAborted, type AbortOptions } from '../abort.js';
import { WaitList } from '../internal/wait-list.js';
import { integer, optionalSignal } from '../validate.js';
import { lockIdentity, type LockOptions } from './lock-options.js';
import { grantedLater, grantedNow, runHeld, type Acquisition } from './acquisition.js';
import { acquiredWithoutWait, acquiring, lockdep, tracked, type HeldLock } from './lockdep.js';
import { Grant, type Permit } from './permit.js';

/** Options of {@link Semaphore.run}. */
export interface SemaphoreRunOptions extends AbortOptions {
  /** Capacity the call holds while `fn` runs. @default 1 */
  readonly weight?: number | undefined;
}

/**
 * A weighted counting semaphore with strictly FIFO waiters.
 *
 * Fairness: waiters are served in arrival order and a waiter that does not fit stops
 * the line, so a large request is never starved by a stream of small ones (the same
 * rule as Go's `x/sync/semaphore`). `tryAcquire` follows it too: it fails while
 * anyone is waiting.
 */
export class Semaphore {
  /** Total capacity. */
  readonly capacity: number;
  /** Lock class name (for lockdep). */
  readonly name: string;
  /** Lock rank, if given (for lockdep). */
  readonly rank: number | undefined;
  #used = 0;
  readonly #waiters = new WaitList<number, Permit>();
  readonly #release = (weight: number): void => {
    this.#used -= weight;
    this.#dispatch();
  };
  readonly #dispatchAfterAbort = (): void => this.#dispatch();

  /**
   * @param capacity a positive integer.
   * @throws TypeError/RangeError naming `capacity`, `name` or `rank` when invalid.
   */
  constructor(capacity: number, options: LockOptions = {}) {
    this.capacity = integer('capacity', capacity, 1);
    const id = lockIdentity(options, 'Semaphore');
    this.name = id.name;
    this.rank = id.rank;
  }

  /** Capacity not currently held. */
  get available(): number {
    return this.capacity - this.#used;
  }

  /** Number of callers waiting in `acquire`. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Takes `weight` at once if it is free and nobody is waiting; never waits.
   * @returns the permit, or `undefined` if it would have had to wait.
   * @throws RangeError if `weight` is not an integer from 1 to `capacity`.
   */
  tryAcquire(weight = 1): Permit | undefined {
    this.#checkWeight(weight);
    const permit = this.#tryTake(weight);
    if (permit === undefined || !lockdep.enabled) return permit;
    return tracked(permit, acquiredWithoutWait(this, this.name, this.rank));
  }

  /**
   * Waits until `weight` is free and every earlier waiter has been served, then takes it.
   * If the signal aborts while waiting, or in the same tick the permit is granted, the
   * capacity is given back and the call rejects with an abort error.
   * @throws RangeError (as a rejection) if `weight` is not an integer from 1 to `capacity`.
   */
  acquire(weight = 1, options: AbortOptions = {}): Promise<Permit> {
    return this.#acquire(weight, options, true).permit;
  }

  /**
   * Runs `fn` holding `weight`, releasing it when `fn` settles (even if it throws).
   * Waits as {@link Semaphore.acquire} does; rejects with whatever `fn` rejects with.
   * Under lockdep the lock is held by `fn`'s flow only (see `lockdep`).
   */
  run<T>(fn: () => T | PromiseLike<T>, options: SemaphoreRunOptions = {}): Promise<T> {
    return runHeld(this.#acquire(options.weight ?? 1, options, false), fn);
  }

  #acquire(weight: number, options: AbortOptions, enter: boolean): Acquisition {
    let signal: AbortSignal | undefined;
    let entry: HeldLock | undefined;
    try {
      this.#checkWeight(weight);
      signal = optionalSignal('options.signal', options.signal);
      throwIfAborted(signal);
      // A semaphore of one is a mutex: taking it again in the same flow never returns.
      if (lockdep.enabled) {
        entry = acquiring(this, this.name, this.rank, this.capacity === 1, enter);
      }
    } catch (error) {
      return { permit: Promise.reject(error), entry: undefined };
    }
    const permit = this.#tryTake(weight);
    if (permit) return { permit: grantedNow(permit, entry), entry };
    const parked = this.#waiters.park(weight, signal, this.#dispatchAfterAbort);
    return { permit: grantedLater(parked, signal, entry), entry };
  }

  #tryTake(weight: number): Permit | undefined {
    if (this.#waiters.size > 0 || this.capacity - this.#used < weight) return undefined;
    this.#used += weight;
    return new Grant(weight, this.#release);
  }

  #dispatch(): void {
    for (
      let w = this.#waiters.peek();
      w && this.capacity - this.#used >= w.data;
      w = this.#waiters.peek()
    ) {
      this.#used += w.data;
      this.#waiters.grant(w, new Grant(w.data, this.#release));
    }
  }

  #checkWeight(weight: number): void {
    integer('weight', weight, 1, this.capacity);
  }
}
