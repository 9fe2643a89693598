import { fileURLToPath } from 'node:url';
import { integer, optionalName, options } from '../validate.js';

/** Identity of a lock, used by lock-order checking (lockdep). */
export interface LockOptions {
  /**
   * The lock's class name. Locks that share a name share a class in the lock-order
   * graph (as two keys of one `KeyedMutex` do). Unnamed, a lock's class is the place in
   * the code that constructed it (as Linux's lockdep has a class per lock init site).
   * @default the primitive's kind, e.g. `'Semaphore'` (the class is then the construction site)
   */
  readonly name?: string | undefined;
  /** Optional rank: taking a lower rank while holding a higher one is an order error. */
  readonly rank?: number | undefined;
}

const LOCK_OPTION_KEYS: readonly string[] = ['name', 'rank'];

/** What lockdep knows of a lock. Internal: built only by the lock constructors. */
export interface LockIdentity {
  /** The given name, or the primitive's kind. */
  readonly name: string;
  readonly rank: number | undefined;
  /** The lock class: the given name, else the construction site, else a unique `Kind#n`. */
  readonly cls: string;
  /** Set for the per-key locks of a KeyedMutex: the instance is the (owner, key) pair. */
  readonly keyOf?: { readonly owner: object; readonly key: unknown } | undefined;
}

/** This directory: frames in it are the library's own, not the user's construction site. */
const SYNC_DIR = fileURLToPath(new URL('.', import.meta.url));
const SYNC_URL = new URL('.', import.meta.url).href;
let unnamed = 0;

/**
 * Validates a lock's options (`field` as the user wrote it) and derives its identity.
 * `traced` says whether lockdep is on: only then is the construction site captured (a
 * stack trace per lock is too dear otherwise), and an unnamed lock built while it is off
 * gets a class of its own, which can never form a false cycle.
 * @throws TypeError/RangeError naming the field.
 */
export function lockIdentity(
  field: string,
  value: unknown,
  kind: string,
  traced: boolean,
): LockIdentity {
  const record = options(field, value === undefined ? {} : value, LOCK_OPTION_KEYS);
  const given = optionalName(`${field}.name`, record.name);
  const rank = record.rank === undefined ? undefined : integer(`${field}.rank`, record.rank, 0);
  const site = given === undefined && traced ? constructionSite() : undefined;
  const cls = given ?? (site === undefined ? `${kind}#${++unnamed}` : `${kind} at ${site}`);
  return { name: given ?? kind, rank, cls };
}

/** `file:line:column` of the first caller outside `src/sync`, if the stack shows one. */
function constructionSite(): string | undefined {
  const lines = (new Error().stack ?? '').split('\n').slice(1);
  for (const line of lines) {
    if (line.includes(SYNC_DIR) || line.includes(SYNC_URL)) continue;
    const at = /\(([^()]+)\)\s*$/.exec(line)?.[1] ?? /^\s*at (.+)$/.exec(line)?.[1];
    if (at !== undefined) return at;
  }
  return undefined;
}
