/**
 * DistributedPool against a real Redis: results across pools (each pool its own
 * connections, as another process would have), priorities, retries, keys, time limits,
 * cancel from another pool, snapshots, and a close that cannot hang.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  DistributedPool,
  JobFailedError,
  RedisUnavailableError,
  type DistributedPoolOptions,
  type DistributedTypesOptions,
} from '../../src/distributed/index.js';
import { closeClient, openClient } from '../../src/distributed/connection.js';
import { EventBus } from '../../src/bus/event-bus.js';
import { NonRetryableError, TimeoutError } from '../../src/errors.js';
import { isAbortError } from '../../src/abort.js';
import type { PoolEvents } from '../../src/pool/events.js';
import { startRedis } from '../../scripts/redis.js';
import { deferred, type Deferred } from '../helpers/deferred.js';
import { redisAdmin, redisUrl, testPrefix } from '../helpers/redis.js';

const prefix = testPrefix('pool');
let pools = 0;
redisAdmin(prefix);

/** A pool of its own name for each test; `open(name)` opens another process's view of it. */
function poolName(): string {
  return `${prefix}:${++pools}`;
}

function open<T extends DistributedTypesOptions>(
  options: Omit<DistributedPoolOptions<T>, 'connection'>,
): Promise<DistributedPool<T>> {
  return DistributedPool.open<T>({ connection: redisUrl(), stalledIntervalMs: 5000, ...options });
}

describe('DistributedPool', () => {
  it("runs a job in a worker pool and settles the submitter's result in another", async () => {
    const name = poolName();
    const types = { echo: { concurrency: 2 } };
    const worker = await open({
      name,
      types,
      handlers: {
        echo: (input: { n: number }, ctx) => ({ twice: input.n * 2, attempt: ctx.attempt }),
      },
    });
    const producer = await open({ name, types });
    expect(await producer.run('echo', { n: 21 })).toEqual({ twice: 42, attempt: 1 });
    await Promise.all([producer.close(), worker.close()]);
  });

  it('runs higher priorities first and equal ones in submission order, the default 0 included', async () => {
    const name = poolName();
    const { started, gate, handler, order } = gated();
    const pool = await open({ name, types: { t: { concurrency: 1 } }, handlers: { t: handler } });
    const first = await pool.submit('t', 'gate');
    await started.promise;
    const jobs = [
      await pool.submit('t', 'zero-a'),
      await pool.submit('t', 'five-a', { priority: 5 }),
      await pool.submit('t', 'minus-one', { priority: -1 }),
      await pool.submit('t', 'zero-b', { priority: 0 }),
      await pool.submit('t', 'five-b', { priority: 5 }),
    ];
    gate.resolve();
    await Promise.all([first.result, ...jobs.map((j) => j.result)]);
    expect(order).toEqual(['five-a', 'five-b', 'zero-a', 'zero-b', 'minus-one']);
    await pool.close();
  });

  it("retries a failed attempt while the type's retryIf allows, with a new attempt number", async () => {
    const attempts: number[] = [];
    const pool = await open({
      name: poolName(),
      types: {
        flaky: { concurrency: 1, retryIf: (error) => (error as Error).message === 'again' },
      },
      handlers: {
        flaky: (_: null, { attempt }) => {
          attempts.push(attempt);
          if (attempt < 3) throw new Error('again');
          return 'third time';
        },
      },
    });
    const result = await pool.run('flaky', null, { retry: { attempts: 5, baseMs: 1, maxMs: 2 } });
    expect(result).toBe('third time');
    expect(attempts).toEqual([1, 2, 3]);
    await pool.close();
  });

  it('does not retry what retryIf refuses, nor a NonRetryableError, and reports the error as data', async () => {
    let runs = 0;
    const pool = await open({
      name: poolName(),
      types: { t: { concurrency: 1, retryIf: (error) => (error as Error).message !== 'fatal' } },
      handlers: {
        t: (kind: string) => {
          runs++;
          throw kind === 'marked' ? new NonRetryableError('gone') : new Error('fatal');
        },
      },
    });
    const retry = { attempts: 5, baseMs: 1, maxMs: 2 };
    const refused = await pool.run('t', 'refused', { retry }).catch((e: unknown) => e);
    const marked = await pool.run('t', 'marked', { retry }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(JobFailedError);
    expect((refused as JobFailedError).error).toEqual({ name: 'Error', message: 'fatal' });
    expect((marked as JobFailedError).error).toEqual({
      name: 'NonRetryableError',
      message: 'gone',
      code: 'NON_RETRYABLE',
    });
    expect(runs).toBe(2);
    await pool.close();
  });

  it('joins a submit to the queued or running job of the same key', async () => {
    const started = deferred();
    const gate = deferred();
    let runs = 0;
    const pool = await open({
      name: poolName(),
      types: { t: { concurrency: 2 } },
      handlers: {
        t: async (input: string) => {
          runs++;
          started.resolve();
          await gate.promise;
          return input;
        },
      },
    });
    const first = await pool.submit('t', 'first', { key: 'k' });
    await started.promise;
    const joined = await pool.submit('t', 'second', { key: 'k' });
    expect(joined.id).toBe(first.id);
    gate.resolve();
    expect(await Promise.all([first.result, joined.result])).toEqual(['first', 'first']);
    expect(runs).toBe(1);
    // Once the job has ended, the key runs a new job.
    expect(await pool.run('t', 'third', { key: 'k' })).toBe('third');
    await pool.close();
  });

  it("ends an attempt at its time limit, aborting the handler's signal, even if the handler ignores it", async () => {
    const release = deferred();
    let signal: AbortSignal | undefined;
    const pool = await open({
      name: poolName(),
      types: { slow: { concurrency: 1 } },
      handlers: {
        slow: async (_: null, ctx) => {
          signal = ctx.signal;
          await release.promise;
        },
      },
    });
    const error = await pool.run('slow', null, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(signal?.aborted).toBe(true);
    release.resolve();
    await pool.close();
  });

  it('cancels a running job from another pool: its signal aborts, it ends cancelled and is not retried', async () => {
    const name = poolName();
    const types = { t: { concurrency: 1 } };
    const started = deferred();
    const aborted = deferred();
    let runs = 0;
    const worker = await open({
      name,
      types,
      handlers: {
        t: async (_: null, { signal }) => {
          runs++;
          started.resolve();
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          aborted.resolve();
          throw signal.reason;
        },
      },
    });
    const producer = await open({ name, types });
    const job = await producer.submit('t', null, { retry: { attempts: 3, baseMs: 1 } });
    await started.promise;
    await job.cancel();
    await aborted.promise;
    const error = await job.result.catch((e: unknown) => e);
    expect(isAbortError(error)).toBe(true);
    expect((await job.view()).status).toBe('cancelled');
    expect(runs).toBe(1);
    await Promise.all([producer.close(), worker.close()]);
  });

  it('cancels a queued job: it is removed and never runs', async () => {
    const name = poolName();
    const producer = await open({ name, types: { t: { concurrency: 1 } } });
    const job = await producer.submit('t', null);
    await job.cancel();
    expect(isAbortError(await job.result.catch((e: unknown) => e))).toBe(true);
    expect((await job.view()).status).toBe('cancelled');
    await producer.close();
  });

  it('counts finished jobs by outcome: a retried success once, a failure, and cancels before and while running', async () => {
    const name = poolName();
    const types = { t: { concurrency: 1 } };
    const started = deferred();
    const worker = await open({
      name,
      types,
      handlers: {
        t: async (input: string, { attempt, signal }) => {
          if (input === 'flaky' && attempt === 1) throw new Error('once');
          if (input === 'fail') throw new NonRetryableError('no');
          if (input === 'block') {
            started.resolve();
            await new Promise((resolve) => signal.addEventListener('abort', resolve));
            throw signal.reason;
          }
          return input;
        },
      },
    });
    const producer = await open({ name, types });
    const retry = { attempts: 2, baseMs: 1 };
    await producer.run('t', 'ok');
    await producer.run('t', 'flaky', { retry });
    await producer.run('t', 'fail').catch(() => undefined);
    const blocked = await producer.submit('t', 'block');
    const queued = await producer.submit('t', 'never');
    await started.promise;
    await queued.cancel();
    await blocked.cancel();
    await Promise.all([blocked.result, queued.result].map((r) => r.catch(() => undefined)));
    expect((await producer.snapshot()).counts).toMatchObject({
      succeeded: 2,
      failed: 1,
      cancelled: 2,
    });
    await Promise.all([producer.close(), worker.close()]);
  });

  it('snapshots queued jobs in dispatch order, running ones and the history, frozen', async () => {
    const { started, gate, handler } = gated();
    const pool = await open({
      name: poolName(),
      types: { t: { concurrency: 1 } },
      handlers: { t: handler },
    });
    const done = await pool.run('t', 'done', { meta: { feed: 1 } });
    expect(done).toBe('done');
    const running = await pool.submit('t', 'gate');
    await started.promise;
    const low = await pool.submit('t', 'low', { priority: 1 });
    const high = await pool.submit('t', 'high', { priority: 2 });
    const snapshot = await pool.snapshot();
    expect(Object.isFrozen(snapshot)).toBe(true);
    expect(Object.isFrozen(snapshot.queued[0])).toBe(true);
    expect(snapshot.queued.map((v) => v.id)).toEqual([high.id, low.id]);
    expect(snapshot.running.map((v) => [v.id, v.status])).toEqual([[running.id, 'running']]);
    expect(snapshot.history.map((v) => [v.status, v.meta])).toEqual([['succeeded', { feed: 1 }]]);
    expect(snapshot.counts).toMatchObject({ queued: 2, running: 1, succeeded: 1 });
    expect(snapshot.types['t']).toEqual({
      running: 1,
      queued: 2,
      limit: 1,
      paused: false,
      heldByRate: false,
    });
    gate.resolve();
    await Promise.all([running.result, low.result, high.result]);
    await pool.close();
  });

  it('publishes its events on a bus', async () => {
    const bus = new EventBus<PoolEvents>();
    const seen: string[] = [];
    bus.on('*', (_payload, envelope) => seen.push(envelope.topic));
    const pool = await open({
      name: poolName(),
      types: { t: { concurrency: 1 } },
      bus,
      handlers: { t: () => 1 },
    });
    await pool.run('t', null);
    await pool.close();
    expect(seen).toEqual(['job.queued', 'job.started', 'job.finished', 'pool.closed']);
    bus.close();
  });

  it('closes by its grace plus the abort grace when a handler ignores its signal, reporting it abandoned, with no connection left', async () => {
    const server = await startRedis();
    const own = await openClient(server.url, 'command', 'admin');
    const baseline = await clientCount(own);
    const started = deferred();
    const release = deferred();
    const pool = await DistributedPool.open({
      connection: server.url,
      name: poolName(),
      types: { stuck: { concurrency: 1 } },
      abortGraceMs: 50,
      handlers: {
        stuck: async () => {
          started.resolve();
          await release.promise;
        },
      },
    });
    const job = await pool.submit('stuck', null);
    await started.promise;
    const report = await pool.close({ graceMs: 50 });
    expect(report).toEqual({ completed: 0, cancelled: 0, abandoned: [job.id] });
    expect(await clientCount(own)).toBe(baseline);
    release.resolve();
    await closeClient(own);
    await server.stop();
  });
});

/**
 * A handler whose job 'gate' holds its slot until `gate` resolves (`started` tells it
 * began); every other job records its label in `order` and returns it.
 */
function gated(): {
  started: Deferred;
  gate: Deferred;
  order: string[];
  handler: (label: string) => Promise<string>;
} {
  const started = deferred();
  const gate = deferred();
  const order: string[] = [];
  const handler = async (label: string): Promise<string> => {
    if (label === 'gate') {
      started.resolve();
      await gate.promise;
    } else order.push(label);
    return label;
  };
  return { started, gate, order, handler };
}

async function clientCount(client: Redis): Promise<number> {
  return String(await client.client('LIST'))
    .split('\n')
    .filter((line) => line.trim() !== '').length;
}

describe('DistributedPool and a Redis restart', () => {
  it('fails submit at once while Redis is down, then runs every acknowledged job once it is back', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'workbus-redis-aof-'));
    let server = await startRedis({ dataDir });
    const name = poolName();
    const types = { t: { concurrency: 2 } };
    const producer = await DistributedPool.open({ connection: server.url, name, types });
    const before = await Promise.all([1, 2, 3].map((n) => producer.submit('t', n)));
    await server.stop();
    const error = await producer.submit('t', 4).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    server = await startRedis({ port: server.port, dataDir });
    // The worker starts after the restart; the producer's connections come back on their own.
    const worker = await DistributedPool.open({
      connection: server.url,
      name,
      types,
      handlers: { t: (n: number) => n * 10 },
    });
    expect(await Promise.all(before.map((job) => job.result))).toEqual([10, 20, 30]);
    await Promise.all([producer.close(), worker.close()]);
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('rejects the result of a job that a restart without persistence lost, rather than waiting forever', async () => {
    let server = await startRedis();
    const name = poolName();
    const producer = await DistributedPool.open({
      connection: server.url,
      name,
      types: { t: { concurrency: 1 } },
    });
    const job = await producer.submit('t', 1);
    await server.stop();
    server = await startRedis({ port: server.port });
    const error = await job.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toContain(`Job ${job.id} is no longer in Redis`);
    await producer.close();
    await server.stop();
  });
});
