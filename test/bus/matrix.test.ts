/**
 * EventBus delivery matrix, in the style of Effect's PubSub suite:
 * {whenFull 'drop-oldest', 'drop-newest', 'close'} × {one subscriber, many subscribers,
 * many publishers}. Every scenario follows the same deterministic script:
 *
 *   burst  — publish a first group of events (no subscriber is reading);
 *   read   — the reading subscriber takes exactly 2 buffered events;
 *   more   — publish a second group of events;
 *   end    — `bus.close()`, then every subscriber drains with `for await`.
 *
 * Stats are captured after each step, so every count below is exact and by hand:
 * which seqs each subscriber receives, which it drops, and when a `'close'` subscriber
 * ends. Events are numbered by their bus `seq` (1, 2, …) in the comments.
 */
import { describe, expect, it } from 'vitest';
import {
  EventBus,
  type EnvelopeOf,
  type Subscription,
  type SubscriberWhenFull,
  type SubscriptionCloseReason,
} from '../../src/index.js';

/** Each payload is a label naming the publisher and its count, e.g. `'b2'`. */
interface Events {
  tick: string;
  a: string;
  b: string;
  c: string;
}
type TopicName = keyof Events;
type Env = EnvelopeOf<Events>;
type Sub = Subscription<Env>;

const POLICIES: readonly SubscriberWhenFull[] = ['drop-oldest', 'drop-newest', 'close'];
const STEPS = ['burst', 'read', 'more', 'end'] as const;
type Step = (typeof STEPS)[number];

/** How many events the reading subscriber takes at the `read` step. */
const READ_COUNT = 2;

// ---------------------------------------------------------------------------------------
// Scenario
// ---------------------------------------------------------------------------------------

interface SubscriberSpec {
  readonly name: string;
  readonly topics: '*' | readonly TopicName[];
  readonly buffer: number;
  /** Takes `READ_COUNT` events at the `read` step (the others only drain at the end). */
  readonly reads: boolean;
}

type Publish = (topic: TopicName, label: string) => void;

interface Topology {
  readonly name: string;
  readonly subscribers: readonly SubscriberSpec[];
  /** Subscribers whose buffer never fills: they must get every event on their topics. */
  readonly keepingUp: readonly string[];
  readonly burst: (publish: Publish) => Promise<void>;
  readonly more: (publish: Publish) => Promise<void>;
}

/** What the counters say at one step. */
interface Snapshot {
  readonly delivered: number;
  readonly dropped: number;
  readonly buffered: number;
  readonly highWater: number;
  readonly reason: SubscriptionCloseReason | undefined;
}

interface Published {
  readonly seq: number;
  readonly topic: TopicName;
  readonly label: string;
  /** What `publish` returned. */
  readonly returned: number;
}

interface SubscriberRun {
  readonly spec: SubscriberSpec;
  /** Everything the subscriber read, in order (at `read`, then while draining). */
  readonly received: Env[];
  readonly snapshots: Partial<Record<Step, Snapshot>>;
  /** The seq of the publish right after which it was first seen ended (before `bus.close()`). */
  endedAt: number | undefined;
}

interface Run {
  readonly published: Published[];
  /** How many events had been published when each step's snapshot was taken. */
  readonly publishedBy: Partial<Record<Step, number>>;
  readonly subscribers: ReadonlyMap<string, SubscriberRun>;
}

function snapshot(sub: Sub): Snapshot {
  const { delivered, dropped, buffered, highWater } = sub.stats;
  return { delivered, dropped, buffered, highWater, reason: sub.closedReason };
}

/** Takes exactly `n` events that are already buffered (fails instead of waiting). */
async function take(sub: Sub, n: number): Promise<Env[]> {
  if (sub.stats.buffered < n) {
    throw new Error(`expected ${n} buffered events to read, found ${sub.stats.buffered}`);
  }
  const iterator = sub[Symbol.asyncIterator]();
  const out: Env[] = [];
  for (let i = 0; i < n; i++) {
    const result = await iterator.next();
    if (result.done === true) throw new Error(`subscription ended after ${i} of ${n} reads`);
    out.push(result.value);
  }
  return out;
}

/** Reads an ended subscription to its end with `for await` (fails instead of waiting). */
async function drain(sub: Sub): Promise<Env[]> {
  if (!sub.closed) throw new Error('drain() needs an ended subscription, or it would wait');
  const out: Env[] = [];
  for await (const envelope of sub) out.push(envelope);
  return out;
}

async function runScenario(topology: Topology, whenFull: SubscriberWhenFull): Promise<Run> {
  const bus = new EventBus<Events>();
  const runs = new Map<string, SubscriberRun>();
  const live: { readonly sub: Sub; readonly run: SubscriberRun }[] = [];
  for (const spec of topology.subscribers) {
    const sub: Sub =
      spec.topics === '*'
        ? bus.subscribe('*', { buffer: spec.buffer, whenFull })
        : bus.subscribe(spec.topics, { buffer: spec.buffer, whenFull });
    const run: SubscriberRun = { spec, received: [], snapshots: {}, endedAt: undefined };
    runs.set(spec.name, run);
    live.push({ sub, run });
  }

  const published: Published[] = [];
  const publish: Publish = (topic, label) => {
    const returned = bus.publish(topic, label);
    const seq = published.length + 1;
    published.push({ seq, topic, label, returned });
    for (const { sub, run } of live) if (sub.closed) run.endedAt ??= seq;
  };
  const publishedBy: Partial<Record<Step, number>> = {};
  const record = (step: Step): void => {
    publishedBy[step] = published.length;
    for (const { sub, run } of live) run.snapshots[step] = snapshot(sub);
  };

  await topology.burst(publish);
  record('burst');
  for (const { sub, run } of live) {
    if (run.spec.reads) run.received.push(...(await take(sub, READ_COUNT)));
  }
  record('read');
  await topology.more(publish);
  record('more');
  bus.close();
  for (const { sub, run } of live) run.received.push(...(await drain(sub)));
  record('end');
  return { published, publishedBy, subscribers: runs };
}

/** Publishes `labels` on `topic` one after another, synchronously. */
function sequential(
  topic: TopicName,
  labels: readonly string[],
): (publish: Publish) => Promise<void> {
  return (publish) => {
    for (const label of labels) publish(topic, label);
    return Promise.resolve();
  };
}

/**
 * Runs one publishing flow per entry at once; each flow yields a microtask turn after
 * every publish, so the flows interleave round-robin: a1 b1 c1 a2 b2 c2 …
 */
function interleaved(
  flows: readonly (readonly [TopicName, readonly string[]])[],
): (publish: Publish) => Promise<void> {
  return async (publish) => {
    await Promise.all(
      flows.map(async ([topic, labels]) => {
        for (const label of labels) {
          publish(topic, label);
          await Promise.resolve();
        }
      }),
    );
  };
}

// ---------------------------------------------------------------------------------------
// Topologies
// ---------------------------------------------------------------------------------------

/** burst: seq 1..5 (t1..t5); read 2; more: seq 6..8 (t6..t8). */
const ONE_SUBSCRIBER: Topology = {
  name: 'one subscriber',
  subscribers: [{ name: 'reader', topics: ['tick'], buffer: 3, reads: true }],
  keepingUp: [],
  burst: sequential('tick', ['t1', 't2', 't3', 't4', 't5']),
  more: sequential('tick', ['t6', 't7', 't8']),
};

/** Same script; next to the reader, one small idle buffer and one that never fills. */
const MANY_SUBSCRIBERS: Topology = {
  name: 'many subscribers',
  subscribers: [
    { name: 'reader', topics: ['tick'], buffer: 3, reads: true },
    { name: 'idle', topics: ['tick'], buffer: 2, reads: false },
    { name: 'roomy', topics: '*', buffer: 16, reads: false },
  ],
  keepingUp: ['roomy'],
  burst: sequential('tick', ['t1', 't2', 't3', 't4', 't5']),
  more: sequential('tick', ['t6', 't7', 't8']),
};

/**
 * Three publishing flows on topics a, b, c.
 * burst: a1 b1 c1 a2 b2 c2 (seq 1..6); read 2; more: a3 b3 c3 (seq 7..9).
 * `reader` takes every topic, `ab` only a and b (seqs 1, 2, 4, 5, 7, 8).
 */
const MANY_PUBLISHERS: Topology = {
  name: 'many publishers',
  subscribers: [
    { name: 'reader', topics: '*', buffer: 4, reads: true },
    { name: 'ab', topics: ['a', 'b'], buffer: 2, reads: false },
    { name: 'roomy', topics: '*', buffer: 16, reads: false },
  ],
  keepingUp: ['roomy'],
  burst: interleaved([
    ['a', ['a1', 'a2']],
    ['b', ['b1', 'b2']],
    ['c', ['c1', 'c2']],
  ]),
  more: interleaved([
    ['a', ['a3']],
    ['b', ['b3']],
    ['c', ['c3']],
  ]),
};

const TOPOLOGIES: readonly Topology[] = [ONE_SUBSCRIBER, MANY_SUBSCRIBERS, MANY_PUBLISHERS];

// ---------------------------------------------------------------------------------------
// Expected results, worked out by hand
// ---------------------------------------------------------------------------------------

interface ExpectedSubscriber {
  /** Seqs read, in order. */
  readonly received: readonly number[];
  /** Seqs lost: evicted, refused, or (under 'close') the one that found the buffer full. */
  readonly dropped: readonly number[];
  /** Under 'close': the seq whose publish ended it as a slow consumer. */
  readonly endedAt?: number;
  readonly snapshots: Readonly<Record<Step, Snapshot>>;
}

interface Expected {
  /** Seq by seq, what `publish` returned. */
  readonly returned: readonly number[];
  readonly subscribers: Readonly<Record<string, ExpectedSubscriber>>;
}

function snap(
  delivered: number,
  dropped: number,
  buffered: number,
  highWater: number,
  reason?: SubscriptionCloseReason,
): Snapshot {
  return { delivered, dropped, buffered, highWater, reason };
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

// One reader, buffer 3, seq 1..5 then read 2 then 6..8.
const READER_3: Record<SubscriberWhenFull, ExpectedSubscriber> = {
  // burst: [3 4 5] (1, 2 evicted); read 3 4 → [5]; more: [5 6 7], 8 evicts 5 → [6 7 8].
  'drop-oldest': {
    received: [3, 4, 6, 7, 8],
    dropped: [1, 2, 5],
    snapshots: {
      burst: snap(0, 2, 3, 3),
      read: snap(2, 2, 1, 3),
      more: snap(2, 3, 3, 3),
      end: snap(5, 3, 0, 3, 'bus-closed'),
    },
  },
  // burst: [1 2 3] (4, 5 refused); read 1 2 → [3]; more: [3 6 7], 8 refused.
  'drop-newest': {
    received: [1, 2, 3, 6, 7],
    dropped: [4, 5, 8],
    snapshots: {
      burst: snap(0, 2, 3, 3),
      read: snap(2, 2, 1, 3),
      more: snap(2, 3, 3, 3),
      end: snap(5, 3, 0, 3, 'bus-closed'),
    },
  },
  // burst: [1 2 3], 4 finds it full → ended; 5..8 are not offered. It still reads 1 2 3.
  close: {
    received: [1, 2, 3],
    dropped: [4],
    endedAt: 4,
    snapshots: {
      burst: snap(0, 1, 3, 3, 'slow-consumer'),
      read: snap(2, 1, 1, 3, 'slow-consumer'),
      more: snap(2, 1, 1, 3, 'slow-consumer'),
      end: snap(3, 1, 0, 3, 'slow-consumer'),
    },
  },
};

/** A buffer of 16 never fills with 8 or 9 events: it gets all of them. */
function roomy(total: number, afterBurst: number): ExpectedSubscriber {
  return {
    received: range(1, total),
    dropped: [],
    snapshots: {
      burst: snap(0, 0, afterBurst, afterBurst),
      read: snap(0, 0, afterBurst, afterBurst),
      more: snap(0, 0, total, total),
      end: snap(total, 0, 0, total, 'bus-closed'),
    },
  };
}

const EXPECTED: Readonly<Record<string, Readonly<Record<SubscriberWhenFull, Expected>>>> = {
  [ONE_SUBSCRIBER.name]: {
    'drop-oldest': {
      returned: [1, 1, 1, 1, 1, 1, 1, 1],
      subscribers: { reader: READER_3['drop-oldest'] },
    },
    'drop-newest': {
      returned: [1, 1, 1, 1, 1, 1, 1, 1],
      subscribers: { reader: READER_3['drop-newest'] },
    },
    // From seq 5 on, nobody is subscribed.
    close: { returned: [1, 1, 1, 1, 0, 0, 0, 0], subscribers: { reader: READER_3.close } },
  },
  [MANY_SUBSCRIBERS.name]: {
    'drop-oldest': {
      returned: [3, 3, 3, 3, 3, 3, 3, 3],
      subscribers: {
        reader: READER_3['drop-oldest'],
        // Buffer 2, never read: keeps the 2 newest.
        idle: {
          received: [7, 8],
          dropped: range(1, 6),
          snapshots: {
            burst: snap(0, 3, 2, 2),
            read: snap(0, 3, 2, 2),
            more: snap(0, 6, 2, 2),
            end: snap(2, 6, 0, 2, 'bus-closed'),
          },
        },
        roomy: roomy(8, 5),
      },
    },
    'drop-newest': {
      returned: [3, 3, 3, 3, 3, 3, 3, 3],
      subscribers: {
        reader: READER_3['drop-newest'],
        // Buffer 2, never read: keeps the 2 oldest.
        idle: {
          received: [1, 2],
          dropped: range(3, 8),
          snapshots: {
            burst: snap(0, 3, 2, 2),
            read: snap(0, 3, 2, 2),
            more: snap(0, 6, 2, 2),
            end: snap(2, 6, 0, 2, 'bus-closed'),
          },
        },
        roomy: roomy(8, 5),
      },
    },
    close: {
      // idle ends at seq 3 (still counted for 3), reader at seq 4: from 5 on only roomy.
      returned: [3, 3, 3, 2, 1, 1, 1, 1],
      subscribers: {
        reader: READER_3.close,
        idle: {
          received: [1, 2],
          dropped: [3],
          endedAt: 3,
          snapshots: {
            burst: snap(0, 1, 2, 2, 'slow-consumer'),
            read: snap(0, 1, 2, 2, 'slow-consumer'),
            more: snap(0, 1, 2, 2, 'slow-consumer'),
            end: snap(2, 1, 0, 2, 'slow-consumer'),
          },
        },
        roomy: roomy(8, 5),
      },
    },
  },
  // Seqs: 1 a1, 2 b1, 3 c1, 4 a2, 5 b2, 6 c2, 7 a3, 8 b3, 9 c3.
  // Topic a and b events go to 3 subscribers, topic c events to 2.
  [MANY_PUBLISHERS.name]: {
    'drop-oldest': {
      returned: [3, 3, 2, 3, 3, 2, 3, 3, 2],
      subscribers: {
        // burst: [3 4 5 6] (1, 2 evicted); read 3 4 → [5 6]; more: [5 6 7 8], 9 evicts 5.
        reader: {
          received: [3, 4, 6, 7, 8, 9],
          dropped: [1, 2, 5],
          snapshots: {
            burst: snap(0, 2, 4, 4),
            read: snap(2, 2, 2, 4),
            more: snap(2, 3, 4, 4),
            end: snap(6, 3, 0, 4, 'bus-closed'),
          },
        },
        // Offered 1 2 4 5 7 8: burst [4 5]; more: 7 evicts 4, 8 evicts 5 → [7 8].
        ab: {
          received: [7, 8],
          dropped: [1, 2, 4, 5],
          snapshots: {
            burst: snap(0, 2, 2, 2),
            read: snap(0, 2, 2, 2),
            more: snap(0, 4, 2, 2),
            end: snap(2, 4, 0, 2, 'bus-closed'),
          },
        },
        roomy: roomy(9, 6),
      },
    },
    'drop-newest': {
      returned: [3, 3, 2, 3, 3, 2, 3, 3, 2],
      subscribers: {
        // burst: [1 2 3 4] (5, 6 refused); read 1 2 → [3 4]; more: [3 4 7 8], 9 refused.
        reader: {
          received: [1, 2, 3, 4, 7, 8],
          dropped: [5, 6, 9],
          snapshots: {
            burst: snap(0, 2, 4, 4),
            read: snap(2, 2, 2, 4),
            more: snap(2, 3, 4, 4),
            end: snap(6, 3, 0, 4, 'bus-closed'),
          },
        },
        // Offered 1 2 4 5 7 8: keeps [1 2], refuses the rest.
        ab: {
          received: [1, 2],
          dropped: [4, 5, 7, 8],
          snapshots: {
            burst: snap(0, 2, 2, 2),
            read: snap(0, 2, 2, 2),
            more: snap(0, 4, 2, 2),
            end: snap(2, 4, 0, 2, 'bus-closed'),
          },
        },
        roomy: roomy(9, 6),
      },
    },
    close: {
      // ab ends at seq 4 (a2), reader at seq 5 (b2): from 6 on only roomy.
      returned: [3, 3, 2, 3, 2, 1, 1, 1, 1],
      subscribers: {
        reader: {
          received: [1, 2, 3, 4],
          dropped: [5],
          endedAt: 5,
          snapshots: {
            burst: snap(0, 1, 4, 4, 'slow-consumer'),
            read: snap(2, 1, 2, 4, 'slow-consumer'),
            more: snap(2, 1, 2, 4, 'slow-consumer'),
            end: snap(4, 1, 0, 4, 'slow-consumer'),
          },
        },
        ab: {
          received: [1, 2],
          dropped: [4],
          endedAt: 4,
          snapshots: {
            burst: snap(0, 1, 2, 2, 'slow-consumer'),
            read: snap(0, 1, 2, 2, 'slow-consumer'),
            more: snap(0, 1, 2, 2, 'slow-consumer'),
            end: snap(2, 1, 0, 2, 'slow-consumer'),
          },
        },
        roomy: roomy(9, 6),
      },
    },
  },
};

interface Row {
  readonly topology: Topology;
  readonly policy: SubscriberWhenFull;
  readonly expected: Expected;
}

const ROWS: readonly Row[] = TOPOLOGIES.flatMap((topology) =>
  POLICIES.map((policy) => {
    const expected = EXPECTED[topology.name]?.[policy];
    if (expected === undefined) throw new Error(`no expectation for ${topology.name} × ${policy}`);
    return { topology, policy, expected };
  }),
);

function expectedFor(expected: Expected, name: string): ExpectedSubscriber {
  const found = expected.subscribers[name];
  if (found === undefined) throw new Error(`no expectation for subscriber ${name}`);
  return found;
}

function subscriberRun(run: Run, name: string): SubscriberRun {
  const found = run.subscribers.get(name);
  if (found === undefined) throw new Error(`no subscriber named ${name}`);
  return found;
}

/** Topic filter of a subscriber spec. */
function wants(spec: SubscriberSpec, topic: TopicName): boolean {
  return spec.topics === '*' || spec.topics.includes(topic);
}

// ---------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------

describe.each(ROWS)(
  'EventBus matrix: $topology.name, whenFull $policy',
  ({ topology, policy, expected }) => {
    it('publish returns, event by event, how many subscribers it was offered to', async () => {
      const run = await runScenario(topology, policy);
      expect(run.published.map((p) => p.returned)).toEqual(expected.returned);
    });

    it('delivers to each subscriber exactly the expected seqs, in order', async () => {
      const run = await runScenario(topology, policy);
      for (const { name } of topology.subscribers) {
        const want = expectedFor(expected, name);
        const got = subscriberRun(run, name).received.map((e) => e.seq);
        expect(got, name).toEqual(want.received);
      }
    });

    it('drops exactly the expected seqs: with the received ones, precisely the events offered', async () => {
      const run = await runScenario(topology, policy);
      for (const { name } of topology.subscribers) {
        const want = expectedFor(expected, name);
        const sub = subscriberRun(run, name);
        // Offered: every event on its topics, up to the publish that ended it (if any).
        const lastOffered = want.endedAt ?? run.published.length;
        const offered = run.published
          .filter((p) => wants(sub.spec, p.topic) && p.seq <= lastOffered)
          .map((p) => p.seq);
        const received = sub.received.map((e) => e.seq);
        const lost = offered.filter((seq) => !received.includes(seq));
        expect(lost, name).toEqual(want.dropped);
        expect(sub.snapshots.end?.dropped, name).toBe(want.dropped.length);
        expect(
          received.every((seq) => offered.includes(seq)),
          name,
        ).toBe(true);
      }
    });

    it.each(STEPS)(
      'counts delivered, dropped, buffered and highWater exactly after step "%s"',
      async (step) => {
        const run = await runScenario(topology, policy);
        for (const { name } of topology.subscribers) {
          const want = expectedFor(expected, name);
          expect(subscriberRun(run, name).snapshots[step], `${name} after ${step}`).toEqual(
            want.snapshots[step],
          );
        }
      },
    );

    it('never buffers more than a subscriber buffer holds', async () => {
      const run = await runScenario(topology, policy);
      for (const sub of run.subscribers.values()) {
        for (const step of STEPS) {
          const s = sub.snapshots[step];
          expect(s?.buffered, `${sub.spec.name} after ${step}`).toBeLessThanOrEqual(
            sub.spec.buffer,
          );
          expect(s?.highWater, `${sub.spec.name} after ${step}`).toBeLessThanOrEqual(
            sub.spec.buffer,
          );
        }
      }
    });

    it('keeps delivered + dropped + buffered equal to the events offered so far', async () => {
      const run = await runScenario(topology, policy);
      for (const sub of run.subscribers.values()) {
        for (const step of STEPS) {
          // Offered: events on its topics published by this step, up to the one that ended it.
          const lastOffered = Math.min(sub.endedAt ?? Infinity, run.publishedBy[step] ?? NaN);
          const offered = run.published.filter(
            (p) => wants(sub.spec, p.topic) && p.seq <= lastOffered,
          ).length;
          const s = sub.snapshots[step];
          expect(s && s.delivered + s.dropped + s.buffered, `${sub.spec.name} after ${step}`).toBe(
            offered,
          );
        }
      }
    });

    it('gives each subscriber an increasing subsequence of the publish order, no duplicates, payloads as published', async () => {
      const run = await runScenario(topology, policy);
      for (const sub of run.subscribers.values()) {
        let last = 0;
        for (const envelope of sub.received) {
          expect(envelope.seq, sub.spec.name).toBeGreaterThan(last);
          last = envelope.seq;
          const original = run.published[envelope.seq - 1];
          expect(original, sub.spec.name).toBeDefined();
          expect({ topic: envelope.topic, payload: envelope.payload }, sub.spec.name).toEqual({
            topic: original?.topic,
            payload: original?.label,
          });
          expect(wants(sub.spec, envelope.topic), sub.spec.name).toBe(true);
        }
      }
    });

    it('ends each subscriber as expected: a slow consumer at its overflowing publish, the rest with the bus', async () => {
      const run = await runScenario(topology, policy);
      for (const { name } of topology.subscribers) {
        const want = expectedFor(expected, name);
        const sub = subscriberRun(run, name);
        expect(sub.endedAt, name).toBe(want.endedAt);
        expect(sub.snapshots.end?.reason, name).toBe(
          want.endedAt === undefined ? 'bus-closed' : 'slow-consumer',
        );
      }
    });
  },
);

describe.each(ROWS.filter((row) => row.topology.keepingUp.length > 0))(
  'EventBus matrix: $topology.name, whenFull $policy, subscribers that keep up',
  ({ topology, policy }) => {
    it('get every event on their topics, whatever happens to the slow ones', async () => {
      const run = await runScenario(topology, policy);
      for (const name of topology.keepingUp) {
        const sub = subscriberRun(run, name);
        const all = run.published.filter((p) => wants(sub.spec, p.topic)).map((p) => p.seq);
        expect(
          sub.received.map((e) => e.seq),
          name,
        ).toEqual(all);
        expect(sub.snapshots.end, name).toMatchObject({ dropped: 0, reason: 'bus-closed' });
      }
    });
  },
);

describe("EventBus matrix: the publish order of the 'many publishers' flows", () => {
  it('interleaves the publishing flows round-robin', async () => {
    const run = await runScenario(MANY_PUBLISHERS, 'drop-oldest');
    expect(run.published.map((p) => p.label)).toEqual([
      'a1',
      'b1',
      'c1',
      'a2',
      'b2',
      'c2',
      'a3',
      'b3',
      'c3',
    ]);
  });
});
