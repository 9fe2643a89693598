import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Channel,
  KeyedMutex,
  LockHeldWhileWaitingError,
  LockOrderError,
  Mutex,
  RWLock,
  Semaphore,
  WorkPool,
  isAbortError,
  lockdep,
  type Permit,
} from '../../src/index.js';
import { turns } from '../helpers/steps.js';
import { deferred, type Deferred } from '../helpers/deferred.js';

// The order graph and the switch are process-wide: every test starts clean and on.
beforeEach(() => {
  lockdep.enable();
});

afterEach(() => {
  lockdep.disable();
  lockdep.reset();
});

/**
 * The error `promise` rejects with within a few microtask turns; fails the test if it
 * fulfils, or if it is still pending then (a lock wait that would hang, not a refusal).
 */
async function rejectionOf(promise: Promise<unknown>, turnsAllowed = 20): Promise<unknown> {
  const seen: { outcome?: { error: unknown } | 'fulfilled' } = {};
  void promise.then(
    () => (seen.outcome = 'fulfilled'),
    (error: unknown) => (seen.outcome = { error }),
  );
  for (let i = 0; i < turnsAllowed && seen.outcome === undefined; i++) await Promise.resolve();
  if (seen.outcome === undefined) {
    throw new Error(`expected a rejection, still pending after ${turnsAllowed} microtask turns`);
  }
  if (seen.outcome === 'fulfilled') throw new Error('expected the promise to reject');
  return seen.outcome.error;
}

/** `error`, checked to be a LockOrderError. */
function lockOrderError(error: unknown): LockOrderError {
  expect(error).toBeInstanceOf(LockOrderError);
  expect((error as LockOrderError).code).toBe('LOCK_ORDER');
  return error as LockOrderError;
}

/** `error`, checked to be a LockHeldWhileWaitingError. */
function heldWhileWaitingError(error: unknown): LockHeldWhileWaitingError {
  expect(error).toBeInstanceOf(LockHeldWhileWaitingError);
  expect((error as LockHeldWhileWaitingError).code).toBe('LOCK_HELD_WHILE_WAITING');
  return error as LockHeldWhileWaitingError;
}

/** Recorded orders as `from->to`, sorted. */
const orders = (): string[] =>
  lockdep
    .edges()
    .map((e) => `${e.from}->${e.to}`)
    .sort();

/** `edge.firstSeen`, checked to be a stack trace that reaches this file. */
function stackOf(edge: { readonly firstSeen?: string | undefined }): string {
  const stack = edge.firstSeen ?? '';
  expect(stack).toMatch(/\n\s+at /);
  expect(stack).toContain('lockdep.test.ts');
  return stack;
}

/**
 * Runs `fn` as an async flow of its own, as a separate request would be: it sees the
 * locks its caller holds now, and what it acquires is not seen by the caller.
 */
async function fork<T>(fn: () => Promise<T>): Promise<T> {
  await Promise.resolve();
  return fn();
}

/** Takes each lock in turn, holding the earlier ones, then releases them all. */
async function nest(...locks: Mutex[]): Promise<void> {
  const permits: Permit[] = [];
  try {
    for (const lock of locks) permits.push(await lock.acquire());
  } finally {
    for (const permit of permits.reverse()) permit.release();
  }
}

describe('lockdep order cycles', () => {
  it('reports the A→B / B→A inversion of two flows run one after the other, with the whole cycle', async () => {
    const a = new Mutex({ name: 'A' });
    const b = new Mutex({ name: 'B' });
    await nest(a, b);

    const holdingB = await b.acquire();
    const error = lockOrderError(await rejectionOf(a.acquire()));
    expect(a.locked).toBe(false); // refused before it took or waited for A
    expect(a.waiting).toBe(0);
    expect(lockdep.held()).toEqual(['B']);
    holdingB.release();

    expect(error.message).toBe('Lock order cycle: B -> A -> B');
    expect(error.cycle.map((e) => [e.from, e.to])).toEqual([
      ['B', 'A'],
      ['A', 'B'],
    ]);
    const [closing, recorded] = error.cycle;
    stackOf(closing ?? {});
    expect(stackOf(recorded ?? {})).toContain('"B" taken while holding "A"');
    expect(recorded?.firstSeen).toBe(lockdep.edges()[0]?.firstSeen);
  });

  it('reports a three-lock cycle naming all three locks', async () => {
    const a = new Mutex({ name: 'A' });
    const b = new Mutex({ name: 'B' });
    const c = new Mutex({ name: 'C' });
    await nest(a, b);
    await nest(b, c);

    const holdingC = await c.acquire();
    const error = lockOrderError(await rejectionOf(a.acquire()));
    holdingC.release();

    expect(error.message).toBe('Lock order cycle: C -> A -> B -> C');
    expect(error.cycle.map((e) => [e.from, e.to])).toEqual([
      ['C', 'A'],
      ['A', 'B'],
      ['B', 'C'],
    ]);
    for (const edge of error.cycle) stackOf(edge);
    expect(orders()).toEqual(['A->B', 'B->C']); // the refused order is not recorded
  });

  it('lets the order that closed a cycle be refused again, not learnt', async () => {
    const a = new Mutex({ name: 'A' });
    const b = new Mutex({ name: 'B' });
    await nest(a, b);
    for (let i = 0; i < 2; i++) {
      const holdingB = await b.acquire();
      lockOrderError(await rejectionOf(a.acquire()));
      holdingB.release();
    }
    expect(orders()).toEqual(['A->B']);
  });
});

describe('lockdep false positives', () => {
  it('accepts the same order repeated, recording it once', async () => {
    const a = new Mutex({ name: 'A' });
    const b = new Mutex({ name: 'B' });
    for (let i = 0; i < 3; i++) await nest(a, b);
    expect(orders()).toEqual(['A->B']);
  });

  it('records no order from a lock already released: B released, then A taken', async () => {
    const a = new Mutex({ name: 'A' });
    const b = new Mutex({ name: 'B' });
    await nest(a, b);
    const holdingB = await b.acquire();
    holdingB.release();
    const holdingA = await a.acquire();
    expect(lockdep.held()).toEqual(['A']);
    holdingA.release();
    expect(orders()).toEqual(['A->B']);
  });

  it('lets a flow take a mutex again once it released it', async () => {
    const mutex = new Mutex({ name: 'M' });
    for (let i = 0; i < 3; i++) {
      const permit = await mutex.acquire();
      expect(lockdep.held()).toEqual(['M']);
      permit.release();
      expect(lockdep.held()).toEqual([]);
    }
    expect(orders()).toEqual([]);
  });

  it('records no order between two flows that each hold one lock at the same time', async () => {
    const a = new Mutex({ name: 'A' });
    const b = new Mutex({ name: 'B' });
    const bothHolding = { a: deferred(), b: deferred() };
    const finish = deferred();
    const seen: Record<string, string[]> = {};
    const flow = async (lock: Mutex, mine: Deferred, theirs: Deferred): Promise<void> => {
      const permit = await lock.acquire();
      mine.resolve();
      await theirs.promise; // both critical sections are open now
      seen[lock.name] = lockdep.held();
      await finish.promise;
      permit.release();
    };
    const flows = [
      fork(() => flow(a, bothHolding.a, bothHolding.b)),
      fork(() => flow(b, bothHolding.b, bothHolding.a)),
    ];
    await Promise.all([bothHolding.a.promise, bothHolding.b.promise]);
    expect(a.locked && b.locked).toBe(true);
    expect(lockdep.held()).toEqual([]);
    finish.resolve();
    await Promise.all(flows);
    expect(seen).toEqual({ A: ['A'], B: ['B'] });
    expect(orders()).toEqual([]);
  });

  it('Promise.all of two independent run() calls, in either order, is no cycle', async () => {
    const a = new Mutex({ name: 'A' });
    const b = new Mutex({ name: 'B' });
    const work = (): Promise<void> => turns(2);
    await Promise.all([a.run(work), b.run(work)]);
    await Promise.all([b.run(work), a.run(work)]);
    expect(orders()).toEqual([]);
  });

  it('run() leaves nothing held in the caller, before or after it settles', async () => {
    const a = new Mutex({ name: 'A' });
    const running = a.run(() => turns(2));
    expect(lockdep.held()).toEqual([]);
    await running;
    expect(lockdep.held()).toEqual([]);
  });

  it('a bare acquire() as the first await of a called function is held by that function, not its caller', async () => {
    const a = new Mutex({ name: 'A' });
    const finish = deferred();
    const calleeSaw: string[][] = [];
    const flow = async (): Promise<void> => {
      const permit = await a.acquire();
      calleeSaw.push(lockdep.held());
      await finish.promise;
      calleeSaw.push(lockdep.held());
      permit.release();
    };
    const first = flow();
    await turns(2);
    const callerSaw = lockdep.held();
    finish.resolve();
    await first;
    expect(callerSaw).toEqual([]);
    expect(calleeSaw).toEqual([['A'], ['A']]);
  });
});

describe('lockdep held set across nested async flows', () => {
  it('is not seen inside a timer callback scheduled in the critical section: a timer is a flow of its own', async () => {
    const a = new Mutex({ name: 'A' });
    const permit = await a.acquire();
    const inTimer = await new Promise<string[]>((resolve) => {
      setTimeout(() => resolve(lockdep.held()), 0);
    });
    expect(lockdep.held()).toEqual(['A']);
    permit.release();
    expect(inTimer).toEqual([]);
  });

  it('is seen along a promise chain started in the critical section', async () => {
    const a = new Mutex({ name: 'A' });
    const permit = await a.acquire();
    const inChain = await Promise.resolve()
      .then(() => turns(3))
      .then(() => lockdep.held());
    permit.release();
    expect(inChain).toEqual(['A']);
  });

  it('is not seen in a queueMicrotask callback: a queued callback is a flow of its own', async () => {
    const a = new Mutex({ name: 'A' });
    const permit = await a.acquire();
    const inMicrotask = await new Promise<string[]>((resolve) => {
      queueMicrotask(() => resolve(lockdep.held()));
    });
    permit.release();
    expect(inMicrotask).toEqual([]);
  });

  it('is seen by every Promise.all child started in the critical section', async () => {
    const a = new Mutex({ name: 'A' });
    const permit = await a.acquire();
    const child = async (steps: number): Promise<string[]> => {
      await turns(steps);
      return lockdep.held();
    };
    const children = await Promise.all([child(1), child(3), child(5)]);
    permit.release();
    expect(children).toEqual([['A'], ['A'], ['A']]);
  });

  it('is gone, for a callback scheduled in the critical section, once the lock is released', async () => {
    const a = new Mutex({ name: 'A' });
    const permit = await a.acquire();
    const later = new Promise<string[]>((resolve) => {
      setTimeout(() => resolve(lockdep.held()), 0);
    });
    permit.release();
    expect(await later).toEqual([]);
  });

  it('is not seen by a sibling flow started before the acquisition', async () => {
    const a = new Mutex({ name: 'A' });
    const go = deferred();
    const sibling = (async (): Promise<string[]> => {
      await go.promise;
      return lockdep.held();
    })();
    const permit = await a.acquire();
    go.resolve();
    const siblingSaw = await sibling;
    expect(lockdep.held()).toEqual(['A']);
    permit.release();
    expect(siblingSaw).toEqual([]);
  });

  it('lists locks oldest first and drops each one as it is released', async () => {
    const a = new Mutex({ name: 'A' });
    const b = new Mutex({ name: 'B' });
    const holdingA = await a.acquire();
    const holdingB = await b.acquire();
    expect(lockdep.held()).toEqual(['A', 'B']);
    holdingA.release();
    expect(lockdep.held()).toEqual(['B']);
    holdingB.release();
    expect(lockdep.held()).toEqual([]);
  });

  it('holds the lock inside run() and not after it', async () => {
    const a = new Mutex({ name: 'A' });
    const inside = await a.run(() => lockdep.held());
    expect(inside).toEqual(['A']);
    expect(lockdep.held()).toEqual([]);
  });
});

describe('lockdep ranks', () => {
  it('refuses a lower rank taken while holding a higher one', async () => {
    const low = new Mutex({ name: 'low', rank: 1 });
    const high = new Mutex({ name: 'high', rank: 2 });
    const holdingHigh = await high.acquire();
    const error = lockOrderError(await rejectionOf(low.acquire()));
    expect(low.locked).toBe(false);
    holdingHigh.release();
    expect(error.message).toMatch(/rank/);
    expect(error.message).toContain('"low" (rank 1)');
    expect(error.message).toContain('"high" (rank 2)');
    expect(error.cycle.map((e) => [e.from, e.to])).toEqual([['high', 'low']]);
    expect(orders()).toEqual([]); // refused before anything was recorded
  });

  it('accepts a higher rank taken while holding a lower one', async () => {
    const low = new Mutex({ name: 'low', rank: 1 });
    const high = new Mutex({ name: 'high', rank: 2 });
    await nest(low, high);
    expect(orders()).toEqual(['low->high']);
  });

  it('accepts two locks of the same rank in either order the first time', async () => {
    const one = new Mutex({ name: 'one', rank: 1 });
    const other = new Mutex({ name: 'other', rank: 1 });
    await nest(one, other);
    expect(orders()).toEqual(['one->other']);
  });
});

describe('lockdep re-entry', () => {
  it.each<[string, () => { take: () => Promise<Permit>; again: () => Promise<Permit> }]>([
    [
      'a Mutex',
      () => {
        const m = new Mutex({ name: 'L' });
        return { take: () => m.acquire(), again: () => m.acquire() };
      },
    ],
    [
      'a Semaphore(1)',
      () => {
        const s = new Semaphore(1, { name: 'L' });
        return { take: () => s.acquire(), again: () => s.acquire() };
      },
    ],
    [
      'the same KeyedMutex key',
      () => {
        const k = new KeyedMutex({ name: 'L' });
        return { take: () => k.acquire('x'), again: () => k.acquire('x') };
      },
    ],
    [
      'an RWLock read, then write',
      () => {
        const rw = new RWLock({ name: 'L' });
        return { take: () => rw.acquireRead(), again: () => rw.acquireWrite() };
      },
    ],
  ])('taking %s again in the flow that holds it throws instead of hanging', async (_what, make) => {
    const { take, again } = make();
    const permit = await take();
    const error = lockOrderError(await rejectionOf(again()));
    expect(lockdep.held()).toEqual(['L']);
    permit.release();
    expect(error.message).toBe(
      'Lock "L" is already held by this flow; taking it again would wait forever',
    );
    expect(error.cycle.map((e) => [e.from, e.to])).toEqual([['L', 'L']]);
  });

  it('leaves nothing queued or referenced after a refused re-entry', async () => {
    const mutex = new Mutex({ name: 'M' });
    const keyed = new KeyedMutex({ name: 'K' });
    const rw = new RWLock({ name: 'RW' });
    const permits = [await mutex.acquire(), await keyed.acquire('x'), await rw.acquireRead()];
    await rejectionOf(mutex.acquire());
    await rejectionOf(keyed.acquire('x'));
    await rejectionOf(rw.acquireWrite());
    expect([mutex.waiting, keyed.size, rw.waiting, rw.readers]).toEqual([0, 1, 0, 1]);
    for (const permit of permits) permit.release();
    expect([mutex.locked, keyed.size, rw.readers]).toEqual([false, 0, 0]);
  });

  it('lets a counting Semaphore be taken twice by one flow, with no self-order', async () => {
    const slots = new Semaphore(2, { name: 'slots' });
    const first = await slots.acquire();
    const second = await slots.acquire();
    expect(lockdep.held()).toEqual(['slots', 'slots']);
    first.release();
    second.release();
    expect(orders()).toEqual([]);
  });
});

describe('lockdep and KeyedMutex lock classes', () => {
  it('nests two keys of one KeyedMutex without a self-order error', async () => {
    const feeds = new KeyedMutex({ name: 'feed' });
    const first = await feeds.acquire('a');
    const second = await feeds.acquire('b');
    expect(lockdep.held()).toEqual(['feed', 'feed']);
    second.release();
    first.release();
    expect(orders()).toEqual([]);
  });

  it('records an order between "feed" and another lock once for all keys', async () => {
    const feeds = new KeyedMutex({ name: 'feed' });
    const store = new Mutex({ name: 'store' });
    for (const key of ['a', 'b', 'c']) {
      const feed = await feeds.acquire(key);
      (await store.acquire()).release();
      feed.release();
    }
    expect(lockdep.edges()).toHaveLength(1);
    expect(orders()).toEqual(['feed->store']);

    // …so the reverse order is a cycle even for a key never seen before.
    const holdingStore = await store.acquire();
    const error = lockOrderError(await rejectionOf(feeds.acquire('new key')));
    holdingStore.release();
    expect(error.message).toBe('Lock order cycle: store -> feed -> store');
    expect(feeds.size).toBe(0);
  });
});

describe('lockdep and tryAcquire', () => {
  it('tracks a lock taken with tryAcquire as held but records no order for it', async () => {
    const a = new Mutex({ name: 'A' });
    const b = new Mutex({ name: 'B' });
    const holdingA = await a.acquire();
    const tried = b.tryAcquire();
    expect(tried).toBeDefined();
    expect(lockdep.held()).toEqual(['A', 'B']);
    tried?.release();
    holdingA.release();
    expect(lockdep.held()).toEqual([]);
    expect(orders()).toEqual([]);

    // No A→B was learnt, so B then A is no cycle.
    await nest(b, a);
    expect(orders()).toEqual(['B->A']);
  });

  it('records the order from a lock held through tryAcquire to one acquired after it', async () => {
    const a = new Mutex({ name: 'A' });
    const b = new Mutex({ name: 'B' });
    const tried = a.tryAcquire();
    (await b.acquire()).release();
    tried?.release();
    expect(orders()).toEqual(['A->B']);
  });
});

describe('lockdep and failed acquisitions', () => {
  it('does not count an acquisition still waiting as held', async () => {
    const outer = new Mutex({ name: 'outer' });
    const inner = new Mutex({ name: 'inner' });
    const other = await fork(() => inner.acquire()); // held by another flow
    const holdingOuter = await outer.acquire();
    const waiting = inner.acquire();
    expect(inner.waiting).toBe(1);
    expect(lockdep.held()).toEqual(['outer']);
    other.release();
    const holdingInner = await waiting;
    expect(lockdep.held()).toEqual(['outer', 'inner']);
    holdingInner.release();
    holdingOuter.release();
  });

  it.each([
    ['aborts while it waits', false],
    ['aborts in the tick the lock is handed over', true],
  ])('an acquisition whose signal %s is not left in the held set', async (_when, handOverFirst) => {
    const outer = new Mutex({ name: 'outer' });
    const inner = new Mutex({ name: 'inner' });
    const other = await fork(() => inner.acquire()); // held by another flow
    const holdingOuter = await outer.acquire();
    const controller = new AbortController();
    const waiting = inner.acquire({ signal: controller.signal });
    expect(inner.waiting).toBe(1);
    if (handOverFirst) other.release();
    controller.abort(new Error('give up'));
    expect(isAbortError(await rejectionOf(waiting))).toBe(true);
    expect(lockdep.held()).toEqual(['outer']);
    if (!handOverFirst) other.release();

    // The flow never held it, so taking it now is no re-entry.
    const holdingInner = await inner.acquire();
    expect(lockdep.held()).toEqual(['outer', 'inner']);
    holdingInner.release();
    holdingOuter.release();
    expect(lockdep.held()).toEqual([]);
  });
});

describe('LockHeldWhileWaitingError', () => {
  it('is thrown by pool.run called while holding a lock, naming the held locks', async () => {
    const pool = new WorkPool({ concurrency: 1, types: { io: { concurrency: 1 } } });
    const store = new Mutex({ name: 'store' });
    const feeds = new KeyedMutex({ name: 'feed' });
    let ran = false;
    try {
      const holdingStore = await store.acquire();
      const holdingFeed = await feeds.acquire('x');
      const error = heldWhileWaitingError(await rejectionOf(pool.run('io', () => (ran = true))));
      holdingFeed.release();
      holdingStore.release();
      expect(error.held).toEqual(['store', 'feed']);
      expect(error.message).toBe(
        'Waiting on WorkPool.run while holding lock(s) "store", "feed"; release them first',
      );
      expect(ran).toBe(false);
      expect(await pool.run('io', () => 'after release')).toBe('after release');
    } finally {
      await pool.close();
    }
  });

  it('is thrown by a Channel.send that would block on a full channel while holding a lock', async () => {
    const channel = new Channel<number>({ capacity: 1 });
    const lock = new Mutex({ name: 'store' });
    await channel.send(1);
    const permit = await lock.acquire();
    const error = heldWhileWaitingError(await rejectionOf(channel.send(2)));
    permit.release();
    expect(error.held).toEqual(['store']);
    expect(error.message).toContain('a full Channel.send');
    expect(channel.stats).toMatchObject({ sent: 1, buffered: 1 });
    expect(channel.tryReceive()).toEqual({ ok: true, value: 1 });
    expect(channel.tryReceive()).toEqual({ ok: false, closed: false });
  });

  it.each<[string, () => { channel: Channel<number>; expected: boolean }]>([
    [
      'the buffer has room',
      () => ({ channel: new Channel<number>({ capacity: 1 }), expected: true }),
    ],
    [
      'a full drop-newest channel drops the value',
      () => {
        const channel = new Channel<number>({ capacity: 1, whenFull: 'drop-newest' });
        channel.trySend(0);
        return { channel, expected: false };
      },
    ],
    [
      'a full drop-oldest channel evicts',
      () => {
        const channel = new Channel<number>({ capacity: 1, whenFull: 'drop-oldest' });
        channel.trySend(0);
        return { channel, expected: true };
      },
    ],
  ])('is not thrown by a send that does not block: %s', async (_case, make) => {
    const { channel, expected } = make();
    const lock = new Mutex({ name: 'store' });
    const permit = await lock.acquire();
    const sent = await channel.send(7);
    permit.release();
    expect(sent).toBe(expected);
  });

  it('is not thrown by a send handed straight to a waiting receiver', async () => {
    const channel = new Channel<number>({ capacity: 0 });
    const received = fork(() => channel.receive());
    await turns(2);
    const lock = new Mutex({ name: 'store' });
    const permit = await lock.acquire();
    const sent = await channel.send(7);
    permit.release();
    expect(sent).toBe(true);
    expect(await received).toBe(7);
  });
});

describe('lockdep disabled', () => {
  beforeEach(() => {
    lockdep.disable();
  });

  it('reports no inversion, rank violation or re-entry, and records nothing', async () => {
    expect(lockdep.enabled).toBe(false);
    const a = new Mutex({ name: 'A', rank: 2 });
    const b = new Mutex({ name: 'B', rank: 1 });
    await nest(a, b); // a rank violation
    await nest(b, a); // an inversion
    const holdingA = await a.acquire();
    expect(lockdep.held()).toEqual([]);
    const again = a.acquire(); // re-entry: waits, as it would without lockdep
    await turns(5);
    expect(a.waiting).toBe(1);
    holdingA.release();
    (await again).release();
    expect(lockdep.edges()).toEqual([]);
  });

  it('lets pool.run and a blocking Channel.send wait while holding a lock', async () => {
    const pool = new WorkPool({ concurrency: 1, types: { io: { concurrency: 1 } } });
    const channel = new Channel<number>({ capacity: 1 });
    const lock = new Mutex({ name: 'store' });
    try {
      const permit = await lock.acquire();
      expect(await pool.run('io', () => 'ran')).toBe('ran');
      await channel.send(1);
      const blocked = channel.send(2);
      await turns(5);
      expect(channel.stats.buffered).toBe(1);
      expect(channel.tryReceive()).toEqual({ ok: true, value: 1 });
      expect(await blocked).toBe(true);
      permit.release();
    } finally {
      await pool.close();
    }
  });

  it('does not refuse a blocking send for a lock taken before it was turned off', async () => {
    const channel = new Channel<number>({ capacity: 1 });
    const lock = new Mutex({ name: 'store' });
    lockdep.enable();
    const permit = await lock.acquire();
    lockdep.disable();
    await channel.send(1);
    const blocked = channel.send(2);
    expect(channel.tryReceive()).toEqual({ ok: true, value: 1 });
    expect(await blocked).toBe(true);
    permit.release();
  });

  it('keeps the graph: enabled again, an order learnt before is still enforced', async () => {
    const a = new Mutex({ name: 'A' });
    const b = new Mutex({ name: 'B' });
    lockdep.enable();
    await nest(a, b);
    lockdep.disable();
    expect(orders()).toEqual(['A->B']);
    lockdep.enable();
    const holdingB = await b.acquire();
    lockOrderError(await rejectionOf(a.acquire()));
    holdingB.release();
  });
});

describe('lockdep.edges and lockdep.reset', () => {
  it('lists every recorded order with where it was first seen', async () => {
    const a = new Mutex({ name: 'A' });
    const b = new Mutex({ name: 'B' });
    const c = new Mutex({ name: 'C' });
    await nest(a, b, c);
    const edges = lockdep.edges();
    expect(edges.map((e) => `${e.from}->${e.to}`).sort()).toEqual(['A->B', 'A->C', 'B->C']);
    for (const edge of edges) {
      expect(stackOf(edge)).toContain(`"${edge.to}" taken while holding "${edge.from}"`);
    }
  });

  it('forgets every order on reset, so the reverse order is allowed again', async () => {
    const a = new Mutex({ name: 'A' });
    const b = new Mutex({ name: 'B' });
    await nest(a, b);
    lockdep.reset();
    expect(lockdep.edges()).toEqual([]);
    await nest(b, a);
    expect(orders()).toEqual(['B->A']);
  });
});

describe('lockdep and waits on the pool', () => {
  beforeEach(() => lockdep.enable());
  afterEach(() => {
    lockdep.disable();
    lockdep.reset();
  });

  it('refuses pool.onIdle() that would wait while a lock is held, not one that resolves at once', async () => {
    const lock = new Mutex({ name: 'store' });
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } } });
    await lock.run(() => pool.onIdle()); // idle: nothing to wait for
    let release = (): void => {};
    pool.submit('work', () => new Promise<void>((resolve) => (release = resolve)));
    const error = await lock.run(() => pool.onIdle()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockHeldWhileWaitingError);
    expect((error as LockHeldWhileWaitingError).held).toEqual(['store']);
    release();
    await pool.close();
  });
});
