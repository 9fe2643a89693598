import { lockIdentity, type LockOptions } from './lock-options.js';
import { lockdep } from './lockdep.js';
import { KeyedLocks } from './keyed-semaphore.js';

/**
 * One mutex per key, created on first use and deleted as soon as nobody holds or
 * waits for it, so memory follows the keys in use, not every key ever seen.
 *
 * Under lockdep all keys share one lock class (the `name`, or the construction site),
 * and keys nested in one flow get an order of their own: `a` then `b` in one flow and
 * `b` then `a` in another is reported, while always nesting keys in sorted order is fine.
 */
export class KeyedMutex<K = string> extends KeyedLocks<K> {
  /**
   * @param options `name` and `rank`; unknown keys and `null` values are refused.
   * @throws TypeError/RangeError naming `options`, `options.name` or `options.rank` when invalid.
   */
  constructor(options?: LockOptions) {
    super(lockIdentity('options', options, 'KeyedMutex', lockdep.enabled), 1);
  }

  /** Whether `key` is held. */
  isLocked(key: K): boolean {
    return this.available(key) === 0;
  }
}
