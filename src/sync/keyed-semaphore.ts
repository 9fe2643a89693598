import type { AbortOptions } from '../abort.js';
import { callable, integer, options as checkOptions } from '../validate.js';
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
 * A lock per key, each letting `limit` holders in, created on first use and deleted as
 * soon as nobody holds or waits for it, so memory follows the keys in use, not every
 * key ever seen. The engine of {@link KeyedMutex} (limit 1) and {@link KeyedSemaphore}.
 *
 * Under lockdep all keys share one lock class (the `name`, or the construction site),
 * and keys nested in one flow get an order of their own: `a` then `b` in one flow and
 * `b` then `a` in another is reported, while always nesting keys in sorted order is fine.
 * Not exported from the package's entry point: use one of the two.
 */
export abstract class KeyedLocks<K> {
  readonly #id: LockIdentity;
  readonly #limit: number;
  readonly #entries = new Map<K, Entry>();

  protected constructor(id: LockIdentity, limit: number) {
    this.#id = id;
    this.#limit = limit;
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

  /** Holders `key` can take now (`limit` for a key nobody uses). */
  available(key: K): number {
    return this.#entries.get(key)?.lock.available ?? this.#limit;
  }

  /** Takes a place for `key` if one is free and nobody waits for it; never waits. */
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
      entry = {
        lock: semaphoreOf(this.#limit, { ...this.#id, keyOf: { owner: this, key } }),
        refs: 0,
      };
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

/** Options of {@link KeyedSemaphore}. */
export interface KeyedSemaphoreOptions extends LockOptions {
  /** Holders one key lets in at once. */
  readonly limit: number;
}

/**
 * A semaphore per key: at most `limit` holders of each key at once, waiters FIFO per
 * key, keys independent of each other (a full key never delays another). Politeness per
 * host is the use it was built for: at most two requests to one host, any number of hosts.
 *
 * @example
 * ```ts
 * const perHost = new KeyedSemaphore({ limit: 2, name: 'fetch.host' });
 * const body = await perHost.run(new URL(url).hostname, () => download(url, signal), { signal });
 * ```
 */
export class KeyedSemaphore<K = string> extends KeyedLocks<K> {
  /**
   * @param options `limit` (required), `name` and `rank`; unknown keys and `null` values are refused.
   * @throws TypeError/RangeError naming the option when invalid.
   */
  constructor(options: KeyedSemaphoreOptions) {
    const given = checkOptions('options', options, ['limit', 'name', 'rank']);
    const limit = integer('options.limit', given['limit'], 1);
    const lock = { name: given['name'], rank: given['rank'] };
    super(lockIdentity('options', lock, 'KeyedSemaphore', lockdep.enabled), limit);
  }
}
