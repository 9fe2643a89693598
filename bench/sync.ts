/**
 * Semaphore vs p-limit (the plain limiter workbus uses where no priority is needed)
 * vs a hand loop keeping 8 promises in flight (the floor); Channel vs Node's
 * `events.on()` async iterator for a producer/consumer hand-off.
 */
import { EventEmitter, on } from 'node:events';
import pLimit from 'p-limit';
import { Channel, Semaphore } from 'workbus';
import { measure, printTable, type Case } from './harness.js';

const CONCURRENCY = 8;
const task = async (): Promise<void> => {};

const limiters: Case[] = [
  {
    name: 'workbus Semaphore.run',
    run: async (ops) => {
      const sem = new Semaphore(CONCURRENCY);
      const all: Promise<void>[] = [];
      for (let i = 0; i < ops; i++) all.push(sem.run(task));
      await Promise.all(all);
    },
  },
  {
    name: 'p-limit',
    run: async (ops) => {
      const limit = pLimit(CONCURRENCY);
      const all: Promise<void>[] = [];
      for (let i = 0; i < ops; i++) all.push(limit(task));
      await Promise.all(all);
    },
  },
  {
    name: 'hand loop (floor)',
    run: async (ops) => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next++ < ops) await task();
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    },
  },
];

const handoffs: Case[] = [
  {
    name: 'workbus Channel (capacity 256, block)',
    run: async (ops) => {
      const channel = new Channel<number>({ capacity: 256 });
      const producer = (async () => {
        for (let i = 0; i < ops; i++) if (!channel.trySend(i)) await channel.send(i);
        channel.close();
      })();
      let received = 0;
      for await (const _ of channel) received++;
      await producer;
      if (received !== ops) throw new Error(`lost values: ${received} of ${ops}`);
    },
  },
  {
    name: 'node events.on() iterator',
    run: async (ops) => {
      const emitter = new EventEmitter();
      const controller = new AbortController();
      const iterator = on(emitter, 'data', { signal: controller.signal });
      const producer = (async () => {
        for (let i = 0; i < ops; i++) {
          emitter.emit('data', i);
          if (i % 256 === 255) await Promise.resolve();
        }
      })();
      let received = 0;
      for await (const _ of iterator) if (++received === ops) break;
      await producer;
      controller.abort();
    },
  },
];

export async function benchSync(scale: number): Promise<void> {
  printTable(
    `limit ${CONCURRENCY} concurrent no-op async tasks (${(200_000 * scale).toLocaleString('en-US')} tasks)`,
    await measure(limiters, 200_000 * scale),
  );
  printTable(
    `producer → consumer hand-off (${(1_000_000 * scale).toLocaleString('en-US')} values)`,
    await measure(handoffs, 1_000_000 * scale),
  );
}
