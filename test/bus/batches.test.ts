/**
 * Batched consumption, `Subscription.batches()`: each step hands over everything buffered
 * at once, and what a batched consumer gets — the envelopes, their order, the drops, the
 * ending — is exactly what a per-envelope consumer of the same events gets.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EventBus,
  type EnvelopeOf,
  type SubscriberWhenFull,
  type Subscription,
} from '../../src/index.js';

interface Events {
  a: number;
  b: number;
}
type Env = EnvelopeOf<Events>;

const seqs = (batch: readonly Env[]): number[] => batch.map((e) => e.seq);

describe('Subscription.batches()', () => {
  it('hands over everything buffered as one batch, oldest first', async () => {
    const bus = new EventBus<Events>();
    const sub = bus.subscribe('*');
    for (let i = 0; i < 5; i++) bus.publish('a', i);
    const batches = sub.batches();
    const step = await batches.next();
    expect(step.done).toBe(false);
    expect((step.value as Env[]).map((e) => e.payload)).toEqual([0, 1, 2, 3, 4]);
    expect(sub.stats).toMatchObject({ delivered: 5, buffered: 0, dropped: 0 });
  });

  it('waits while nothing is buffered, then batches what arrived by its wake-up', async () => {
    const bus = new EventBus<Events>();
    const sub = bus.subscribe('*');
    const next = sub.batches().next();
    bus.publish('a', 1);
    bus.publish('b', 2); // arrives before the parked consumer resumes
    const step = await next;
    expect((step.value as Env[]).map((e) => [e.topic, e.payload])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('ends after the last buffered batch once the bus closes', async () => {
    const bus = new EventBus<Events>();
    const sub = bus.subscribe('*');
    bus.publish('a', 1);
    bus.close();
    const got: number[][] = [];
    for await (const batch of sub.batches()) got.push(seqs(batch));
    expect(got).toEqual([[1]]);
    expect(sub.closedReason).toBe('bus-closed');
  });

  it('a consumer parked in next() ends when the bus closes', async () => {
    const bus = new EventBus<Events>();
    const next = bus.subscribe('*').batches().next();
    bus.close();
    await expect(next).resolves.toEqual({ done: true, value: undefined });
  });

  it('leaving the loop early unsubscribes and discards what is buffered', async () => {
    const bus = new EventBus<Events>();
    const sub = bus.subscribe('*', { buffer: 4 });
    bus.publish('a', 1);
    for await (const batch of sub.batches()) {
      expect(seqs(batch)).toEqual([1]);
      bus.publish('a', 2);
      break;
    }
    expect(sub.closedReason).toBe('unsubscribed');
    expect(sub.stats).toMatchObject({ delivered: 1, dropped: 1, buffered: 0 });
    expect(bus.subscriberCount).toBe(0);
  });

  it('counts drops as the per-envelope iterator does', async () => {
    const bus = new EventBus<Events>();
    const sub = bus.subscribe('*', { buffer: 2, whenFull: 'drop-oldest' });
    for (let i = 0; i < 5; i++) bus.publish('a', i);
    const step = await sub.batches().next();
    expect((step.value as Env[]).map((e) => e.payload)).toEqual([3, 4]);
    expect(sub.stats).toMatchObject({ delivered: 2, dropped: 3, buffered: 0, highWater: 2 });
  });
});

// ---------------------------------------------------------------------------------------
// Property: batched consumption is per-envelope consumption, batch by batch
// ---------------------------------------------------------------------------------------

/** A publish of one topic, or a turn of both consumers (each takes what it holds). */
type Step = { readonly publish: keyof Events } | { readonly consume: true };

interface Scenario {
  readonly buffer: number;
  readonly whenFull: SubscriberWhenFull;
  readonly topics: '*' | readonly (keyof Events)[];
  readonly steps: readonly Step[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  buffer: fc.integer({ min: 1, max: 6 }),
  whenFull: fc.constantFrom<SubscriberWhenFull>('drop-oldest', 'drop-newest', 'close'),
  topics: fc.oneof(
    fc.constant('*' as const),
    fc.constant(['a'] as const),
    fc.constant(['a', 'b'] as const),
  ),
  steps: fc.array(
    fc.oneof(
      fc.record({ publish: fc.constantFrom<keyof Events>('a', 'b') }),
      fc.constant({ consume: true } as const),
    ),
    { maxLength: 40 },
  ),
});

/** Takes, without waiting, what a per-envelope consumer would take now. */
async function takeEach(iterator: AsyncIterator<Env>, sub: Subscription<Env>): Promise<Env[]> {
  const out: Env[] = [];
  while (sub.stats.buffered > 0) {
    const step = await iterator.next();
    if (step.done === true) break;
    out.push(step.value);
  }
  return out;
}

describe('Subscription.batches() property', () => {
  it('yields exactly the per-envelope sequence, with the same drops and the same ending', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ buffer, whenFull, topics, steps }) => {
        const bus = new EventBus<Events>();
        const each = bus.subscribe(topics, { buffer, whenFull }) as Subscription<Env>;
        const batched = bus.subscribe(topics, { buffer, whenFull }) as Subscription<Env>;
        const perEnvelope = each[Symbol.asyncIterator]();
        const batches = batched.batches();
        const fromEach: number[] = [];
        const fromBatches: number[] = [];
        let payload = 0;
        for (const step of steps) {
          if ('publish' in step) {
            bus.publish(step.publish, payload++);
            continue;
          }
          fromEach.push(...seqs(await takeEach(perEnvelope, each)));
          if (batched.stats.buffered > 0) {
            const batch = await batches.next();
            expect(batch.done).toBe(false);
            expect((batch.value as Env[]).length).toBeGreaterThan(0);
            fromBatches.push(...seqs(batch.value as Env[]));
          }
          expect(fromBatches).toEqual(fromEach);
          expect(batched.stats).toEqual(each.stats);
        }
        bus.close();
        for (let s = await perEnvelope.next(); s.done !== true; s = await perEnvelope.next()) {
          fromEach.push(s.value.seq);
        }
        for (let b = await batches.next(); b.done !== true; b = await batches.next()) {
          fromBatches.push(...seqs(b.value));
        }
        expect(fromBatches).toEqual(fromEach);
        expect(batched.stats).toEqual(each.stats);
        expect(batched.closedReason).toBe(each.closedReason);
      }),
      { numRuns: 300 },
    );
  });
});
