/**
 * The distributed benchmark (`npm run bench`, or alone: `tsx bench/distributed.ts`):
 * - jobs per second through `DistributedPool` with 1, 2 and 4 worker processes, against
 *   plain BullMQ doing the same with the same workers (`queue.add` per job, its result
 *   awaited with `job.waitUntilFinished`): the adapter's cost, as a ratio;
 * - `RedisEventBus` publish → delivery latency (p50/p99) to a subscriber in another
 *   connection;
 * - publish round-trip latency alone, beside an in-process subscriber that never reads,
 *   and beside a subscriber process that is stopped (SIGSTOP): flat, as publish never
 *   waits on a subscriber.
 * Uses the Redis at `WORKBUS_REDIS_URL`, or starts one (scripts/redis.ts).
 * `BENCH_SCALE=0.1` shrinks the workloads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { DistributedPool, RedisEventBus } from 'workbus/distributed';
import { hasRedisServer, HOW_TO_GET_REDIS, startRedis } from '../scripts/redis.js';

const WORKER = new URL('./distributed-worker.ts', import.meta.url).pathname;
const BUS_CHILD = new URL('../test/distributed/fixtures/bus-child.ts', import.meta.url).pathname;
const WORKER_COUNTS = [1, 2, 4];
const BATCH = 200;

interface Children {
  readonly processes: readonly ChildProcess[];
  stop(): Promise<void>;
}

/** Starts `count` children of `node --import tsx file ...args`, ready once each prints "ready". */
async function start(file: string, args: readonly string[], count: number): Promise<Children> {
  const processes = Array.from({ length: count }, () =>
    spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  await Promise.all(
    processes.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
          createInterface({ input: child.stdout }).on('line', (l) => l === 'ready' && resolve());
        }),
    ),
  );
  return {
    processes,
    stop: async () => {
      await Promise.all(
        processes.map(
          (child) =>
            new Promise((resolve) => {
              child.removeAllListeners('exit');
              child.once('exit', resolve);
              child.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}

/** Submits `jobs` in batches of {@link BATCH}, then awaits every result: jobs per second. */
async function throughput(
  jobs: number,
  submit: () => Promise<{ readonly result: Promise<unknown> }>,
): Promise<number> {
  const begin = performance.now();
  const results: Promise<unknown>[] = [];
  for (let from = 0; from < jobs; from += BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(BATCH, jobs - from) }, submit));
    results.push(...batch.map((job) => job.result));
  }
  await Promise.all(results);
  return jobs / ((performance.now() - begin) / 1000);
}

async function throughWorkbus(url: string, name: string, workers: number, jobs: number) {
  const children = await start(WORKER, ['workbus', url, name], workers);
  const pool = await DistributedPool.open({
    connection: url,
    name,
    types: { noop: { concurrency: 8 } },
  });
  try {
    return await throughput(jobs, () => pool.submit('noop', null));
  } finally {
    await pool.close();
    await children.stop();
  }
}

async function throughBullmq(url: string, name: string, workers: number, jobs: number) {
  const children = await start(WORKER, ['bullmq', url, name], workers);
  const connection = { url, maxRetriesPerRequest: null };
  const queue = new Queue('noop', { connection, prefix: name });
  // From the start of this fresh stream: from '$' (the default) a job finished before the
  // reader's first XREAD would never be reported.
  const events = new QueueEvents('noop', { connection, prefix: name, lastEventId: '0-0' });
  // waitUntilFinished adds listeners per awaited job.
  events.setMaxListeners(0);
  queue.setMaxListeners(0);
  await events.waitUntilReady();
  try {
    return await throughput(jobs, async () => {
      const job = await queue.add('noop', null, { priority: 1 });
      return { result: job.waitUntilFinished(events) };
    });
  } finally {
    await Promise.all([queue.close(), events.close()]);
    await children.stop();
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

/** Publish → delivery to another connection's subscriber, ms (both in this process: one clock). */
async function deliveryLatency(url: string, name: string, events: number) {
  const publisher = await RedisEventBus.open<{ tick: number }>({ connection: url, name });
  const subscriber = await RedisEventBus.open<{ tick: number }>({ connection: url, name });
  const ticks = await subscriber.subscribe('tick', { buffer: events });
  const latencies: number[] = [];
  const received = (async () => {
    for await (const envelope of ticks) {
      latencies.push(performance.now() - envelope.payload);
      if (latencies.length === events) break;
    }
  })();
  for (let n = 0; n < events; n++) await publisher.publish('tick', performance.now());
  await received;
  await Promise.all([publisher.close(), subscriber.close()]);
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

/** Publish round trips, ms, sorted. */
async function publishLatencies(bus: RedisEventBus<{ tick: number }>, events: number) {
  const latencies: number[] = [];
  for (let n = 0; n < events; n++) {
    const begin = performance.now();
    await bus.publish('tick', n);
    latencies.push(performance.now() - begin);
  }
  return latencies.sort((a, b) => a - b);
}

async function publishBesideIdleSubscribers(url: string, name: string, events: number) {
  const bus = await RedisEventBus.open<{ tick: number }>({ connection: url, name });
  await publishLatencies(bus, Math.min(events, 500));
  const alone = await publishLatencies(bus, events);
  const idle = await bus.subscribe('tick', { buffer: 16 });
  const beside = await publishLatencies(bus, events);
  const dropped = idle.stats.dropped;
  idle.close();
  const stopped = await start(BUS_CHILD, ['subscribe', url, name, String(events * 10)], 1);
  for (const child of stopped.processes) child.kill('SIGSTOP');
  const besideStopped = await publishLatencies(bus, events);
  await stopped.stop();
  await bus.close();
  return { alone, beside, besideStopped, dropped };
}

export async function benchDistributed(scale: number): Promise<void> {
  const jobs = Math.max(100, Math.round(4000 * scale));
  const events = Math.max(100, Math.round(5000 * scale));
  let url = process.env['WORKBUS_REDIS_URL'];
  let stopRedis: (() => Promise<void>) | undefined;
  if (url === undefined) {
    if (!hasRedisServer()) throw new Error(HOW_TO_GET_REDIS);
    const server = await startRedis();
    url = server.url;
    stopRedis = () => server.stop();
  }
  const prefix = `workbus:bench:${process.pid}`;
  let run = 0;
  try {
    console.log(
      `\ndistributed: ${jobs} no-op jobs through workers of concurrency 8, results awaited by the producer (Redis ${url})`,
    );
    console.log('  workers  DistributedPool jobs/s  plain BullMQ jobs/s  ratio');
    for (const workers of WORKER_COUNTS) {
      const ours = await throughWorkbus(url, `${prefix}:${++run}`, workers, jobs);
      const theirs = await throughBullmq(url, `${prefix}:${++run}`, workers, jobs);
      console.log(
        `  ${String(workers).padStart(7)}  ${ours.toFixed(0).padStart(22)}  ${theirs.toFixed(0).padStart(19)}  ${(ours / theirs).toFixed(2).padStart(4)}×`,
      );
    }
    const delivery = await deliveryLatency(url, `${prefix}:bus:${++run}`, events);
    console.log(
      `  RedisEventBus publish → delivery, ${events} events: p50 ${delivery.p50.toFixed(2)} ms, p99 ${delivery.p99.toFixed(2)} ms`,
    );
    const flat = await publishBesideIdleSubscribers(url, `${prefix}:bus:${++run}`, events);
    console.log(`  RedisEventBus publish round trip, ${events} events (p50 / p99 ms):`);
    const rows: [string, number[]][] = [
      ['no subscriber', flat.alone],
      [`beside a subscriber that never reads (dropped ${flat.dropped})`, flat.beside],
      ['beside a subscriber process stopped with SIGSTOP', flat.besideStopped],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    const base = percentile(flat.alone, 0.99);
    for (const [label, sorted] of rows) {
      console.log(
        `    ${label.padEnd(width)}  ${percentile(sorted, 0.5).toFixed(3)} / ${percentile(sorted, 0.99).toFixed(3)}  p99 ${(percentile(sorted, 0.99) / base).toFixed(2)}× alone`,
      );
    }
  } finally {
    if (stopRedis === undefined) await removeKeys(url, prefix);
    await stopRedis?.();
  }
}

/** Leaves a Redis the bench did not start as it found it. */
async function removeKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchDistributed(Number(process.env['BENCH_SCALE'] ?? '1'));
}
