/**
 * lockdep: lock-order checking, after Linux's. Off by default (one boolean read per
 * acquisition); on with `WORKBUS_LOCKDEP=1` or `lockdep.enable()`.
 *
 * Flows: lockdep follows async flows itself with an `async_hooks` init hook (installed
 * only while checking is on). A promise inherits the held list of the code that created
 * it; timers, immediates, `nextTick` and other callbacks start empty, so each is a flow
 * of its own. The promise a bare `acquire()` returns is registered: a promise created by
 * awaiting (or `.then`-ing) that very promise is the continuation of the flow that asked
 * for the lock, and it alone inherits the lock. Sibling flows forked from one
 * synchronous context therefore never see each other's locks.
 *
 * Orders: a lock's class is its name, or its construction site when unnamed. Taking a
 * lock while holding others records "held class → taken class" edges; one that would
 * close a cycle throws `LockOrderError` with the whole cycle, even if this run would not
 * have deadlocked. Two instances of one class (two keys of a KeyedMutex) nested get an
 * order of their own, checked the same way. Also refused: a lower `rank` taken while
 * holding a higher one, and taking again an exclusive lock the flow already holds.
 */
import { createHook, executionAsyncResource } from 'node:async_hooks';
import { LockHeldWhileWaitingError, LockOrderError, type LockOrderEdge } from '../errors.js';
import type { LockIdentity } from './lock-options.js';
import { Grant, type Permit } from './permit.js';

/** One acquisition by one flow. */
export interface HeldLock {
  /** The lock object: taking it again while held is a re-entry. */
  readonly lock: object;
  readonly id: LockIdentity;
  /** `pending` until granted; `released` once released, or if the acquisition failed. */
  state: 'pending' | 'held' | 'released';
  /** asyncId of the promise handed to the caller of a bare `acquire()`, while registered. */
  promiseId: number | undefined;
}

type HeldList = readonly HeldLock[];

const EMPTY: HeldList = Object.freeze([]);

/** Execution resource (a promise, a timer, the top level) → what its flow holds. */
const lists = new WeakMap<object, HeldList>();
/** asyncId of a promise returned by a bare `acquire()` → that acquisition. */
const acquisitions = new Map<number, HeldLock>();
/** class → (class taken while it was held → stack where that order was first seen). */
const graph = new Map<string, Map<string, string>>();
/** Same-class nesting: instance node → (instance node taken while it was held → stack). */
let instanceGraph = new WeakMap<object, Map<object, string>>();
const nodeLabels = new WeakMap<object, string>();
/** Whether checking is on; a live binding, so hot paths read it without a getter call. */
export let enabled = false;

/** Set while `attributed` builds the promise it hands out, to learn that promise's asyncId. */
let capturing = false;
interface Captured {
  readonly resource: object;
  readonly asyncId: number;
}
let captured: Captured | undefined;

const hook = createHook({
  init(asyncId, type, triggerAsyncId, resource: object) {
    if (type !== 'PROMISE') return;
    if (capturing) captured = { resource, asyncId };
    const current = lists.get(executionAsyncResource());
    const acquired = acquisitions.get(triggerAsyncId);
    if (acquired !== undefined) lists.set(resource, [...live(current ?? EMPTY), acquired]);
    else if (current !== undefined) lists.set(resource, current);
  },
});

function activate(): void {
  enabled = true;
  hook.enable();
}

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
  /** Turns checking off and stops following flows (no hook cost); the order graph is kept. */
  disable(): void {
    enabled = false;
    hook.disable();
  },
  /**
   * Runs `fn` as a flow of its own that holds no lock. Work started synchronously inside a
   * critical section (an EventEmitter listener, an abort listener, a fire-and-forget
   * call) inherits its locks, as an awaited call would: lockdep cannot tell the two apart
   * when they start. Wrap work the section does not wait for in `detached`, so it is not
   * reported as re-taking or ordering locks the section holds (for example
   * `emitter.on('changed', () => lockdep.detached(() => void refreshLater()))`). Off, a
   * plain call.
   */
  detached<T>(fn: () => T): T {
    return enabled ? runInOwnFlow(fn) : fn();
  },
  /** Forgets every recorded order (for tests). */
  reset(): void {
    graph.clear();
    instanceGraph = new WeakMap();
  },
  /** Classes of the locks the current async flow holds, oldest first. */
  held(): string[] {
    return heldNow().map((h) => h.id.cls);
  },
  /** Every order between lock classes recorded so far. */
  edges(): LockOrderEdge[] {
    const out: LockOrderEdge[] = [];
    for (const [from, tos] of graph) {
      for (const [to, firstSeen] of tos) out.push({ from, to, firstSeen });
    }
    return out;
  },
};

function live(list: HeldList): HeldLock[] {
  return list.filter((h) => h.state !== 'released');
}

function heldNow(): HeldLock[] {
  return (lists.get(executionAsyncResource()) ?? EMPTY).filter((h) => h.state === 'held');
}

/**
 * Runs `fn` with the current resource's list set to `list` for `fn`'s synchronous part,
 * so the promises `fn` creates inherit `list`; the caller's list is back afterwards.
 */
function runWith<T>(list: HeldList, fn: () => T): T {
  const resource = executionAsyncResource();
  const before = lists.get(resource);
  lists.set(resource, list);
  try {
    return fn();
  } finally {
    if (before === undefined) lists.delete(resource);
    else lists.set(resource, before);
  }
}

/**
 * Runs `fn` as a flow of its own that holds nothing, whatever its caller holds: a pool
 * job, a bus listener. Call it only while checking is on.
 */
export function runInOwnFlow<T>(fn: () => T): T {
  return runWith(EMPTY, fn);
}

/**
 * Called by a lock, synchronously in the caller's flow, before it waits. Checks the
 * acquisition against everything the flow holds and records new orders.
 * @throws LockOrderError for a cycle, a rank inversion, or re-taking an exclusive lock.
 */
export function acquiring(lock: object, id: LockIdentity, exclusive: boolean): HeldLock {
  const held = heldNow();
  for (const h of held) {
    if (h.lock === lock && exclusive) {
      throw new LockOrderError([{ from: id.cls, to: id.cls }], {
        message: `Lock "${id.cls}" is already held by this flow; taking it again would wait forever`,
      });
    }
    if (h.id.rank !== undefined && id.rank !== undefined && id.rank < h.id.rank) {
      throw new LockOrderError([{ from: h.id.cls, to: id.cls }], {
        message: `Lock rank violation: "${id.cls}" (rank ${id.rank}) taken while holding "${h.id.cls}" (rank ${h.id.rank}); take lower ranks first`,
      });
    }
  }
  for (const h of held) {
    if (h.id.cls !== id.cls) addEdge(graph, h.id.cls, id.cls, labelOfClass);
    else if (h.lock !== lock) {
      addInstanceEdge(nodeOf(h.lock, h.id), nodeOf(lock, id));
    }
  }
  return { lock, id, state: 'pending', promiseId: undefined };
}

/**
 * Hands out the permit of a bare `acquire()`: marks the acquisition held when granted
 * (and released with the permit), `map`s the permit, and registers the returned promise
 * so that whoever awaits it, and only that flow, holds the lock.
 */
export function attributed(
  entry: HeldLock,
  permit: Promise<Permit>,
  map: (permit: Permit) => Permit = identity,
  onFail: () => void = noop,
): Promise<Permit> {
  capturing = true;
  captured = undefined;
  let out: Promise<Permit>;
  try {
    out = permit.then(
      (p) => map(tracked(p, entry)),
      (error: unknown) => {
        onFail();
        return failed(entry, error);
      },
    );
  } finally {
    capturing = false;
  }
  // Widened again: TypeScript cannot see that the init hook assigned it during `then`.
  const seen = captured as Captured | undefined;
  captured = undefined;
  if (seen?.resource === out) {
    entry.promiseId = seen.asyncId;
    acquisitions.set(seen.asyncId, entry);
  }
  return out;
}

/** The permit of a `run()`: marks the acquisition held (it is scoped by {@link runHolding}). */
export function holding(entry: HeldLock, permit: Promise<Permit>): Promise<Permit> {
  return permit.then(
    (p) => tracked(p, entry),
    (error: unknown) => failed(entry, error),
  );
}

/** Runs `fn` in a flow that holds `entry` on top of what the current flow holds. */
export function runHolding<T>(entry: HeldLock, fn: () => T): T {
  return runWith([...live(lists.get(executionAsyncResource()) ?? EMPTY), entry], fn);
}

/**
 * Called by a lock whose non-waiting acquisition succeeded: tracked, but adds no order
 * (it cannot deadlock). Nothing is awaited, so the only flow to credit is the current
 * synchronous context and what it starts afterwards.
 */
export function acquiredWithoutWait(lock: object, id: LockIdentity, permit: Permit): Permit {
  const entry: HeldLock = { lock, id, state: 'held', promiseId: undefined };
  const resource = executionAsyncResource();
  lists.set(resource, [...live(lists.get(resource) ?? EMPTY), entry]);
  return tracked(permit, entry);
}

/** @throws LockHeldWhileWaitingError if the current flow holds any lock (checking on). */
export function assertNotHolding(waitingOn: string): void {
  if (!enabled) return;
  const held = heldNow();
  if (held.length > 0)
    throw new LockHeldWhileWaitingError(
      waitingOn,
      held.map((h) => h.id.cls),
    );
}

function tracked(permit: Permit, entry: HeldLock): Permit {
  entry.state = 'held';
  return new Grant(permit.weight, () => {
    forget(entry);
    permit.release();
  });
}

function failed(entry: HeldLock, error: unknown): never {
  forget(entry);
  throw error;
}

function forget(entry: HeldLock): void {
  entry.state = 'released';
  if (entry.promiseId !== undefined) acquisitions.delete(entry.promiseId);
  entry.promiseId = undefined;
}

/** The live registrations of bare acquisitions (for the memory test). */
export function registeredAcquisitions(): number {
  return acquisitions.size;
}

/**
 * The node of one instance in its class's instance order: the lock itself, or for a
 * KeyedMutex key an interned node per (KeyedMutex, key), created only when nested.
 */
function nodeOf(lock: object, id: LockIdentity): object {
  if (id.keyOf === undefined) {
    if (!nodeLabels.has(lock)) nodeLabels.set(lock, `${id.cls}#${++instances}`);
    return lock;
  }
  const { owner, key } = id.keyOf;
  let nodes = keyNodes.get(owner);
  if (nodes === undefined) keyNodes.set(owner, (nodes = new Map<unknown, object>()));
  let node = nodes.get(key);
  if (node === undefined) {
    node = {};
    nodes.set(key, node);
    nodeLabels.set(node, `${id.cls}[${String(key)}]`);
  }
  return node;
}

let instances = 0;
const keyNodes = new WeakMap<object, Map<unknown, object>>();

function addInstanceEdge(from: object, to: object): void {
  addEdge(instanceGraph, from, to, (node) => nodeLabels.get(node) ?? '?');
}

function labelOfClass(cls: string): string {
  return cls;
}

interface Graph<N> {
  get(node: N): Map<N, string> | undefined;
  set(node: N, tos: Map<N, string>): unknown;
}

function addEdge<N>(g: Graph<N>, from: N, to: N, label: (node: N) => string): void {
  let tos = g.get(from);
  if (tos?.has(to)) return;
  const path = pathBetween(g, to, from);
  if (path !== undefined) {
    const here = new Error('first seen').stack ?? '';
    const cycle: LockOrderEdge[] = [{ from: label(from), to: label(to), firstSeen: here }];
    for (let i = 0; i + 1 < path.length; i++) {
      const a = path[i] as N;
      const b = path[i + 1] as N;
      cycle.push({ from: label(a), to: label(b), firstSeen: g.get(a)?.get(b) ?? '' });
    }
    throw new LockOrderError(cycle);
  }
  if (tos === undefined) g.set(from, (tos = new Map<N, string>()));
  tos.set(to, new Error(`"${label(to)}" taken while holding "${label(from)}"`).stack ?? '');
}

/** A path from `start` to `goal` in `g`, if there is one. */
function pathBetween<N>(g: Graph<N>, start: N, goal: N): N[] | undefined {
  const previous = new Map<N, N>([[start, start]]);
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const at = queue[i] as N;
    if (at === goal) {
      const path = [goal];
      for (let step = goal; step !== start;) path.unshift((step = previous.get(step) as N));
      return path;
    }
    for (const next of g.get(at)?.keys() ?? []) {
      if (!previous.has(next)) {
        previous.set(next, at);
        queue.push(next);
      }
    }
  }
  return undefined;
}

function identity<T>(value: T): T {
  return value;
}

function noop(): void {}
