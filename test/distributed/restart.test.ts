/**
 * A Redis killed (SIGKILL) and restarted on its data while worker processes, a producer
 * and a RedisEventBus are running: every connection comes back by itself, nothing
 * acknowledged is lost, and calls made while Redis is down fail at once with
 * `RedisUnavailableError` instead of hanging.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DistributedPool,
  RedisEventBus,
  RedisUnavailableError,
  type DistributedJob,
} from '../../src/distributed/index.js';
import { closeClient, openClient } from '../../src/distributed/connection.js';
import { startRedis, type RedisServer } from '../../scripts/redis.js';
import { startChild, type Child } from '../helpers/child.js';
import { deferred } from '../helpers/deferred.js';
import { testPrefix } from '../helpers/redis.js';
import { types } from './fixtures/pool-types.js';

const prefix = testPrefix('restart');
const fixture = new URL('./fixtures/pool-worker.ts', import.meta.url);

/** Kills redis-server with SIGKILL (no shutdown save: only the fsynced append-only file survives). */
async function crash(server: RedisServer): Promise<void> {
  process.kill(server.pid, 'SIGKILL');
  await server.stop();
}

/** Calls `fn` until Redis answers it, as a caller that got RedisUnavailableError would. */
async function whenBack<T>(fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe('A Redis restart while the distributed pool and bus are running', () => {
  it('brings workers, producer and bus back by themselves, losing no acknowledged job or event', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'workbus-redis-aof-'));
    let server = await startRedis({ dataDir });
    const name = `${prefix}:1`;
    const children: Child[] = [1, 2].map(() => startChild(fixture, [server.url, name, '5000']));
    await Promise.all(children.map((c) => c.line((l) => l === 'ready')));
    const producer = await DistributedPool.open({ connection: server.url, name, types });
    const publisher = await RedisEventBus.open<{ tick: { n: number } }>({
      connection: server.url,
      name: `${name}:bus`,
    });
    const subscriber = await RedisEventBus.open<{ tick: { n: number } }>({
      connection: server.url,
      name: `${name}:bus`,
    });
    const ticks = await subscriber.subscribe('tick', { buffer: 100 });

    const submit = (n: number): Promise<DistributedJob<number>> =>
      producer.submit<number>('echo', n);
    const before = await Promise.all(Array.from({ length: 100 }, (_, n) => submit(n)));
    for (let n = 0; n < 10; n++) await publisher.publish('tick', { n });

    await crash(server);
    expect(await submit(-1).catch((e: unknown) => e)).toBeInstanceOf(RedisUnavailableError);
    expect(await publisher.publish('tick', { n: -1 }).catch((e: unknown) => e)).toBeInstanceOf(
      RedisUnavailableError,
    );

    server = await startRedis({ port: server.port, dataDir });
    const after = [await whenBack(() => submit(100))];
    for (let n = 101; n < 200; n++) after.push(await submit(n));
    await whenBack(() => publisher.publish('tick', { n: 10 }));
    for (let n = 11; n < 20; n++) await publisher.publish('tick', { n });

    const results = await Promise.all([...before, ...after].map((job) => job.result));
    expect(results).toEqual(Array.from({ length: 200 }, (_, n) => n));
    const got: number[] = [];
    for await (const { payload } of ticks) {
      got.push(payload.n);
      if (got.length === 20) break;
    }
    expect(got).toEqual(Array.from({ length: 20 }, (_, n) => n));

    await Promise.all([producer.close(), publisher.close(), subscriber.close()]);
    for (const child of children) child.process.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  it("finishes a job whose handler returned while Redis was down: counted once it is back, and its key's slot given back", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'workbus-redis-aof-'));
    let server = await startRedis({ dataDir });
    const name = `${prefix}:2`;
    const started = deferred();
    const release = deferred();
    const holdTypes = { hold: { concurrency: 1, perKey: { limit: 1, leaseMs: 600_000 } } };
    const pool = await DistributedPool.open({
      connection: server.url,
      name,
      types: holdTypes,
      handlers: {
        hold: async (n: number) => {
          started.resolve();
          await release.promise;
          return n;
        },
      },
    });
    const job = await pool.submit<number>('hold', 7, { limitKey: 'a.example' });
    await started.promise;
    await crash(server);
    release.resolve(); // the handler returns into an outage: counting, the lease, BullMQ's ack all wait
    server = await startRedis({ port: server.port, dataDir });
    expect(await job.result).toBe(7);
    const snapshot = await whenBack(() => pool.snapshot());
    expect(snapshot.counts.succeeded).toBe(1);
    const probe = await openClient(server.url, 'command', `${name}:probe`);
    expect(await probe.zcard(`${name}:perkey:hold:a.example`)).toBe(0);
    await closeClient(probe);
    await pool.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);
});
