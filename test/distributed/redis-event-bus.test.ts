/**
 * RedisEventBus against a real Redis: the EventBus contract across connections and
 * processes (seq order, bounded subscribers with their policies, resuming after a
 * `seq`, what was trimmed counted), and its failures (closed, Redis unreachable).
 */
import { describe, expect, it } from 'vitest';
import { RedisEventBus, RedisUnavailableError } from '../../src/distributed/index.js';
import { ClosedError } from '../../src/errors.js';
import { startRedis } from '../../scripts/redis.js';
import { startChild } from '../helpers/child.js';
import { redisAdmin, redisUrl, testPrefix } from '../helpers/redis.js';

type Events = { tick: { n: number }; tock: { n: number } };

const prefix = testPrefix('bus');
let names = 0;
const admin = redisAdmin(prefix);

/** A bus of its own for each test (its own stream and counter). */
function open(options: { maxLen?: number } = {}): Promise<RedisEventBus<Events>> {
  return RedisEventBus.open<Events>({
    connection: redisUrl(),
    name: `${prefix}:${++names}`,
    ...options,
  });
}

async function take<E>(subscription: AsyncIterable<E>, count: number): Promise<E[]> {
  const got: E[] = [];
  if (count === 0) return got;
  for await (const envelope of subscription) {
    got.push(envelope);
    if (got.length === count) break;
  }
  return got;
}

describe('RedisEventBus', () => {
  it('numbers events bus-wide from 1 and delivers a subscriber its topics in seq order', async () => {
    const bus = await open();
    const ticks = await bus.subscribe('tick');
    const seqs = [];
    for (let n = 1; n <= 6; n++) seqs.push(await bus.publish(n % 2 === 0 ? 'tock' : 'tick', { n }));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
    const got = await take(ticks, 3);
    expect(got.map((e) => [e.topic, e.seq, e.payload.n])).toEqual([
      ['tick', 1, 1],
      ['tick', 3, 3],
      ['tick', 5, 5],
    ]);
    await bus.close();
  });

  it('delivers what another connection publishes, and only what came after subscribe', async () => {
    const publisher = await open();
    const subscriber = await RedisEventBus.open<Events>({
      connection: redisUrl(),
      name: publisher.name,
    });
    await publisher.publish('tick', { n: 0 });
    const all = await subscriber.subscribe('*');
    await publisher.publish('tock', { n: 1 });
    await publisher.publish('tick', { n: 2 });
    expect((await take(all, 2)).map((e) => e.payload.n)).toEqual([1, 2]);
    await Promise.all([publisher.close(), subscriber.close()]);
  });

  it("closes a subscriber that never reads ('close'), while every publish is acknowledged", async () => {
    const bus = await open();
    const idle = await bus.subscribe('tick', { buffer: 4, whenFull: 'close' });
    for (let n = 1; n <= 50; n++) await bus.publish('tick', { n });
    // The reader delivers in order: wait until it has offered the fifth event.
    await waitUntil(() => idle.closed);
    expect(idle.closedReason).toBe('slow-consumer');
    expect((await take(idle, 4)).map((e) => e.payload.n)).toEqual([1, 2, 3, 4]);
    await bus.close();
  });

  it("keeps the newest events of a subscriber that never reads ('drop-oldest'), counting the rest", async () => {
    const bus = await open();
    const idle = await bus.subscribe('tick', { buffer: 4 });
    for (let n = 1; n <= 50; n++) await bus.publish('tick', { n });
    await waitUntil(() => idle.lastSeq === 50);
    expect(idle.stats).toMatchObject({ dropped: 46, buffered: 4, highWater: 4 });
    expect((await take(idle, 4)).map((e) => e.payload.n)).toEqual([47, 48, 49, 50]);
    await bus.close();
  });

  it('publishes with one command each, every one acknowledged, while a subscriber process is stopped (SIGSTOP), and the stream stays within maxLen', async () => {
    const bus = await open({ maxLen: 500 });
    const fixture = new URL('./fixtures/bus-child.ts', import.meta.url);
    await bus.publish('tick', { n: 0 }); // loads the publish script (EVAL once, EVALSHA after)
    // Read before the child opens its own connections under the same bus name.
    const address = clientAddress(await admin().client('LIST'), bus.name);
    const stopped = startChild(fixture, ['subscribe', redisUrl(), bus.name, '1000000']);
    await stopped.line((l) => l === 'ready');
    stopped.process.kill('SIGSTOP');
    // What the publisher's own connection sends (MONITOR, filtered by its address: other
    // test files share this Redis).
    const monitor = await admin().monitor();
    const sent: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === address) sent.push(String(args[0]).toLowerCase());
    });
    for (let n = 1; n <= 5000; n++) await bus.publish('tick', { n });
    await bus.publish('tock', { n: 0 }); // MONITOR delivers in order: this one marks the end
    await new Promise<void>((resolve) => {
      const check = () => (sent.length === 5001 ? resolve() : setTimeout(check, 5));
      check();
    });
    monitor.disconnect();
    expect(sent).toEqual(Array.from({ length: 5001 }, () => 'evalsha'));
    // XADD … MAXLEN ~ trims whole nodes (100 entries by default): a node's worth over at most.
    expect(await admin().xlen(bus.name)).toBeLessThanOrEqual(500 + 100);
    stopped.process.kill('SIGKILL');
    await stopped.exited;
    await bus.close();
  });

  it('replays what came after the last seq seen to a subscriber that resumes', async () => {
    const bus = await open();
    const first = await bus.subscribe('tick');
    await bus.publish('tick', { n: 1 });
    const [seen] = await take(first, 1);
    first.close();
    for (let n = 2; n <= 4; n++) await bus.publish('tick', { n });
    const resumed = await bus.subscribe('tick', { after: seen?.seq ?? 0 });
    expect((await take(resumed, 3)).map((e) => e.payload.n)).toEqual([2, 3, 4]);
    expect(resumed.missed).toBe(0);
    await bus.close();
  });

  it('counts what the stream trimmed before a resuming subscriber could read it', async () => {
    const bus = await open({ maxLen: 10 });
    for (let n = 1; n <= 1000; n++) await bus.publish('tick', { n });
    const resumed = await bus.subscribe('tick', { after: 5, buffer: 1000 });
    // Trimming is approximate (whole stream nodes), so the kept count is Redis's choice.
    expect(resumed.missed).toBeGreaterThan(0);
    const kept = 1000 - 5 - resumed.missed;
    const got = await take(resumed, kept);
    expect(got[0]?.seq).toBe(5 + resumed.missed + 1);
    expect(got.at(-1)?.seq).toBe(1000);
    await bus.close();
  });

  it('ends its subscriptions with bus-closed, refuses publish after close, and leaves no connection open', async () => {
    const bus = await open();
    const ticks = await bus.subscribe('tick');
    await bus.publish('tick', { n: 1 });
    await waitUntil(() => ticks.lastSeq === 1);
    await bus.close();
    expect(ticks.closedReason).toBe('bus-closed');
    expect((await take(ticks, 1)).map((e) => e.payload.n)).toEqual([1]);
    await expect(bus.publish('tick', { n: 2 })).rejects.toBeInstanceOf(ClosedError);
    expect(clientsNamed(await admin().client('LIST'), bus.name)).toBe(0);
  });

  it('fails publish at once with RedisUnavailableError while Redis is down', async () => {
    const server = await startRedis();
    const bus = await RedisEventBus.open<Events>({
      connection: server.url,
      name: `${prefix}:down`,
    });
    expect(await bus.publish('tick', { n: 1 })).toBe(1);
    await server.stop();
    await expect(bus.publish('tick', { n: 2 })).rejects.toBeInstanceOf(RedisUnavailableError);
    await bus.close();
  });

  it('carries events between processes, in seq order, both ways', async () => {
    const bus = await open();
    const fixture = new URL('./fixtures/bus-child.ts', import.meta.url);
    // Another process publishes; this one subscribes.
    const ticks = await bus.subscribe('tick', { buffer: 100 });
    const publisher = startChild(fixture, ['publish', redisUrl(), bus.name, '100']);
    const got = await take(ticks, 100);
    expect(got.map((e) => e.payload.n)).toEqual(range(1, 100));
    expect(got.map((e) => e.seq)).toEqual(range(1, 100));
    expect(await publisher.exited).toBe(0);
    // Another process subscribes; this one publishes.
    const subscriber = startChild(fixture, ['subscribe', redisUrl(), bus.name, '50']);
    await subscriber.line((l) => l === 'ready');
    for (let n = 1; n <= 50; n++) await bus.publish('tick', { n });
    expect(await subscriber.exited).toBe(0);
    expect(subscriber.lines.slice(1)).toEqual(range(1, 50).map((n) => `${100 + n} ${n}`));
    await bus.close();
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function clientsNamed(list: unknown, name: string): number {
  return String(list)
    .split('\n')
    .filter((line) => line.includes(` name=${name} `)).length;
}

/** The `addr` of the one client named `name` in a `CLIENT LIST`. */
function clientAddress(list: unknown, name: string): string {
  const lines = String(list)
    .split('\n')
    .filter((l) => l.includes(` name=${name} `));
  const address = / addr=(\S+) /.exec(lines[0] ?? '')?.[1];
  if (lines.length !== 1 || address === undefined) {
    throw new Error(`expected one client named ${name}, found ${lines.length}`);
  }
  return address;
}

/** Polls a condition the reader makes true asynchronously (it reads from Redis). */
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
