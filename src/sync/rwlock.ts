import { throwIfAborted, type AbortOptions } from '../abort.js';
import { WaitList } from '../internal/wait-list.js';
import { callable } from '../validate.js';
import { lockIdentity, type LockIdentity, type LockOptions } from './lock-options.js';
import { grantedLater, handedOut, runHeld, type Acquisition } from './acquisition.js';
import { acquiredWithoutWait, acquiring, lockdep, type HeldLock } from './lockdep.js';
import { Grant, type Permit } from './permit.js';
import { abortOptions } from './semaphore.js';

type Mode = 'read' | 'write';

/**
 * A readers-writer lock: many readers or one writer.
 *
 * Fairness: a waiting writer blocks new readers (writer preference), so a steady
 * stream of readers cannot starve a writer. Beyond that, waiters are served in
 * arrival order, and a run of readers at the front of the line is admitted together,
 * so writers cannot starve readers either.
 */
export class RWLock {
  readonly #id: LockIdentity;
  #readers = 0;
  #writing = false;
  readonly #waiters = new WaitList<Mode, Permit>();
  readonly #releaseRead = (): void => {
    this.#readers--;
    this.#dispatch();
  };
  readonly #releaseWrite = (): void => {
    this.#writing = false;
    this.#dispatch();
  };
  readonly #dispatchAfterAbort = (): void => this.#dispatch();

  /**
   * @param options `name` and `rank`; unknown keys and `null` values are refused.
   * @throws TypeError/RangeError naming `options`, `options.name` or `options.rank` when invalid.
   */
  constructor(options?: LockOptions) {
    this.#id = lockIdentity('options', options, 'RWLock', lockdep.enabled);
  }

  /** Lock name: the `name` option, or `'RWLock'`. */
  get name(): string {
    return this.#id.name;
  }

  /** Lock rank, if given (for lockdep). */
  get rank(): number | undefined {
    return this.#id.rank;
  }

  /** Number of readers holding the lock. */
  get readers(): number {
    return this.#readers;
  }

  /** Whether a writer holds the lock. */
  get writing(): boolean {
    return this.#writing;
  }

  /** Number of callers waiting (readers and writers). */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Takes a read lock if no writer holds or waits for the lock; never waits. */
  tryAcquireRead(): Permit | undefined {
    return this.#tryAcquire('read');
  }

  /** Takes the write lock if nobody holds or waits for the lock; never waits. */
  tryAcquireWrite(): Permit | undefined {
    return this.#tryAcquire('write');
  }

  #tryAcquire(mode: Mode): Permit | undefined {
    const permit = this.#tryTake(mode);
    if (permit === undefined || !lockdep.enabled) return permit;
    return acquiredWithoutWait(this, this.#id, permit);
  }

  /**
   * Waits for a read lock: until no writer holds the lock and every earlier waiter has
   * been served. Abort semantics as {@link Semaphore.acquire}; under lockdep the lock is
   * held by the flow that awaits the returned promise.
   * @throws TypeError (as a rejection) for bad `options`, before any state is touched.
   */
  acquireRead(options: AbortOptions = {}): Promise<Permit> {
    return this.#acquireBare('read', options);
  }

  /**
   * Waits for the write lock: until nobody else holds it and every earlier waiter has
   * been served. As {@link RWLock.acquireRead} otherwise.
   */
  acquireWrite(options: AbortOptions = {}): Promise<Permit> {
    return this.#acquireBare('write', options);
  }

  /**
   * Runs `fn` holding a read lock; releases it when `fn` settles.
   * @throws TypeError (as a rejection) for a bad `fn` or `options`, before any state is touched.
   */
  runRead<T>(fn: () => T | PromiseLike<T>, options: AbortOptions = {}): Promise<T> {
    return this.#run('read', fn, options);
  }

  /** Runs `fn` holding the write lock; releases it when `fn` settles. As {@link RWLock.runRead} otherwise. */
  runWrite<T>(fn: () => T | PromiseLike<T>, options: AbortOptions = {}): Promise<T> {
    return this.#run('write', fn, options);
  }

  #acquireBare(mode: Mode, options: unknown): Promise<Permit> {
    let signal: AbortSignal | undefined;
    try {
      signal = abortOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return handedOut(this.#acquire(mode, signal));
  }

  #run<T>(mode: Mode, fn: () => T | PromiseLike<T>, options: unknown): Promise<T> {
    let signal: AbortSignal | undefined;
    try {
      callable('fn', fn);
      signal = abortOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return runHeld(this.#acquire(mode, signal), fn);
  }

  #acquire(mode: Mode, signal: AbortSignal | undefined): Acquisition {
    let entry: HeldLock | undefined;
    try {
      throwIfAborted(signal);
      // Any second hold of one RWLock by one flow can deadlock: an upgrade always, a
      // nested read as soon as a writer queues between the two (writer preference).
      if (lockdep.enabled) entry = acquiring(this, this.#id, true);
    } catch (error) {
      return { permit: Promise.reject(error), entry: undefined };
    }
    const permit = this.#tryTake(mode);
    if (permit) return { permit: Promise.resolve(permit), entry };
    const parked = this.#waiters.park(mode, signal, this.#dispatchAfterAbort);
    return { permit: grantedLater(parked, signal), entry };
  }

  #fits(mode: Mode): boolean {
    return mode === 'read' ? !this.#writing : !this.#writing && this.#readers === 0;
  }

  #take(mode: Mode): Permit {
    if (mode === 'read') {
      this.#readers++;
      return new Grant(1, this.#releaseRead);
    }
    this.#writing = true;
    return new Grant(1, this.#releaseWrite);
  }

  #tryTake(mode: Mode): Permit | undefined {
    return this.#waiters.size === 0 && this.#fits(mode) ? this.#take(mode) : undefined;
  }

  #dispatch(): void {
    for (let w = this.#waiters.peek(); w && this.#fits(w.data); w = this.#waiters.peek()) {
      this.#waiters.grant(w, this.#take(w.data));
    }
  }
}
