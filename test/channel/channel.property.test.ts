import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Channel, ClosedError, type ReceiveResult, type WhenFull } from '../../src/index.js';

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/** A value tagged with who sent it and its place in that sender's sequence. */
interface Msg {
  readonly sender: number;
  readonly seq: number;
}

const byOrigin = (a: Msg, b: Msg): number => a.sender - b.sender || a.seq - b.seq;

/** Tracks whether every promise has settled, without awaiting (so a hang is reported, not waited on). */
function tracked(promises: readonly Promise<unknown>[]): {
  readonly pending: () => number;
  readonly failures: unknown[];
} {
  let pending = promises.length;
  const failures: unknown[] = [];
  for (const promise of promises) {
    promise.then(
      () => pending--,
      (error: unknown) => {
        pending--;
        failures.push(error);
      },
    );
  }
  return { pending: () => pending, failures };
}

/** Releases every scheduled task, then checks every task settled and none failed. */
async function runToEnd(s: fc.Scheduler, tasks: readonly Promise<unknown>[]): Promise<void> {
  const state = tracked(tasks);
  await s.waitIdle();
  if (state.pending() > 0) {
    const order = s.report().map((task) => `${task.status}: ${task.label}`);
    throw new Error(`${state.pending()} task(s) never settled; tasks:\n${order.join('\n')}`);
  }
  if (state.failures.length > 0) throw state.failures[0];
}

function drain<T>(channel: Channel<T>): T[] {
  const out: T[] = [];
  for (;;) {
    const result = channel.tryReceive();
    if (!result.ok) return out;
    out.push(result.value);
  }
}

/** Checks that, for each sender, `values` holds that sender's values in increasing order. */
function expectPerSenderOrder(values: readonly Msg[]): void {
  const last = new Map<number, number>();
  for (const { sender, seq } of values) {
    expect(seq).toBeGreaterThan(last.get(sender) ?? -1);
    last.set(sender, seq);
  }
}

const DROP_POLICIES = ['drop-oldest', 'drop-newest', 'close'] as const;

// ---------------------------------------------------------------------------------------

describe("Channel properties: 'block' with concurrent senders and receivers", () => {
  it('loses, duplicates and reorders nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        async (s, capacity, perSender, receiverCount) => {
          const ch = new Channel<Msg>({ capacity });
          const senders = perSender.map(async (count, sender) => {
            for (let seq = 0; seq < count; seq++) {
              await s.schedule(Promise.resolve(), `sender ${sender} sends #${seq}`);
              if (!(await ch.send({ sender, seq }))) throw new Error('block send returned false');
            }
          });
          const received: Msg[][] = [];
          const receivers = Array.from({ length: receiverCount }, async (_, receiver) => {
            const got: Msg[] = [];
            received.push(got);
            for (;;) {
              await s.schedule(Promise.resolve(), `receiver ${receiver} receives`);
              try {
                got.push(await ch.receive());
              } catch (error) {
                if (error instanceof ClosedError) return;
                throw error;
              }
            }
          });
          const closing = (async () => {
            await Promise.all(senders);
            await s.schedule(Promise.resolve(), 'close');
            ch.close();
          })();

          await runToEnd(s, [...senders, ...receivers, closing]);

          const expected = perSender.flatMap((count, sender) =>
            Array.from({ length: count }, (_, seq) => ({ sender, seq })),
          );
          expect(received.flat().sort(byOrigin)).toEqual(expected);
          for (const got of received) expectPerSenderOrder(got);
          const total = expected.length;
          const { highWater, ...counts } = ch.stats;
          expect(counts).toEqual({ sent: total, received: total, dropped: 0, buffered: 0 });
          expect(highWater).toBeLessThanOrEqual(capacity);
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------

/** The reference model: a plain array and counters. */
class Model {
  readonly buffer: number[] = [];
  readonly dropped: number[] = [];
  closedReason: string | undefined;
  sent = 0;
  received = 0;
  highWater = 0;

  constructor(
    readonly capacity: number,
    readonly whenFull: WhenFull,
  ) {}

  trySend(value: number): boolean {
    if (this.closedReason !== undefined) return false;
    if (this.buffer.length < this.capacity) {
      this.buffer.push(value);
      this.sent++;
      this.highWater = Math.max(this.highWater, this.buffer.length);
      return true;
    }
    switch (this.whenFull) {
      case 'block':
        return false;
      case 'drop-oldest':
        this.sent++;
        this.dropped.push(this.buffer.shift() as number);
        this.buffer.push(value);
        return true;
      case 'drop-newest':
        this.sent++;
        this.dropped.push(value);
        return false;
      case 'close':
        this.sent++;
        this.dropped.push(value);
        this.closedReason = 'overflow';
        return false;
    }
  }

  tryReceive(): ReceiveResult<number> {
    const value = this.buffer.shift();
    if (value === undefined) return { ok: false, closed: this.closedReason !== undefined };
    this.received++;
    return { ok: true, value };
  }

  close(reason: string): void {
    this.closedReason ??= reason;
  }
}

type Op = 'send' | 'receive' | 'close';

const opsArb = fc.array(
  fc.oneof(
    { arbitrary: fc.constant<Op>('send'), weight: 12 },
    { arbitrary: fc.constant<Op>('receive'), weight: 8 },
    { arbitrary: fc.constant<Op>('close'), weight: 1 },
  ),
  { maxLength: 80 },
);

describe('Channel properties: trySend/tryReceive against a model', () => {
  it.each([...DROP_POLICIES, 'block' as const])(
    '%s: results, dropped values and stats match the model at every step',
    (whenFull) => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 5 }), opsArb, (capacity, ops) => {
          const dropped: number[] = [];
          const ch = new Channel<number>({
            capacity,
            whenFull,
            onDrop: (value) => dropped.push(value),
          });
          const model = new Model(capacity, whenFull);
          let next = 0;
          for (const op of ops) {
            if (op === 'send') {
              const value = next++;
              expect(ch.trySend(value)).toBe(model.trySend(value));
            } else if (op === 'receive') {
              expect(ch.tryReceive()).toEqual(model.tryReceive());
            } else {
              ch.close('explicit');
              model.close('explicit');
            }
            expect(dropped).toEqual(model.dropped);
            const stats = ch.stats;
            expect(stats).toEqual({
              sent: model.sent,
              received: model.received,
              dropped: model.dropped.length,
              buffered: model.buffer.length,
              highWater: model.highWater,
            });
            expect(stats.sent).toBe(stats.received + stats.dropped + stats.buffered);
            expect(ch.size).toBe(model.buffer.length);
            expect(ch.closedReason).toBe(model.closedReason);
          }
          expect(drain(ch)).toEqual(model.buffer);
        }),
        { numRuns: 500 },
      );
    },
  );
});

// ---------------------------------------------------------------------------------------

describe('Channel properties: a scheduled producer and a for-await consumer', () => {
  it.each(DROP_POLICIES)(
    '%s: every value sent is received (in order) or dropped, never both',
    async (whenFull) => {
      await fc.assert(
        fc.asyncProperty(
          fc.scheduler(),
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 0, max: 30 }),
          async (s, capacity, count) => {
            const dropped: number[] = [];
            const ch = new Channel<number>({
              capacity,
              whenFull,
              onDrop: (value) => dropped.push(value),
            });
            const received: number[] = [];
            /** Values the channel took responsibility for (send did not throw), with send's result. */
            const sent = new Map<number, boolean>();
            const consumer = (async () => {
              for await (const value of ch) {
                received.push(value);
                await s.schedule(Promise.resolve(), `consumer got ${value}`);
              }
            })();
            const producer = (async () => {
              for (let value = 0; value < count; value++) {
                await s.schedule(Promise.resolve(), `send ${value}`);
                try {
                  sent.set(value, await ch.send(value));
                } catch (error) {
                  // Only the 'close' policy closes the channel under the producer.
                  if (whenFull === 'close' && error instanceof ClosedError) break;
                  throw error;
                }
              }
              ch.close();
            })();

            await runToEnd(s, [consumer, producer]);

            const stats = ch.stats;
            expect(stats.sent).toBe(sent.size);
            expect(stats.sent).toBe(stats.received + stats.dropped);
            expect(stats.buffered).toBe(0);
            expect(stats.received).toBe(received.length);
            expect(stats.dropped).toBe(dropped.length);
            expect(stats.highWater).toBeLessThanOrEqual(capacity);
            // Received values are a subsequence of the send order.
            for (let i = 1; i < received.length; i++) {
              expect(received[i]).toBeGreaterThan(received[i - 1] as number);
            }
            // Dropped and received partition what was sent.
            const all = [...received, ...dropped].sort((a, b) => a - b);
            expect(all).toEqual([...sent.keys()]);
            // send's result says whether its own value was dropped (drop-oldest drops others).
            for (const [value, result] of sent) {
              const droppedItself = whenFull !== 'drop-oldest' && dropped.includes(value);
              expect(result).toBe(!droppedItself);
            }
            expect(ch.closedReason).toBe(
              whenFull === 'close' && dropped.length > 0 ? 'overflow' : 'closed',
            );
          },
        ),
        { numRuns: 500 },
      );
    },
  );
});

// ---------------------------------------------------------------------------------------

describe('Channel properties: close() at a random point', () => {
  it('ends every receiver loop, refuses every waiting sender and loses no accepted value', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 0, max: 2 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 0, max: 12 }),
        async (s, capacity, perSender, receiverCount, closeHops) => {
          const ch = new Channel<Msg>({ capacity });
          const accepted: Msg[] = [];
          const refusedAfterWaiting: Msg[] = [];
          let acceptedAtOnce = 0;
          let parked = 0;
          let waitingAtClose: number | undefined;

          const senders = perSender.map(async (count, sender) => {
            for (let seq = 0; seq < count; seq++) {
              await s.schedule(Promise.resolve(), `sender ${sender} sends #${seq}`);
              const msg = { sender, seq };
              const wasClosed = ch.closed;
              const sentBefore = ch.stats.sent;
              const sending = ch.send(msg);
              // send runs synchronously up to its hand-off, buffering or parking.
              const waited = !wasClosed && ch.stats.sent === sentBefore;
              if (waited) parked++;
              else if (!wasClosed) acceptedAtOnce++;
              try {
                expect(await sending).toBe(true);
                accepted.push(msg);
              } catch (error) {
                if (!(error instanceof ClosedError)) throw error;
                if (waited) refusedAfterWaiting.push(msg);
                return;
              }
            }
          });
          const received: Msg[][] = [];
          let loopsEnded = 0;
          const receivers = Array.from({ length: receiverCount }, async (_, receiver) => {
            const got: Msg[] = [];
            received.push(got);
            for await (const msg of ch) {
              got.push(msg);
              await s.schedule(Promise.resolve(), `receiver ${receiver} got a value`);
            }
            loopsEnded++;
          });
          const closing = (async () => {
            // A random number of scheduler hops spreads the close over the whole run.
            for (let hop = 0; hop <= closeHops; hop++) {
              await s.schedule(Promise.resolve(), `close in ${closeHops - hop}`);
            }
            // Senders that parked and have not been admitted yet are still waiting.
            waitingAtClose = parked - (ch.stats.sent - acceptedAtOnce);
            ch.close('stop');
          })();

          await runToEnd(s, [...senders, ...receivers, closing]);

          expect(loopsEnded).toBe(receiverCount);
          expect(ch.closedReason).toBe('stop');
          expect(refusedAfterWaiting).toHaveLength(waitingAtClose ?? -1);
          const delivered = [...received.flat(), ...drain(ch)];
          expect([...delivered].sort(byOrigin)).toEqual([...accepted].sort(byOrigin));
          for (const got of received) expectPerSenderOrder(got);
          const { highWater: _, ...counts } = ch.stats;
          expect(counts).toEqual({
            sent: accepted.length,
            received: accepted.length,
            dropped: 0,
            buffered: 0,
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});
