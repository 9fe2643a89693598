import { throwIfAborted, type AbortOptions } from '../abort.js';
import { optionalSignal } from '../validate.js';
import { lockIdentity, type LockIdentity, type LockOptions } from './lock-options.js';
import { Mutex } from './mutex.js';
import { Grant, type Permit } from './permit.js';

interface Entry {
  readonly mutex: Mutex;
  /** Holders plus waiters; the entry is deleted when it drops to 0. */
  refs: number;
}

/**
 * One mutex per key, created on first use and deleted as soon as nobody holds or
 * waits for it, so memory follows the keys in use, not every key ever seen. All keys
 * share one lock class (`name`) for lockdep.
 */
export class KeyedMutex<K = string> {
  readonly #id: LockIdentity;
  readonly #entries = new Map<K, Entry>();

  /** @throws TypeError/RangeError naming `name` or `rank` when invalid. */
  constructor(options: LockOptions = {}) {
    this.#id = lockIdentity(options, 'KeyedMutex');
  }

  /** Lock class name (for lockdep). */
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
    return this.#entries.get(key)?.mutex.locked ?? false;
  }

  /** Takes the lock for `key` if it is free and nobody waits for it; never waits. */
  tryAcquire(key: K): Permit | undefined {
    const entry = this.#ref(key);
    const inner = entry.mutex.tryAcquire();
    if (!inner) {
      this.#unref(key, entry);
      return undefined;
    }
    return this.#wrap(key, entry, inner);
  }

  /**
   * Waits for the lock of `key` (FIFO per key). Abort semantics as
   * {@link Semaphore.acquire}; an aborted waiter frees the entry if it was the last user.
   */
  async acquire(key: K, options: AbortOptions = {}): Promise<Permit> {
    const signal = optionalSignal('options.signal', options.signal);
    throwIfAborted(signal);
    const entry = this.#ref(key);
    try {
      return this.#wrap(key, entry, await entry.mutex.acquire({ signal }));
    } catch (error) {
      this.#unref(key, entry);
      throw error;
    }
  }

  /** Runs `fn` holding the lock of `key`; releases it when `fn` settles. */
  async run<T>(key: K, fn: () => T | PromiseLike<T>, options: AbortOptions = {}): Promise<T> {
    const signal = optionalSignal('options.signal', options.signal);
    throwIfAborted(signal);
    const entry = this.#ref(key);
    try {
      return await entry.mutex.run(fn, { signal });
    } finally {
      this.#unref(key, entry);
    }
  }

  #ref(key: K): Entry {
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { mutex: new Mutex(this.#id), refs: 0 };
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
