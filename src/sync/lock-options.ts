import { integer, optionalName } from '../validate.js';

/** Identity of a lock, used by lock-order checking (lockdep). */
export interface LockOptions {
  /**
   * The lock's class name. Locks that share a name share a class in the lock-order
   * graph (as two keys of one `KeyedMutex` do).
   * @default the primitive's kind, e.g. `'Semaphore'`
   */
  readonly name?: string | undefined;
  /** Optional rank: taking a lower rank while holding a higher one is an order error. */
  readonly rank?: number | undefined;
}

export interface LockIdentity {
  readonly name: string;
  readonly rank: number | undefined;
}

export function lockIdentity(options: LockOptions, kind: string): LockIdentity {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${kind} options must be an object, got ${String(options)}`);
  }
  const name = optionalName('name', options.name) ?? kind;
  const rank = options.rank === undefined ? undefined : integer('rank', options.rank, 0);
  return { name, rank };
}
