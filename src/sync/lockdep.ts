/**
 * lockdep: lock-order checking, after Linux's. Off by default (one boolean read per
 * acquisition); on with `WORKBUS_LOCKDEP=1` or `lockdep.enable()`.
 *
 * Each async flow's held locks are tracked with AsyncLocalStorage. Every acquisition
 * made while holding other locks records "held → acquired" edges between lock *names*
 * (lock classes: every key of one KeyedMutex is one class). An acquisition that would
 * close a cycle in that graph throws `LockOrderError` with the whole cycle — even if
 * this run would not have deadlocked — and so does taking a lower `rank` while holding
 * a higher one, or taking again an exclusive lock the flow already holds.
 *
 * Held lists are immutable per acquisition: a flow sees the locks taken before it
 * forked (and whether they are still held), never those its siblings took later.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { LockHeldWhileWaitingError, LockOrderError, type LockOrderEdge } from '../errors.js';
import { Grant, type Permit } from './permit.js';

/** One acquisition by one flow. */
export interface HeldLock {
  readonly lock: object;
  readonly name: string;
  readonly rank: number | undefined;
  /** `pending` until granted; `released` once released, or if the acquisition failed. */
  state: 'pending' | 'held' | 'released';
  /** The flow's held list with this acquisition last. */
  readonly within: readonly HeldLock[];
}

const storage = new AsyncLocalStorage<readonly HeldLock[]>();
/** name → (name taken while it was held → stack where that order was first seen). */
const graph = new Map<string, Map<string, string>>();
let enabled = false;

/**
 * AsyncLocalStorage starts following async flows on its first use; until then flows
 * forked earlier would share one context. Turning checking on starts it, leaving the
 * caller's context as it is.
 */
function activate(): void {
  enabled = true;
  storage.run([], noop);
}

function noop(): void {}

if (process.env.WORKBUS_LOCKDEP === '1') activate();

/** Switches and introspection for lock-order checking. */
export const lockdep = {
  /** Whether checking is on. */
  get enabled(): boolean {
    return enabled;
  },
  /** Turns checking on (for the whole process). */
  enable(): void {
    activate();
  },
  /** Turns checking off (held lists are forgotten); the order graph is kept. */
  disable(): void {
    enabled = false;
    // Stop following flows too: the storage's promise hooks would otherwise keep costing.
    storage.disable();
  },
  /** Forgets every recorded order (for tests). */
  reset(): void {
    graph.clear();
  },
  /** Names of the locks the current async flow holds, oldest first. */
  held(): string[] {
    return heldNow().map((h) => h.name);
  },
  /** Every order recorded so far. */
  edges(): LockOrderEdge[] {
    const out: LockOrderEdge[] = [];
    for (const [from, tos] of graph) {
      for (const [to, firstSeen] of tos) out.push({ from, to, firstSeen });
    }
    return out;
  },
};

function heldNow(): HeldLock[] {
  return (storage.getStore() ?? []).filter((h) => h.state === 'held');
}

/**
 * Called by a lock, synchronously in the caller's flow, before it waits. Checks the order
 * against everything the flow holds and records new edges.
 *
 * Scope: `run(fn)` passes `enter = false` and runs `fn` with {@link runHolding}, so the
 * lock is held exactly by `fn`'s flow. A bare `acquire()` cannot reach its caller's
 * continuation any other way than `enterWith` in the caller's synchronous context, so the
 * lock is then attributed to that context from the call on — including the rest of a
 * calling function's caller, when `acquire()` is the first await of an async function it
 * called. Prefer `run()` for critical sections started side by side (`Promise.all`).
 * @throws LockOrderError for a cycle, a rank inversion, or re-taking an exclusive lock.
 */
export function acquiring(
  lock: object,
  name: string,
  rank: number | undefined,
  exclusive: boolean,
  enter = true,
): HeldLock {
  const held = heldNow();
  for (const h of held) {
    if (h.lock === lock && exclusive) {
      throw new LockOrderError([{ from: name, to: name }], {
        message: `Lock "${name}" is already held by this flow; taking it again would wait forever`,
      });
    }
    if (h.rank !== undefined && rank !== undefined && rank < h.rank) {
      throw new LockOrderError([{ from: h.name, to: name }], {
        message: `Lock rank violation: "${name}" (rank ${rank}) taken while holding "${h.name}" (rank ${h.rank}); take lower ranks first`,
      });
    }
  }
  for (const h of held) if (h.name !== name) addEdge(h.name, name);
  const within: HeldLock[] = [...held];
  const entry: HeldLock = { lock, name, rank, state: 'pending', within };
  within.push(entry);
  if (enter) storage.enterWith(within);
  return entry;
}

/** Runs `fn` in a flow that holds `entry` (and what was held when it was acquired). */
export function runHolding<T>(entry: HeldLock, fn: () => T): T {
  return storage.run(entry.within, fn);
}

/**
 * Runs `fn` in a flow of its own that holds no lock: a pool job, a bus listener or a timer
 * started inside a critical section is not part of it. Off, a plain call.
 */
export function runInOwnFlow<T>(fn: () => T): T {
  return enabled ? storage.run([], fn) : fn();
}

/** Called by a lock whose non-waiting acquisition succeeded: tracked, but adds no order (it cannot deadlock). */
export function acquiredWithoutWait(
  lock: object,
  name: string,
  rank: number | undefined,
): HeldLock {
  const within: HeldLock[] = heldNow();
  const entry: HeldLock = { lock, name, rank, state: 'held', within };
  within.push(entry);
  storage.enterWith(within);
  return entry;
}

/** @throws LockHeldWhileWaitingError if the current flow holds any lock (checking on). */
export function assertNotHolding(waitingOn: string): void {
  if (!enabled) return;
  const held = heldNow();
  if (held.length > 0)
    throw new LockHeldWhileWaitingError(
      waitingOn,
      held.map((h) => h.name),
    );
}

function addEdge(from: string, to: string): void {
  let tos = graph.get(from);
  if (tos?.has(to)) return;
  const path = pathBetween(to, from);
  if (path !== undefined) {
    const here = new Error('first seen').stack ?? '';
    const cycle: LockOrderEdge[] = [{ from, to, firstSeen: here }];
    for (let i = 0; i + 1 < path.length; i++) {
      const a = path[i] as string;
      const b = path[i + 1] as string;
      cycle.push({ from: a, to: b, firstSeen: graph.get(a)?.get(b) ?? '' });
    }
    throw new LockOrderError(cycle);
  }
  if (tos === undefined) graph.set(from, (tos = new Map<string, string>()));
  tos.set(to, new Error(`"${to}" taken while holding "${from}"`).stack ?? '');
}

/** A path of lock names from `start` to `goal` in the order graph, if there is one. */
function pathBetween(start: string, goal: string): string[] | undefined {
  const previous = new Map<string, string>([[start, start]]);
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const at = queue[i] as string;
    if (at === goal) {
      const path = [goal];
      for (let step = goal; step !== start;) path.unshift((step = previous.get(step) as string));
      return path;
    }
    for (const next of graph.get(at)?.keys() ?? []) {
      if (!previous.has(next)) {
        previous.set(next, at);
        queue.push(next);
      }
    }
  }
  return undefined;
}

/** The permit handed to the caller when checking is on: marks the acquisition held, and released with it. */
export function tracked(permit: Permit, entry: HeldLock): Permit {
  entry.state = 'held';
  return new Grant(permit.weight, () => {
    entry.state = 'released';
    permit.release();
  });
}

/** Marks an acquisition that failed (abort, close): the flow does not hold it. */
export function failed(entry: HeldLock, error: unknown): never {
  entry.state = 'released';
  throw error;
}
