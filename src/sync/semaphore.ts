import { throwIfAborted, type AbortOptions } from '../abort.js';
import { WaitList } from '../internal/wait-list.js';
import { callable, integer, optionalSignal, options } from '../validate.js';
import { lockIdentity, type LockIdentity, type LockOptions } from './lock-options.js';
import { grantedLater, handedOut, runHeld, type Acquisition } from './acquisition.js';
import { acquiredWithoutWait, acquiring, lockdep, type HeldLock } from './lockdep.js';
import { Grant, type Permit } from './permit.js';

/** Options of {@link Semaphore.run}. */
export interface SemaphoreRunOptions extends AbortOptions {
  /** Capacity the call holds while `fn` runs. @default 1 */
  readonly weight?: number | undefined;
}

const ABORT_KEYS: readonly string[] = ['signal'];
const RUN_KEYS: readonly string[] = ['weight', 'signal'];

/**
 * Internal (Mutex, KeyedMutex): a Semaphore whose identity the wrapping lock derived, so
 * the construction site lockdep records is the user's `new Mutex()`, not this file.
 */
export let semaphoreOf: (capacity: number, id: LockIdentity) => Semaphore;

/** Internal (KeyedMutex, which wraps the permit): starts an acquisition of validated arguments. */
export let startAcquisition: (
  semaphore: Semaphore,
  weight: number,
  signal: AbortSignal | undefined,
) => Acquisition;

/**
 * A weighted counting semaphore with strictly FIFO waiters.
 *
 * Fairness: waiters are served in arrival order and a waiter that does not fit stops
 * the line, so a large request is never starved by a stream of small ones (the same
 * rule as Go's `x/sync/semaphore`). `tryAcquire` follows it too: it fails while
 * anyone is waiting.
 */
export class Semaphore {
  static #preset: LockIdentity | undefined;

  static {
    semaphoreOf = (capacity, id) => {
      Semaphore.#preset = id;
      try {
        return new Semaphore(capacity);
      } finally {
        Semaphore.#preset = undefined;
      }
    };
    startAcquisition = (semaphore, weight, signal) => semaphore.#acquire(weight, signal);
  }

  /** Total capacity. */
  readonly capacity: number;
  readonly #id: LockIdentity;
  #used = 0;
  readonly #waiters = new WaitList<number, Permit>();
  readonly #release = (weight: number): void => {
    this.#used -= weight;
    this.#dispatch();
  };
  readonly #dispatchAfterAbort = (): void => this.#dispatch();

  /**
   * @param capacity a positive integer.
   * @param options `name` and `rank`; unknown keys and `null` values are refused.
   * @throws TypeError/RangeError naming `capacity`, `options`, `options.name` or `options.rank` when invalid.
   */
  constructor(capacity: number, options?: LockOptions) {
    this.capacity = integer('capacity', capacity, 1);
    this.#id = Semaphore.#preset ?? lockIdentity('options', options, 'Semaphore', lockdep.enabled);
  }

  /** Lock name: the `name` option, or `'Semaphore'`. */
  get name(): string {
    return this.#id.name;
  }

  /** Lock rank, if given (for lockdep). */
  get rank(): number | undefined {
    return this.#id.rank;
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
    this.#checkWeight('weight', weight);
    const permit = this.#tryTake(weight);
    if (permit === undefined || !lockdep.enabled) return permit;
    return acquiredWithoutWait(this, this.#id, permit);
  }

  /**
   * Waits until `weight` is free and every earlier waiter has been served, then takes it.
   * If the signal aborts while waiting, or in the same tick the permit is granted, the
   * capacity is given back and the call rejects with an abort error.
   * Under lockdep the lock is held by the flow that awaits the returned promise.
   * @throws TypeError/RangeError (as a rejection) for a bad `weight` or `options`, before any state is touched.
   */
  acquire(weight = 1, options: AbortOptions = {}): Promise<Permit> {
    let signal: AbortSignal | undefined;
    try {
      this.#checkWeight('weight', weight);
      signal = abortOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return handedOut(this.#acquire(weight, signal));
  }

  /**
   * Runs `fn` holding `weight`, releasing it when `fn` settles (even if it throws).
   * Waits as {@link Semaphore.acquire} does; rejects with whatever `fn` rejects with.
   * Under lockdep the lock is held by `fn`'s flow only (see `lockdep`).
   * @throws TypeError/RangeError (as a rejection) for a bad `fn` or `options`, before any state is touched.
   */
  run<T>(fn: () => T | PromiseLike<T>, options: SemaphoreRunOptions = {}): Promise<T> {
    let weight: number;
    let signal: AbortSignal | undefined;
    try {
      callable('fn', fn);
      const record = runOptions(options);
      weight = record.weight === undefined ? 1 : this.#checkWeight('options.weight', record.weight);
      signal = optionalSignal('options.signal', record.signal);
    } catch (error) {
      return Promise.reject(error);
    }
    return runHeld(this.#acquire(weight, signal), fn);
  }

  #acquire(weight: number, signal: AbortSignal | undefined): Acquisition {
    let entry: HeldLock | undefined;
    try {
      throwIfAborted(signal);
      // A semaphore of one is a mutex: taking it again in the same flow never returns.
      if (lockdep.enabled) entry = acquiring(this, this.#id, this.capacity === 1);
    } catch (error) {
      return { permit: Promise.reject(error), entry: undefined };
    }
    const permit = this.#tryTake(weight);
    if (permit) return { permit: Promise.resolve(permit), entry };
    const parked = this.#waiters.park(weight, signal, this.#dispatchAfterAbort);
    return { permit: grantedLater(parked, signal), entry };
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

  #checkWeight(field: string, weight: unknown): number {
    return integer(field, weight, 1, this.capacity);
  }
}

/** The signal of an `{ signal }` options object, validated (unknown keys, `null`, type). */
export function abortOptions(value: unknown): AbortSignal | undefined {
  return optionalSignal('options.signal', options('options', value, ABORT_KEYS).signal);
}

function runOptions(value: unknown): Record<string, unknown> {
  return options('options', value, RUN_KEYS);
}
