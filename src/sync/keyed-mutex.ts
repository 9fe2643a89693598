import type { AbortOptions } from '../abort.js';
import { callable } from '../validate.js';
import { runHeld } from './acquisition.js';
import { lockIdentity, type LockIdentity, type LockOptions } from './lock-options.js';
import { attributed, lockdep } from './lockdep.js';
import { Grant, type Permit } from './permit.js';
import { abortOptions, semaphoreOf, startAcquisition, type Semaphore } from './semaphore.js';

interface Entry {
  readonly lock: Semaphore;
  /** Holders plus waiters; the entry is deleted when it drops to 0. */
  refs: number;
}

/**
 * One mutex per key, created on first use and deleted as soon as nobody holds or
 * waits for it, so memory follows the keys in use, not every key ever seen.
 *
 * Under lockdep all keys share one lock class (the `name`, or the construction site),
 * and keys nested in one flow get an order of their own: `a` then `b` in one flow and
 * `b` then `a` in another is reported, while always nesting keys in sorted order is fine.
 */
export class KeyedMutex<K = string> {
  readonly #id: LockIdentity;
  readonly #entries = new Map<K, Entry>();

  /**
   * @param options `name` and `rank`; unknown keys and `null` values are refused.
   * @throws TypeError/RangeError naming `options`, `options.name` or `options.rank` when invalid.
   */
  constructor(options?: LockOptions) {
    this.#id = lockIdentity('options', options, 'KeyedMutex', lockdep.enabled);
  }

  /** Lock name: the `name` option, or `'KeyedMutex'`. */
  get name(): string {
    return this.#id.name;
  }

  /** Lock rank, if given (for lockdep). */
  get rank(): number | undefined {
    return this.#id.rank;
  }

  /** Number of keys currently held or waited for. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether `key` is held. */
  isLocked(key: K): boolean {
    return this.#entries.get(key)?.lock.available === 0;
  }

  /** Takes the lock for `key` if it is free and nobody waits for it; never waits. */
  tryAcquire(key: K): Permit | undefined {
    const entry = this.#ref(key);
    const inner = entry.lock.tryAcquire(1);
    if (!inner) {
      this.#unref(key, entry);
      return undefined;
    }
    return this.#wrap(key, entry, inner);
  }

  /**
   * Waits for the lock of `key` (FIFO per key). Abort semantics as
   * {@link Semaphore.acquire}; an aborted waiter frees the entry if it was the last user.
   * Under lockdep the lock is held by the flow that awaits the returned promise.
   * @throws TypeError (as a rejection) for bad `options`, before any state is touched.
   */
  acquire(key: K, options: AbortOptions = {}): Promise<Permit> {
    let signal: AbortSignal | undefined;
    try {
      signal = abortOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const entry = this.#ref(key);
    const acquisition = startAcquisition(entry.lock, 1, signal);
    const wrap = (inner: Permit): Permit => this.#wrap(key, entry, inner);
    const unref = (): void => this.#unref(key, entry);
    if (acquisition.entry !== undefined) {
      return attributed(acquisition.entry, acquisition.permit, wrap, unref);
    }
    return acquisition.permit.then(wrap, (error: unknown) => {
      unref();
      throw error;
    });
  }

  /**
   * Runs `fn` holding the lock of `key`; releases it when `fn` settles.
   * @throws TypeError (as a rejection) for a bad `fn` or `options`, before any state is touched.
   */
  run<T>(key: K, fn: () => T | PromiseLike<T>, options: AbortOptions = {}): Promise<T> {
    let signal: AbortSignal | undefined;
    try {
      callable('fn', fn);
      signal = abortOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const entry = this.#ref(key);
    return runHeld(startAcquisition(entry.lock, 1, signal), fn).finally(() =>
      this.#unref(key, entry),
    );
  }

  #ref(key: K): Entry {
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { lock: semaphoreOf(1, { ...this.#id, keyOf: { owner: this, key } }), refs: 0 };
      this.#entries.set(key, entry);
    }
    entry.refs++;
    return entry;
  }

  #unref(key: K, entry: Entry): void {
    if (--entry.refs === 0) this.#entries.delete(key);
  }

  #wrap(key: K, entry: Entry, inner: Permit): Permit {
    return new Grant(1, () => {
      inner.release();
      this.#unref(key, entry);
    });
  }
}
