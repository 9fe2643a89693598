/**
 * EventBus memory: a subscriber that never reads stays bounded by its buffer while a
 * great many events go past it, and ended subscriptions are let go. Heap is measured
 * after forced full GCs; the bounds are generous on purpose: these tests are about
 * growth that scales with the number of events or subscriptions, not about speed.
 */
import { getEventListeners } from 'node:events';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { EventBus, type Subscription, type SubscriberWhenFull } from '../../src/index.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Events published past the idle subscriber. */
const N = process.env.CI === undefined ? 1_000_000 : 100_000;
/** Events published between two reads of the reading subscribers. */
const BATCH = 1_000;
/** The idle subscribers' buffer size. */
const IDLE_BUFFER = 64;
/** Most heap growth accepted where none should scale with the work done. */
const HEAP_BOUND = 8 * 1024 * 1024;

interface Payload {
  readonly index: number;
  /** Makes each event weigh a few hundred bytes, so retaining events shows on the heap. */
  readonly body: readonly number[];
}
interface Events {
  tick: Payload;
  other: Payload;
}

function payload(index: number): Payload {
  return { index, body: new Array<number>(16).fill(index) };
}

/** Lets a macrotask pass (so WeakRefs made in this job can be cleared by a GC). */
function nextMacrotask(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** Heap in use after full collections, each after a macrotask turn. */
async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await nextMacrotask();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/**
 * Subscriptions a plain `gc()` may leave alive for reasons of V8's own: now and then it
 * keeps one arbitrary object of the 10,000 (a heap snapshot's memory-reducing GC then
 * collects it, so nothing of ours holds it). Retention by the bus would keep them all.
 */
const STRAGGLERS = 10;

/** How many of the referenced objects are still alive. */
function alive(refs: readonly WeakRef<object>[]): number {
  return refs.filter((ref) => ref.deref() !== undefined).length;
}

// ---------------------------------------------------------------------------------------
// N events past idle subscribers
// ---------------------------------------------------------------------------------------

interface IdleReport {
  readonly policy: SubscriberWhenFull;
  /** Most `stats.buffered` seen, checked after every batch. */
  readonly maxBuffered: number;
  readonly highWater: number;
  readonly delivered: number;
  readonly dropped: number;
  /** Seqs it finally held, oldest first. */
  readonly held: readonly number[];
}

interface ReaderReport {
  readonly received: number;
  /** Every event came with the next seq and its own payload. */
  readonly inOrder: boolean;
  readonly dropped: number;
  readonly reason: string | undefined;
}

interface PastIdleReport {
  readonly idle: readonly IdleReport[];
  readonly readers: readonly ReaderReport[];
  /** Heap growth from after the first batch to after the last one (idle buffers still held). */
  readonly heapGrowth: number;
}

/**
 * Publishes `total` events in batches of `BATCH` on a bus with two idle subscribers
 * (drop-oldest and drop-newest, buffer `IDLE_BUFFER`) that never read until the end,
 * and two subscribers that read each batch as soon as it is published.
 */
async function publishPastIdleSubscribers(total: number): Promise<PastIdleReport> {
  const bus = new EventBus<Events>();
  const policies: readonly SubscriberWhenFull[] = ['drop-oldest', 'drop-newest'];
  const idle = policies.map((whenFull) => ({
    whenFull,
    sub: bus.subscribe('tick', { buffer: IDLE_BUFFER, whenFull }),
    maxBuffered: 0,
  }));
  // A reader falling a whole batch behind would be ended ('close'), not silently thinned.
  const readers = [0, 1].map(() => {
    const sub = bus.subscribe('*', { buffer: BATCH, whenFull: 'close' });
    return { sub, iterator: sub[Symbol.asyncIterator](), received: 0, inOrder: true };
  });

  let published = 0;
  let heapBefore = 0;
  while (published < total) {
    const end = Math.min(total, published + BATCH);
    while (published < end) bus.publish('tick', payload(++published - 1));
    for (const reader of readers) {
      while (reader.received < published) {
        const result = await reader.iterator.next();
        if (result.done === true) break;
        const envelope = result.value;
        reader.received++;
        if (envelope.seq !== reader.received || envelope.payload.index !== envelope.seq - 1) {
          reader.inOrder = false;
        }
      }
    }
    for (const entry of idle)
      entry.maxBuffered = Math.max(entry.maxBuffered, entry.sub.stats.buffered);
    // Measure from after the first batch, once everything involved has been allocated.
    if (published === BATCH) heapBefore = await heapAfterGc();
  }
  const heapGrowth = (await heapAfterGc()) - heapBefore;

  bus.close();
  const idleReports: IdleReport[] = [];
  for (const entry of idle) {
    const held: number[] = [];
    for await (const envelope of entry.sub) held.push(envelope.seq);
    const { highWater, delivered, dropped } = entry.sub.stats;
    idleReports.push({
      policy: entry.whenFull,
      maxBuffered: entry.maxBuffered,
      highWater,
      delivered,
      dropped,
      held,
    });
  }
  const readerReports = readers.map((reader) => ({
    received: reader.received,
    inOrder: reader.inOrder,
    dropped: reader.sub.stats.dropped,
    reason: reader.sub.closedReason,
  }));
  return { idle: idleReports, readers: readerReports, heapGrowth };
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe(`EventBus memory: ${N.toLocaleString('en')} events past a subscriber that never reads`, () => {
  it('its buffer never holds more than its size', async () => {
    const report = await publishPastIdleSubscribers(N);
    for (const idle of report.idle) {
      expect(idle.maxBuffered, idle.policy).toBe(IDLE_BUFFER);
      expect(idle.highWater, idle.policy).toBe(IDLE_BUFFER);
    }
  });

  it('it drops all but the buffer-full it keeps: the newest under drop-oldest, the oldest under drop-newest', async () => {
    const report = await publishPastIdleSubscribers(N);
    expect(report.idle).toEqual([
      expect.objectContaining({
        policy: 'drop-oldest',
        delivered: IDLE_BUFFER,
        dropped: N - IDLE_BUFFER,
        held: range(N - IDLE_BUFFER + 1, N),
      }),
      expect.objectContaining({
        policy: 'drop-newest',
        delivered: IDLE_BUFFER,
        dropped: N - IDLE_BUFFER,
        held: range(1, IDLE_BUFFER),
      }),
    ]);
  });

  it('the subscribers reading in batches get every event, in order', async () => {
    const report = await publishPastIdleSubscribers(N);
    expect(report.readers).toEqual([
      { received: N, inOrder: true, dropped: 0, reason: 'bus-closed' },
      { received: N, inOrder: true, dropped: 0, reason: 'bus-closed' },
    ]);
  });

  it('the heap does not grow with the number of events', async () => {
    const report = await publishPastIdleSubscribers(N);
    expect(report.heapGrowth).toBeLessThan(HEAP_BOUND);
  });

  it('(calibration) the heap measurement does see 100,000 retained events', async () => {
    // Shows the bound above can fail: keeping the events themselves exceeds it.
    const count = 100_000;
    const before = await heapAfterGc();
    const kept = Array.from({ length: count }, (_, i) =>
      Object.freeze({ topic: 'tick', payload: payload(i), seq: i + 1, at: Date.now() }),
    );
    const growth = (await heapAfterGc()) - before;
    expect(kept).toHaveLength(count);
    expect(growth).toBeGreaterThan(HEAP_BOUND);
  });
});

// ---------------------------------------------------------------------------------------
// Many subscriptions ending
// ---------------------------------------------------------------------------------------

/** How many subscriptions each of these tests opens and ends. */
const SUBSCRIPTIONS = 10_000;

type Ending = 'close' | 'dispose' | 'abort' | 'leave loop' | 'slow consumer';
const ENDINGS: readonly Ending[] = ['close', 'dispose', 'abort', 'leave loop', 'slow consumer'];

/**
 * Opens `SUBSCRIPTIONS` subscriptions (and one `on` listener per 100), lets each buffer
 * a few events, then ends each one its own way, and removes the listeners. Returns weak
 * references to the subscriptions; the bus keeps running.
 */
async function openAndEndMany(bus: EventBus<Events>): Promise<WeakRef<object>[]> {
  const controllers: AbortController[] = [];
  const subs: { sub: Subscription; ending: Ending }[] = [];
  const offs: (() => void)[] = [];
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    const ending = ENDINGS[i % ENDINGS.length] ?? 'close';
    const controller = new AbortController();
    controllers.push(controller);
    // The default buffer (256 slots) makes each subscription weigh a few KB, so that
    // retaining them all would exceed HEAP_BOUND; 'close' ones get 4, to overflow below.
    const sub = bus.subscribe(i % 2 === 0 ? '*' : ['tick', 'other'], {
      ...(ending === 'slow consumer' ? { buffer: 4, whenFull: 'close' as const } : {}),
      signal: controller.signal,
    });
    subs.push({ sub, ending });
    if (i % 100 === 0) offs.push(bus.on('tick', () => {}));
  }
  for (let i = 0; i < 3; i++) bus.publish('tick', payload(i));
  for (const { sub, ending } of subs) {
    switch (ending) {
      case 'close':
        sub.close();
        break;
      case 'dispose':
        sub[Symbol.dispose]();
        break;
      case 'abort':
        break;
      case 'leave loop':
        for await (const _ of sub) break;
        break;
      case 'slow consumer':
        break;
    }
  }
  for (const controller of controllers) controller.abort();
  // The buffers are full now (3 + 2 > 4): every 'close' subscription ends as a slow consumer.
  for (let i = 3; i < 5; i++) bus.publish('tick', payload(i));
  for (const off of offs) off();
  return subs.map(({ sub }) => new WeakRef(sub));
}

describe(`EventBus memory: ${SUBSCRIPTIONS.toLocaleString('en')} subscriptions ending`, () => {
  it('each ending detaches it: subscriberCount returns to 0 and each reports why it ended', async () => {
    const bus = new EventBus<Events>({ maxSubscribers: Number.POSITIVE_INFINITY });
    const controllers: AbortController[] = [];
    const subs: { sub: Subscription; ending: Ending }[] = [];
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const ending = ENDINGS[i % ENDINGS.length] ?? 'close';
      const controller = new AbortController();
      controllers.push(controller);
      const sub = bus.subscribe('tick', {
        buffer: 1,
        whenFull: ending === 'slow consumer' ? 'close' : 'drop-oldest',
        signal: controller.signal,
      });
      subs.push({ sub, ending });
    }
    expect(bus.subscriberCount).toBe(SUBSCRIPTIONS);
    bus.publish('tick', payload(0));
    for (const [i, { sub, ending }] of subs.entries()) {
      if (ending === 'close') sub.close();
      else if (ending === 'dispose') sub[Symbol.dispose]();
      else if (ending === 'abort') controllers[i]?.abort();
      else if (ending === 'leave loop') for await (const _ of sub) break;
    }
    bus.publish('tick', payload(1)); // overflows every buffer-1 'close' subscription
    expect(bus.subscriberCount).toBe(0);
    const reasons = new Map<Ending, Set<string | undefined>>();
    for (const { sub, ending } of subs) {
      reasons.set(ending, (reasons.get(ending) ?? new Set()).add(sub.closedReason));
    }
    expect(Object.fromEntries([...reasons].map(([k, v]) => [k, [...v]]))).toEqual({
      close: ['unsubscribed'],
      dispose: ['unsubscribed'],
      abort: ['aborted'],
      'leave loop': ['unsubscribed'],
      'slow consumer': ['slow-consumer'],
    });
    bus.close();
  });

  it('bus.close() detaches every subscription and listener: subscriberCount is 0', () => {
    const bus = new EventBus<Events>({ maxSubscribers: Number.POSITIVE_INFINITY });
    const subs = Array.from({ length: SUBSCRIPTIONS }, (_, i) =>
      bus.subscribe(i % 2 === 0 ? '*' : 'tick', { buffer: 2 }),
    );
    for (let i = 0; i < 100; i++) bus.on('*', () => {});
    bus.publish('tick', payload(0));
    expect(bus.subscriberCount).toBe(SUBSCRIPTIONS + 100);
    bus.close();
    expect(bus.subscriberCount).toBe(0);
    expect(subs.every((sub) => sub.closedReason === 'bus-closed')).toBe(true);
  });

  it('ended subscriptions are garbage-collected while the bus lives on, and the heap returns to where it was', async () => {
    const bus = new EventBus<Events>({ maxSubscribers: Number.POSITIVE_INFINITY });
    // One round first, so that code and lazily created structures are in place (its
    // WeakRefs stop keeping its subscriptions alive at the macrotask turns of heapAfterGc).
    await openAndEndMany(bus);
    const before = await heapAfterGc();
    const refs = await openAndEndMany(bus);
    expect(bus.subscriberCount).toBe(0);
    const growth = (await heapAfterGc()) - before;
    expect(alive(refs)).toBeLessThanOrEqual(STRAGGLERS);
    expect(growth).toBeLessThan(HEAP_BOUND);
    bus.publish('tick', payload(0));
    bus.close();
  });

  it('subscriptions ended by bus.close() are garbage-collected once their owners drop them, though the bus lives on', async () => {
    const bus = new EventBus<Events>({ maxSubscribers: Number.POSITIVE_INFINITY });
    const before = await heapAfterGc();
    const refs = (() => {
      // Default buffer (256 slots): retaining them all would exceed HEAP_BOUND.
      const subs = Array.from({ length: SUBSCRIPTIONS }, () => bus.subscribe('tick'));
      for (let i = 0; i < 3; i++) bus.publish('tick', payload(i));
      return subs.map((sub) => new WeakRef(sub));
    })();
    bus.close();
    const growth = (await heapAfterGc()) - before;
    expect(alive(refs)).toBeLessThanOrEqual(STRAGGLERS);
    expect(growth).toBeLessThan(HEAP_BOUND);
    expect(bus.closed).toBe(true); // keeps the bus reachable up to here
  });

  it('one long-lived signal passed to all of them, 50 live at a time, carries one listener and none once they end', async () => {
    // Node warns (MaxListenersExceededWarning) from 11 listeners on one signal: the bus
    // must share one listener per signal across its subscriptions.
    const live = 50;
    const bus = new EventBus<Events>();
    const controller = new AbortController();
    let most = 0;
    for (let round = 0; round < SUBSCRIPTIONS / live; round++) {
      const subs = Array.from({ length: live }, () =>
        bus.subscribe('tick', { buffer: 1, whenFull: 'close', signal: controller.signal }),
      );
      most = Math.max(most, getEventListeners(controller.signal, 'abort').length);
      bus.publish('tick', payload(round));
      for (const [i, sub] of subs.entries()) {
        if (i % 3 === 0) sub.close();
        else if (i % 3 === 1) for await (const _ of sub) break;
      }
      bus.publish('tick', payload(round)); // ends the rest as slow consumers
    }
    expect(most).toBe(1);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(bus.subscriberCount).toBe(0);
    bus.close();
  });
});
