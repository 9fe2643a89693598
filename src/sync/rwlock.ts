import { throwIfAborted, type AbortOptions } from '../abort.js';
import { WaitList } from '../internal/wait-list.js';
import { optionalSignal } from '../validate.js';
import { lockIdentity, type LockIdentity, type LockOptions } from './lock-options.js';
import { grantedLater, grantedNow, runHeld, type Acquisition } from './acquisition.js';
import { acquiredWithoutWait, acquiring, lockdep, tracked, type HeldLock } from './lockdep.js';
import { Grant, type Permit } from './permit.js';

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

  /** @throws TypeError/RangeError naming `name` or `rank` when invalid. */
  constructor(options: LockOptions = {}) {
    this.#id = lockIdentity(options, 'RWLock');
  }

  /** Lock class name (for lockdep). */
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
    return tracked(permit, acquiredWithoutWait(this, this.name, this.rank));
  }

  /**
   * Waits for a read lock: until no writer holds the lock and every earlier waiter has
   * been served. Abort semantics as {@link Semaphore.acquire}.
   */
  acquireRead(options: AbortOptions = {}): Promise<Permit> {
    return this.#acquire('read', options, true).permit;
  }

  /** Waits for the write lock: until nobody else holds it and every earlier waiter has been served. */
  acquireWrite(options: AbortOptions = {}): Promise<Permit> {
    return this.#acquire('write', options, true).permit;
  }

  /** Runs `fn` holding a read lock; releases it when `fn` settles. */
  runRead<T>(fn: () => T | PromiseLike<T>, options: AbortOptions = {}): Promise<T> {
    return runHeld(this.#acquire('read', options, false), fn);
  }

  /** Runs `fn` holding the write lock; releases it when `fn` settles. */
  runWrite<T>(fn: () => T | PromiseLike<T>, options: AbortOptions = {}): Promise<T> {
    return runHeld(this.#acquire('write', options, false), fn);
  }

  #acquire(mode: Mode, options: AbortOptions, enter: boolean): Acquisition {
    let signal: AbortSignal | undefined;
    let entry: HeldLock | undefined;
    try {
      signal = optionalSignal('options.signal', options.signal);
      throwIfAborted(signal);
      // Any second hold of one RWLock by one flow can deadlock: an upgrade always, a
      // nested read as soon as a writer queues between the two (writer preference).
      if (lockdep.enabled) entry = acquiring(this, this.name, this.rank, true, enter);
    } catch (error) {
      return { permit: Promise.reject(error), entry: undefined };
    }
    const permit = this.#tryTake(mode);
    if (permit) return { permit: grantedNow(permit, entry), entry };
    const parked = this.#waiters.park(mode, signal, this.#dispatchAfterAbort);
    return { permit: grantedLater(parked, signal, entry), entry };
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
