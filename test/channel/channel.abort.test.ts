import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AbortError, Channel, isAbortError, type ReceiveResult } from '../../src/index.js';
import { abortAtEveryStep, turns } from '../helpers/steps.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

type Settled<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

function drain<T>(channel: Channel<T>): T[] {
  const out: T[] = [];
  for (;;) {
    const result = channel.tryReceive();
    if (!result.ok) return out;
    out.push(result.value);
  }
}

function expectAborted(error: unknown, signal: AbortSignal): void {
  expect(isAbortError(error)).toBe(true);
  expect(error).toBeInstanceOf(AbortError);
  expect((error as AbortError).cause).toBe(signal.reason);
}

const taken = <T>(result: ReceiveResult<T>): T[] => (result.ok ? [result.value] : []);

describe('Channel: abort at every step', () => {
  describe.each([
    { capacity: 1, label: "a full capacity-1 'block' channel" },
    { capacity: 0, label: 'a capacity-0 (rendezvous) channel' },
  ])('on $label', ({ capacity }) => {
    it('a waiting send is either delivered exactly once or aborted and never delivered', async () => {
      const seen = { completed: 0, aborted: 0 };
      const steps = await abortAtEveryStep(async (signal) => {
        const ch = new Channel<string>({ capacity });
        if (capacity > 0) expect(ch.trySend('filler')).toBe(true);
        const sending = ch.send('value', { signal });
        // A receiver frees room (or takes the value) after a few microtask turns.
        const consumer = (async () => {
          await turns(3);
          return ch.tryReceive();
        })();

        const outcome = await settle(sending);
        const delivered = [...taken(await consumer), ...drain(ch)].filter((v) => v === 'value');
        if (outcome.ok) {
          seen.completed++;
          expect(outcome.value).toBe(true);
          expect(delivered).toEqual(['value']);
        } else {
          seen.aborted++;
          expectAborted(outcome.error, signal);
          expect(delivered).toEqual([]);
        }
        // No sender is left waiting: the buffer is empty, and tryReceive would admit one.
        expect(ch.tryReceive()).toEqual({ ok: false, closed: false });
        const accepted = (capacity > 0 ? 1 : 0) + (outcome.ok ? 1 : 0);
        const stats = ch.stats;
        expect(stats.sent).toBe(stats.received + stats.dropped + stats.buffered);
        expect(stats).toEqual({
          sent: accepted,
          received: accepted,
          dropped: 0,
          buffered: 0,
          highWater: capacity,
        });
        expect(listeners(signal)).toBe(0);
      });
      expect(steps).toBeGreaterThanOrEqual(3);
      expect(seen.completed).toBeGreaterThan(0);
      expect(seen.aborted).toBeGreaterThan(0);
    });

    it('a waiting receive either gets the value exactly once or is aborted and the value stays undelivered', async () => {
      const seen = { completed: 0, aborted: 0 };
      const steps = await abortAtEveryStep(async (signal) => {
        const ch = new Channel<string>({ capacity });
        const receiving = ch.receive({ signal });
        // A sender delivers after a few microtask turns.
        const producer = (async () => {
          await turns(3);
          return ch.trySend('value');
        })();

        const outcome = await settle(receiving);
        const handedOver = await producer;
        const leftover = drain(ch);
        if (outcome.ok) {
          seen.completed++;
          expect(outcome.value).toBe('value');
          expect(handedOver).toBe(true);
          expect(leftover).toEqual([]);
        } else {
          seen.aborted++;
          expectAborted(outcome.error, signal);
          // Not handed to the aborted receiver: buffered if there is room, else refused.
          expect(handedOver).toBe(capacity > 0);
          expect(leftover).toEqual(capacity > 0 ? ['value'] : []);
        }
        // No receiver is left waiting: a new value is buffered (or, with capacity 0, refused)
        // instead of being handed to a stale receiver.
        expect(ch.trySend('probe')).toBe(capacity > 0);
        expect(ch.size).toBe(capacity > 0 ? 1 : 0);
        drain(ch);
        const stats = ch.stats;
        expect(stats.sent).toBe(stats.received + stats.dropped + stats.buffered);
        const accepted = (outcome.ok || capacity > 0 ? 1 : 0) + (capacity > 0 ? 1 : 0);
        expect(stats).toMatchObject({ sent: accepted, received: accepted, buffered: 0 });
        expect(listeners(signal)).toBe(0);
      });
      expect(steps).toBeGreaterThanOrEqual(3);
      expect(seen.completed).toBeGreaterThan(0);
      expect(seen.aborted).toBeGreaterThan(0);
    });
  });
});

describe('Channel: listener hygiene', () => {
  it('one long-lived signal passed to 100,000 sends and 100,000 receives keeps no listener', async () => {
    const N = 100_000;
    const { signal } = new AbortController();
    const ch = new Channel<number>({ capacity: 1 });
    let sendsThatWaited = 0;
    let receivesThatWaited = 0;
    // At most one parked sender and one parked receiver hold a listener at any time;
    // fail at once otherwise (rather than crawl on with thousands of listeners).
    const checkListeners = (where: string): void => {
      const count = listeners(signal);
      if (count > 2) throw new Error(`${count} abort listeners on the signal at ${where}`);
    };

    const producer = (async () => {
      for (let i = 0; i < N; i++) {
        const before = ch.stats.sent;
        const sending = ch.send(i, { signal });
        if (ch.stats.sent === before) sendsThatWaited++;
        checkListeners(`send #${i}`);
        expect(await sending).toBe(true);
        // Second half: a slower producer, so the consumer finds the channel empty and waits.
        if (i >= N / 2) await turns(2);
      }
    })();
    const consumer = (async () => {
      for (let i = 0; i < N; i++) {
        const before = ch.stats.received;
        const receiving = ch.receive({ signal });
        if (ch.stats.received === before) receivesThatWaited++;
        checkListeners(`receive #${i}`);
        const value = await receiving;
        if (value !== i) throw new Error(`receive #${i} got ${value}`);
        // First half: a slower consumer, so the producer finds the channel full and waits.
        if (i < N / 2) await turns(2);
      }
    })();
    await Promise.all([producer, consumer]);

    expect(listeners(signal)).toBe(0);
    // The waits were real: about half of each parked (and so added a listener).
    expect(sendsThatWaited).toBeGreaterThan(N / 4);
    expect(receivesThatWaited).toBeGreaterThan(N / 4);
    expect(ch.stats).toEqual({ sent: N, received: N, dropped: 0, buffered: 0, highWater: 1 });
  });
});
