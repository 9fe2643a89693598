/**
 * EventBus properties under fc.scheduler(): several publishers publish their sequences at
 * scheduled points; several subscribers (random buffer 1..8, random whenFull, random
 * topics) join at scheduled points and consume with `for await`, pausing at a scheduled
 * point after every event (slow consumers), some leaving early; the bus closes once
 * the publishers are done.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  EventBus,
  type EnvelopeOf,
  type Subscription,
  type SubscriberWhenFull,
  type SubscriptionCloseReason,
  type SubscriptionStats,
} from '../../src/index.js';

interface Item {
  readonly publisher: number;
  readonly index: number;
}
interface Events {
  a: Item;
  b: Item;
}
type TopicName = keyof Events;
type Env = EnvelopeOf<Events>;
type Sub = Subscription<Env>;

const NUM_RUNS = 500;

// ---------------------------------------------------------------------------------------
// Scenario
// ---------------------------------------------------------------------------------------

interface SubscriberSpec {
  readonly buffer: number;
  readonly whenFull: SubscriberWhenFull;
  readonly topics: '*' | readonly TopicName[];
  /** Leaves the loop (unsubscribes) after this many events, if set. */
  readonly stopAfter: number | undefined;
}

interface Scenario {
  /** Per publisher, the topics of its publishes in order. */
  readonly publishers: readonly (readonly TopicName[])[];
  readonly subscribers: readonly SubscriberSpec[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  publishers: fc.array(fc.array(fc.constantFrom<TopicName>('a', 'b'), { maxLength: 8 }), {
    minLength: 1,
    maxLength: 3,
  }),
  subscribers: fc.array(
    fc.record({
      buffer: fc.integer({ min: 1, max: 8 }),
      whenFull: fc.constantFrom<SubscriberWhenFull>('drop-oldest', 'drop-newest', 'close'),
      topics: fc.constantFrom<'*' | readonly TopicName[]>('*', ['a'], ['b'], ['a', 'b']),
      stopAfter: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

function wants(topics: '*' | readonly TopicName[], topic: TopicName): boolean {
  return topics === '*' || topics.includes(topic);
}

interface Published {
  readonly seq: number;
  readonly topic: TopicName;
  readonly payload: Item;
  /** What `publish` returned. */
  readonly returned: number;
  /** Subscribers attached when it was published, as the test tracked them. */
  readonly attached: number;
  /** Subscribers on its topic, as the reference model predicts. */
  readonly modelReceivers: number;
  /** Just before it: `bus.subscriberCount`, and the subscribers attached as the test tracked them. */
  readonly counts: { readonly bus: number; readonly attached: number };
}

/**
 * A reference model of one subscriber's bounded buffer, driven by the same events in
 * the same order as the real one: publishes (offers) and the consumer's `next()` calls.
 * It predicts exactly which seqs are delivered and which are dropped.
 */
class BufferModel {
  readonly buffer: number[] = [];
  readonly delivered: number[] = [];
  readonly dropped: number[] = [];
  highWater = 0;
  /** A `next()` is waiting for an event (the buffer was empty when it was called). */
  parked = false;
  reason: SubscriptionCloseReason | undefined;
  /** Seq of the publish that ended it as a slow consumer. */
  endedAt: number | undefined;

  constructor(
    readonly capacity: number,
    readonly whenFull: SubscriberWhenFull,
  ) {}

  offer(seq: number): void {
    if (this.reason !== undefined) return;
    if (this.parked) {
      this.parked = false;
      this.delivered.push(seq);
      return;
    }
    if (this.buffer.length < this.capacity) {
      this.buffer.push(seq);
      this.highWater = Math.max(this.highWater, this.buffer.length);
      return;
    }
    switch (this.whenFull) {
      case 'drop-oldest':
        this.dropped.push(this.buffer.shift() as number);
        this.buffer.push(seq);
        return;
      case 'drop-newest':
        this.dropped.push(seq);
        return;
      case 'close':
        this.dropped.push(seq);
        this.reason = 'slow-consumer';
        this.endedAt = seq;
        return;
    }
  }

  /** The consumer called `next()`. */
  next(): void {
    const seq = this.buffer.shift();
    if (seq !== undefined) this.delivered.push(seq);
    else if (this.reason === undefined) this.parked = true;
  }

  /** The bus closed: the consumer still gets what is buffered. */
  busClosed(): void {
    this.parked = false;
    this.reason ??= 'bus-closed';
  }

  /**
   * The consumer left its loop (`close()`): what is still buffered is discarded, as
   * `Subscription.close()` documents, whether or not the subscription had already ended.
   */
  leave(): void {
    this.reason ??= 'unsubscribed';
    this.dropped.push(...this.buffer.splice(0));
  }
}

interface SubscriberRun {
  readonly spec: SubscriberSpec;
  /** False if its turn to subscribe came after `bus.close()`. */
  subscribed: boolean;
  /** Events published before it subscribed. */
  startSeq: number;
  /** Last event it could have been offered: when it left, was ended, or the bus closed. */
  endSeq: number | undefined;
  readonly received: Env[];
  final: SubscriptionStats | undefined;
  reason: SubscriptionCloseReason | undefined;
  /** It left its loop early; `closedReason` at that moment (undefined: it was still active). */
  left: { readonly reasonBefore: SubscriptionCloseReason | undefined } | undefined;
  /** Reason observed right after each publish, keyed by seq (for the model comparison). */
  readonly reasonAfter: Map<number, SubscriptionCloseReason | undefined>;
  model: BufferModel | undefined;
}

interface Run {
  readonly published: Published[];
  readonly subscribers: readonly SubscriberRun[];
  readonly countAfterClose: number;
}

/** Wraps a subscription's iterator so the model sees each `next()` the moment it is made. */
function observed(sub: Sub, onNext: () => void): AsyncIterable<Env> {
  return {
    [Symbol.asyncIterator]: () => {
      const inner = sub[Symbol.asyncIterator]();
      return {
        next: () => {
          onNext();
          return inner.next();
        },
        return: () => inner.return?.() ?? Promise.resolve({ done: true, value: undefined }),
      };
    },
  };
}

async function runScenario(s: fc.Scheduler, scenario: Scenario): Promise<Run> {
  const bus = new EventBus<Events>();
  const published: Published[] = [];
  const runs: SubscriberRun[] = scenario.subscribers.map((spec) => ({
    spec,
    subscribed: false,
    startSeq: 0,
    endSeq: undefined,
    received: [],
    final: undefined,
    reason: undefined,
    left: undefined,
    reasonAfter: new Map(),
    model: undefined,
  }));
  /** Subscribers attached now, as the test tracks them (not from the bus's own count). */
  const attached = new Map<SubscriberRun, Sub>();

  const publishers = scenario.publishers.map(async (topics, publisher) => {
    for (const [index, topic] of topics.entries()) {
      await s.schedule(Promise.resolve(`publish ${publisher}.${index}`));
      const seq = published.length + 1;
      const count = [...attached.keys()].filter((r) => wants(r.spec.topics, topic)).length;
      const modelReceivers = runs.filter(
        (r) => r.model !== undefined && r.model.reason === undefined && wants(r.spec.topics, topic),
      ).length;
      const counts = { bus: bus.subscriberCount, attached: attached.size };
      for (const r of runs) if (wants(r.spec.topics, topic)) r.model?.offer(seq);
      const payload: Item = { publisher, index };
      const returned = bus.publish(topic, payload);
      published.push({ seq, topic, payload, returned, attached: count, modelReceivers, counts });
      for (const [r, sub] of attached) {
        r.reasonAfter.set(seq, sub.closedReason);
        // A 'close' subscriber that overflowed has just ended: it was offered this event.
        if (sub.closed) {
          r.endSeq = seq;
          attached.delete(r);
        }
      }
    }
  });

  const closer = (async () => {
    await Promise.all(publishers);
    await s.schedule(Promise.resolve('bus.close()'));
    bus.close();
    for (const r of runs) r.model?.busClosed();
    for (const r of attached.keys()) r.endSeq = published.length;
    attached.clear();
    return bus.subscriberCount;
  })();

  const subscribers = runs.map(async (r, i) => {
    await s.schedule(Promise.resolve(`subscribe ${i}`));
    const { buffer, whenFull, topics, stopAfter } = r.spec;
    if (bus.closed) {
      expect(() => bus.subscribe('*', { buffer, whenFull })).toThrow(ClosedError);
      return;
    }
    const sub: Sub =
      topics === '*'
        ? bus.subscribe('*', { buffer, whenFull })
        : bus.subscribe(topics, { buffer, whenFull });
    r.subscribed = true;
    r.startSeq = published.length;
    r.model = new BufferModel(buffer, whenFull);
    const model = r.model;
    attached.set(r, sub);
    for await (const envelope of observed(sub, () => model.next())) {
      r.received.push(envelope);
      if (stopAfter !== undefined && r.received.length >= stopAfter) {
        r.left = { reasonBefore: sub.closedReason };
        // If it had already ended (bus closed, slow consumer), its window ended then.
        if (sub.closedReason === undefined) r.endSeq = published.length;
        attached.delete(r);
        model.leave();
        break;
      }
      await s.schedule(Promise.resolve(`read ${i} after seq ${envelope.seq}`));
    }
    r.final = sub.stats;
    r.reason = sub.closedReason;
  });

  const [countAfterClose] = await s.waitFor(Promise.all([closer, ...subscribers]));
  return { published, subscribers: runs, countAfterClose };
}

/** The events a subscriber could have been offered: on its topics, while it was subscribed. */
function windowOf(run: Run, r: SubscriberRun): number[] {
  const end = r.endSeq ?? Number.NaN;
  return run.published
    .filter((p) => p.seq > r.startSeq && p.seq <= end && wants(r.spec.topics, p.topic))
    .map((p) => p.seq);
}

function subscribedRuns(run: Run): SubscriberRun[] {
  return run.subscribers.filter((r) => r.subscribed);
}

function property(check: (run: Run) => void): fc.IAsyncPropertyWithHooks<[fc.Scheduler, Scenario]> {
  return fc.asyncProperty(fc.scheduler(), scenarioArb, async (s, scenario) => {
    check(await runScenario(s, scenario));
  });
}

// ---------------------------------------------------------------------------------------

describe('EventBus properties: concurrent publishers, slow subscribers, close at the end', () => {
  it('each subscriber receives strictly increasing seqs, each with the payload and topic published under it', async () => {
    await fc.assert(
      property((run) => {
        for (const r of subscribedRuns(run)) {
          let last = 0;
          for (const envelope of r.received) {
            expect(envelope.seq).toBeGreaterThan(last);
            last = envelope.seq;
            const original = run.published[envelope.seq - 1];
            expect(original?.seq).toBe(envelope.seq);
            expect(envelope.topic).toBe(original?.topic);
            expect(envelope.payload).toBe(original?.payload);
            expect(wants(r.spec.topics, envelope.topic)).toBe(true);
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('each subscriber receives only events published while it was subscribed, and delivered + dropped counts every one of them', async () => {
    await fc.assert(
      property((run) => {
        for (const r of subscribedRuns(run)) {
          const window = windowOf(run, r);
          const received = r.received.map((e) => e.seq);
          expect(received.every((seq) => window.includes(seq))).toBe(true);
          expect(r.final?.delivered).toBe(received.length);
          expect(r.final?.buffered).toBe(0);
          expect((r.final?.delivered ?? NaN) + (r.final?.dropped ?? NaN)).toBe(window.length);
          expect(r.final?.highWater).toBeLessThanOrEqual(r.spec.buffer);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('under drop-oldest and drop-newest, the dropped events are exactly those it was offered and did not receive', async () => {
    await fc.assert(
      property((run) => {
        for (const r of subscribedRuns(run)) {
          if (r.spec.whenFull === 'close') continue;
          // Which events were lost, seq by seq (the counters are checked in the property above).
          const received = new Set(r.received.map((e) => e.seq));
          const notReceived = windowOf(run, r).filter((seq) => !received.has(seq));
          expect(notReceived).toEqual([...(r.model?.dropped ?? [])].sort((x, y) => x - y));
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it("under 'close', a subscriber receives a gap-free prefix of its events and ends as a slow consumer only on overflow", async () => {
    await fc.assert(
      property((run) => {
        for (const r of subscribedRuns(run)) {
          if (r.spec.whenFull !== 'close') continue;
          const window = windowOf(run, r);
          const received = r.received.map((e) => e.seq);
          expect(received).toEqual(window.slice(0, received.length));
          if (r.reason === 'slow-consumer') {
            // The event that found the buffer full was the last one offered, and lost.
            expect(window.at(-1)).toBe(r.endSeq);
            expect(received).not.toContain(r.endSeq);
            // Unless the consumer left early, it got everything else.
            if (r.left === undefined) expect(received.length).toBe(window.length - 1);
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('each subscriber ends for the right reason', async () => {
    await fc.assert(
      property((run) => {
        for (const r of subscribedRuns(run)) {
          // The first reason sticks: leaving after the bus closed keeps 'bus-closed'.
          const allowed: (SubscriptionCloseReason | undefined)[] =
            r.left !== undefined && r.left.reasonBefore === undefined
              ? ['unsubscribed']
              : r.spec.whenFull === 'close'
                ? ['bus-closed', 'slow-consumer']
                : ['bus-closed'];
          expect(allowed).toContain(r.reason);
          if (r.left !== undefined && r.left.reasonBefore !== undefined) {
            expect(r.reason).toBe(r.left.reasonBefore);
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('each publish returns the number of subscribers attached to its topic at that moment, and subscriberCount agrees', async () => {
    await fc.assert(
      property((run) => {
        for (const p of run.published) {
          expect(p.returned).toBe(p.attached);
          expect(p.counts.bus).toBe(p.counts.attached);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('matches a reference model of the bounded buffers exactly: deliveries, highWater, slow-consumer endings, receiver counts', async () => {
    await fc.assert(
      property((run) => {
        for (const p of run.published) expect(p.returned).toBe(p.modelReceivers);
        for (const r of subscribedRuns(run)) {
          const model = r.model;
          expect(r.received.map((e) => e.seq)).toEqual(model?.delivered);
          expect(r.final?.highWater).toBe(model?.highWater);
          expect(r.reason).toBe(model?.reason);
          // Ended right at the publish the model says overflowed it, not before or later.
          const endedAt = model?.endedAt ?? Infinity;
          for (const [seq, reason] of r.reasonAfter) {
            expect(reason).toBe(seq < endedAt ? undefined : 'slow-consumer');
          }
          if (model?.endedAt !== undefined) expect(r.reasonAfter.has(model.endedAt)).toBe(true);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('leaves no subscriber attached once the bus has closed', async () => {
    await fc.assert(
      property((run) => {
        expect(run.countAfterClose).toBe(0);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

// Found by the accounting property above (shrunk), pinned as plain examples.
describe('EventBus: counterexamples found by these properties', () => {
  it('a consumer that leaves its loop after the bus closed discards the events it still held', async () => {
    const bus = new EventBus<Events>();
    const sub = bus.subscribe('a', { buffer: 4 });
    for (let index = 0; index < 3; index++) bus.publish('a', { publisher: 0, index });
    bus.close();
    const seen: number[] = [];
    for await (const envelope of sub) {
      seen.push(envelope.seq);
      break;
    }
    expect(seen).toEqual([1]);
    // Subscription.close() (what leaving the loop calls): "buffered ones discarded";
    // stats.dropped: "plus events discarded when it unsubscribed".
    expect(sub.stats).toEqual({ delivered: 1, dropped: 2, buffered: 0, highWater: 3 });
  });

  it('close() on a subscription already ended as a slow consumer discards what it held, so a later loop gets nothing', async () => {
    const bus = new EventBus<Events>();
    const sub = bus.subscribe('a', { buffer: 2, whenFull: 'close' });
    for (let index = 0; index < 3; index++) bus.publish('a', { publisher: 0, index });
    expect(sub.closedReason).toBe('slow-consumer');
    sub.close();
    const seen: number[] = [];
    for await (const envelope of sub) seen.push(envelope.seq);
    expect({ seen, reason: sub.closedReason, stats: sub.stats }).toEqual({
      seen: [],
      reason: 'slow-consumer',
      stats: { delivered: 0, dropped: 3, buffered: 0, highWater: 2 },
    });
    bus.close();
  });
});
