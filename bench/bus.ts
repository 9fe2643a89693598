/**
 * EventBus fan-out: 1 publisher → 10 subscribers, consumed by async iteration
 * (workbus `subscribe('*')` vs Node's `events.on()` vs emittery's `events()`) and by
 * synchronous listeners (workbus `on` vs raw eventemitter3, the floor); then the heap a
 * slow consumer costs (workbus's bounded drop-oldest buffer vs `events.on()`'s
 * unbounded queue).
 *
 * Fairness of the async cases: every peer publishes in batches of {@link BATCH} events
 * (workbus's default buffer size) and yields to the event loop (`setImmediate`) after
 * each batch, so every consumer drains what it holds before the next batch; at the end
 * every subscriber must have received every event, or the case throws.
 */
import { EventEmitter, on } from 'node:events';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import Emittery from 'emittery';
import { EventEmitter as EventEmitter3 } from 'eventemitter3';
import { EventBus } from 'workbus';
import { measure, printTable, type Case, type Row } from './harness.js';

const SUBSCRIBERS = 10;
/** Events published between two yields; no larger than workbus's default buffer (256). */
const BATCH = 256;

interface TickEvents {
  tick: number;
}

/** Publishes `ops` events, yielding to the event loop after every batch (and the last). */
async function publishInBatches(ops: number, publish: (i: number) => void): Promise<void> {
  for (let i = 0; i < ops;) {
    const end = Math.min(ops, i + BATCH);
    for (; i < end; i++) publish(i);
    await setImmediate();
  }
}

/**
 * Runs one async-iterator fan-out: starts a `for await` consumer on each iterable,
 * publishes `ops` events in batches, then calls `end` (which must end every loop once
 * it has consumed what it holds) and checks that each consumer counted `ops` events
 * (`eventsIn` tells how many events one iterated value holds: 1, or a batch's length).
 */
async function fanOutAsync(
  name: string,
  ops: number,
  iterables: readonly AsyncIterable<unknown>[],
  publish: (i: number) => void,
  end: () => void | Promise<void>,
  eventsIn: (value: unknown) => number = () => 1,
): Promise<void> {
  const consumers = iterables.map(async (iterable) => {
    let received = 0;
    for await (const value of iterable) received += eventsIn(value);
    return received;
  });
  try {
    await publishInBatches(ops, publish);
  } finally {
    await end();
  }
  const counts = await Promise.all(consumers);
  if (counts.some((n) => n !== ops)) {
    throw new Error(`${name}: lost events; subscribers received ${counts.join(', ')} of ${ops}`);
  }
}

/** Checks synchronous listener counters, the same way. */
function checkCounts(name: string, ops: number, counts: readonly { n: number }[]): void {
  if (counts.some((c) => c.n !== ops)) {
    throw new Error(
      `${name}: lost events; listeners received ${counts.map((c) => c.n).join(', ')} of ${ops}`,
    );
  }
}

const counters = (): { n: number }[] => Array.from({ length: SUBSCRIBERS }, () => ({ n: 0 }));

/**
 * workbus's fan-out: 10 `subscribe('*')` consumers, per envelope or in batches; the bus
 * closes at the end (subscriptions end `'bus-closed'` once drained), and none may drop.
 */
async function workbusFanOut(ops: number, batched: boolean): Promise<void> {
  const bus = new EventBus<TickEvents>({ maxSubscribers: SUBSCRIBERS });
  const subs = Array.from({ length: SUBSCRIBERS }, () => bus.subscribe('*', { buffer: BATCH }));
  const name = batched ? 'workbus batches' : 'workbus subscribe';
  await fanOutAsync(
    name,
    ops,
    batched ? subs.map((sub) => ({ [Symbol.asyncIterator]: () => sub.batches() })) : subs,
    (i) => bus.publish('tick', i),
    () => bus.close(),
    batched ? (batch) => (batch as readonly unknown[]).length : undefined,
  );
  for (const sub of subs) {
    if (sub.stats.dropped !== 0) throw new Error(`${name}: dropped ${sub.stats.dropped}`);
  }
}

const asyncCases: Case[] = [
  { name: "workbus subscribe('*') + for await", run: (ops) => workbusFanOut(ops, false) },
  {
    name: "workbus subscribe('*') + for await of batches()",
    run: (ops) => workbusFanOut(ops, true),
  },
  {
    name: 'node events.on() iterator',
    run: async (ops) => {
      const emitter = new EventEmitter();
      // Each iterator adds a 'tick', an 'error' and an 'end' listener.
      emitter.setMaxListeners(SUBSCRIBERS + 1);
      const iterators = Array.from({ length: SUBSCRIBERS }, () =>
        on(emitter, 'tick', { close: ['end'] }),
      );
      await fanOutAsync(
        'node events.on()',
        ops,
        iterators.map((iterator) => ({ [Symbol.asyncIterator]: () => iterator })),
        (i) => emitter.emit('tick', i),
        () => void emitter.emit('end'), // ends each iterator after its queued events
      );
    },
  },
  {
    name: 'emittery events() iterator',
    run: async (ops) => {
      const emitter = new Emittery<TickEvents>();
      const iterators = Array.from({ length: SUBSCRIBERS }, () => emitter.events('tick'));
      await fanOutAsync(
        'emittery events()',
        ops,
        iterators,
        (i) => void emitter.emit('tick', i),
        // return() discards anything still queued: the count check catches that.
        async () => {
          for (const iterator of iterators) await iterator.return?.();
        },
      );
      emitter.clearListeners();
    },
  },
];

const syncCases: Case[] = [
  {
    name: "workbus on('*') listeners",
    run: (ops) => {
      const bus = new EventBus<TickEvents>({ maxSubscribers: SUBSCRIBERS });
      const counts = counters();
      for (const c of counts) {
        bus.on('*', () => {
          c.n++;
        });
      }
      for (let i = 0; i < ops; i++) bus.publish('tick', i);
      bus.close();
      checkCounts('workbus on', ops, counts);
      return Promise.resolve();
    },
  },
  {
    name: 'eventemitter3 listeners (floor)',
    run: (ops) => {
      const emitter = new EventEmitter3<TickEvents>();
      const counts = counters();
      for (const c of counts) {
        emitter.on('tick', () => {
          c.n++;
        });
      }
      for (let i = 0; i < ops; i++) emitter.emit('tick', i);
      emitter.removeAllListeners();
      checkCounts('eventemitter3', ops, counts);
      return Promise.resolve();
    },
  },
];

// ---- slow consumer: heap held while a 1 ms-per-event consumer falls behind ----

const CONSUMER_DELAY_MS = 1;

interface OrderPayload {
  id: number;
  customer: string;
  amount: number;
}

const payload = (i: number): OrderPayload => ({ id: i, customer: `c${i % 1000}`, amount: i / 2 });

interface SlowPeer {
  readonly iterator: AsyncIterator<unknown>;
  readonly publish: (p: OrderPayload) => void;
  /** Detail printed after the result (e.g. drop counts); called when publishing ends. */
  readonly detail: (published: number, consumed: number) => string;
  readonly dispose: () => void;
}

interface SlowResult {
  readonly growthMB: number;
  readonly detail: string;
}

let forcedGc: (() => void) | undefined;

/** heapUsed in MB after full garbage collections. */
function heapUsedMB(): number {
  if (forcedGc === undefined) {
    v8.setFlagsFromString('--expose-gc');
    forcedGc = vm.runInNewContext('gc') as () => void;
  }
  forcedGc();
  forcedGc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

async function slowConsumer(events: number, open: () => SlowPeer): Promise<SlowResult> {
  const peer = open();
  const { iterator } = peer;
  let stopped = false;
  let consumed = 0;
  const consumer = (async () => {
    while (!stopped) {
      const result = await iterator.next();
      if (result.done === true) break;
      consumed++;
      await sleep(CONSUMER_DELAY_MS);
    }
  })();
  let after = Number.NaN;
  let detail = '';
  const before = heapUsedMB();
  try {
    await publishInBatches(events, (i) => peer.publish(payload(i)));
    after = heapUsedMB();
    detail = `consumed ${consumed} by then; ${peer.detail(events, consumed)}`;
  } finally {
    // Stop consuming: return() ends a parked next() and discards what is queued; a
    // consumer asleep sees `stopped` when it wakes (≤ 1 ms).
    stopped = true;
    await iterator.return?.();
    await consumer;
    peer.dispose();
  }
  return { growthMB: after - before, detail };
}

const slowWorkbus = (): SlowPeer => {
  const bus = new EventBus<{ order: OrderPayload }>();
  const sub = bus.subscribe('*'); // defaults: buffer 256, drop-oldest
  return {
    iterator: sub[Symbol.asyncIterator](),
    publish: (p) => {
      bus.publish('order', p);
    },
    detail: () => {
      const s = sub.stats;
      return `delivered ${s.delivered}, dropped ${s.dropped.toLocaleString('en-US')}, buffered ${s.buffered}`;
    },
    dispose: () => bus.close(),
  };
};

const slowNode = (): SlowPeer => {
  const emitter = new EventEmitter();
  const iterator = on(emitter, 'order');
  return {
    iterator,
    publish: (p) => {
      emitter.emit('order', p);
    },
    detail: (published, consumed) =>
      `queued ${(published - consumed).toLocaleString('en-US')} (unbounded), dropped 0`,
    dispose: () => emitter.removeAllListeners(),
  };
};

/**
 * Deliveries per second (one publish to every listener) with 1,000 `on('*')` listeners
 * and with 10: a publish's cost should follow what it delivers, so the two are close.
 */
function manySubscribers(publishes: number): { thousand: number; ten: number } {
  const run = (listeners: number, ops: number): number => {
    const bus = new EventBus<TickEvents>({ maxSubscribers: listeners });
    const counts = Array.from({ length: listeners }, () => ({ n: 0 }));
    for (const c of counts) {
      bus.on('*', () => {
        c.n++;
      });
    }
    const start = performance.now();
    for (let i = 0; i < ops; i++) bus.publish('tick', i);
    const ms = performance.now() - start;
    bus.close();
    checkCounts(`workbus on × ${listeners}`, ops, counts);
    return ((ops * listeners) / ms) * 1000;
  };
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[2] ?? Number.NaN;
  const thousand: number[] = [];
  const ten: number[] = [];
  run(1000, publishes / 100);
  run(10, publishes);
  for (let r = 0; r < 5; r++) {
    thousand.push(run(1000, publishes / 100));
    ten.push(run(10, publishes));
  }
  const result = { thousand: median(thousand), ten: median(ten) };
  console.log(
    `\nbus: 1,000 on('*') listeners vs 10 (deliveries/s; ${(publishes / 100).toLocaleString('en-US')} and ${publishes.toLocaleString('en-US')} publishes)`,
  );
  console.log(
    `  1,000 listeners  ${Math.round(result.thousand).toLocaleString('en-US')} deliveries/s`,
  );
  console.log(`  10 listeners     ${Math.round(result.ten).toLocaleString('en-US')} deliveries/s`);
  return result;
}

const mb = (n: number): string => `${n.toFixed(2).padStart(8)} MB`;

export async function benchBus(scale: number): Promise<void> {
  const ops = Math.max(BATCH, Math.round(1_000_000 * scale));
  const title = `${ops.toLocaleString('en-US')} events, 1 publisher → ${SUBSCRIBERS} subscribers; one event = one publish delivered to all ${SUBSCRIBERS}`;
  // Each async round delivers ops × 10 events through promises: 3 rounds keep the bench short.
  // At a crash-check scale one round each: the figures mean nothing there anyway.
  const asyncRows = await measure(asyncCases, ops, scale < 0.01 ? 1 : 3);
  printTable(
    `bus fan-out, async iteration, batches of ${BATCH} + setImmediate (${title})`,
    asyncRows,
    'events/s',
  );
  const syncRows = await measure(syncCases, ops, scale < 0.01 ? 1 : 5);
  printTable(`bus fan-out, sync listeners (${title})`, syncRows, 'events/s');

  const rate = (rows: readonly Row[], prefix: string): number =>
    rows.find((r) => r.name.startsWith(prefix))?.opsPerSec ?? Number.NaN;
  const perEvent = rate(asyncRows, "workbus subscribe('*') + for await");
  const batched = rate(asyncRows, "workbus subscribe('*') + for await of batches()");
  const nodeOn = rate(asyncRows, 'node events.on()');
  const sync = rate(syncRows, 'workbus on');
  const ee3 = rate(syncRows, 'eventemitter3');
  const fanOut = manySubscribers(Math.max(1000, Math.round(20_000 * scale)));
  const m = (n: number): string => `${(n / 1e6).toFixed(2)}M/s`;
  const goal = (what: string, value: string, ok: boolean | undefined): void =>
    console.log(
      `    ${what.padEnd(60)} ${value.padStart(30)}  ${ok === undefined ? 'measured' : ok ? 'met' : 'MISSED'}`,
    );
  console.log('\n  bus goals (same-run figures; printed, never asserted):');
  goal(
    'batches() vs node events.on() ≥ 3×',
    `${(batched / nodeOn).toFixed(2)}× (${m(batched)} vs ${m(nodeOn)})`,
    batched / nodeOn >= 3,
  );
  goal(
    'per-event for await vs node events.on() ≥ 1.0×',
    `${(perEvent / nodeOn).toFixed(2)}× (${m(perEvent)} vs ${m(nodeOn)})`,
    perEvent / nodeOn >= 1,
  );
  goal(
    'sync on vs raw eventemitter3 ≥ 0.66×',
    `${(sync / ee3).toFixed(2)}× (${m(sync)} vs ${m(ee3)})`,
    sync / ee3 >= 0.66,
  );
  goal(
    '1,000 on listeners: cost per delivery vs 10 listeners',
    `${(fanOut.ten / fanOut.thousand).toFixed(2)}× (${m(fanOut.thousand)} vs ${m(fanOut.ten)})`,
    undefined,
  );

  const events = Math.max(BATCH, Math.round(200_000 * scale));
  const workbus = await slowConsumer(events, slowWorkbus);
  const node = await slowConsumer(events, slowNode);
  console.log(
    `\nslow consumer (${CONSUMER_DELAY_MS} ms per event) while ${events.toLocaleString('en-US')} events are published in batches of ${BATCH} + setImmediate; heapUsed growth after forced GC`,
  );
  console.log(
    `  workbus subscribe (buffer 256, drop-oldest)  ${mb(workbus.growthMB)}  ${workbus.detail}`,
  );
  console.log(
    `  node events.on() iterator                    ${mb(node.growthMB)}  ${node.detail}`,
  );
  const ratio =
    workbus.growthMB > 0.01
      ? `${(node.growthMB / workbus.growthMB).toFixed(0)}×`
      : `> ${(node.growthMB / 0.01).toFixed(0)}× (workbus growth under 0.01 MB, within noise)`;
  console.log(`  node events.on() / workbus heap growth: ${ratio}`);
}
