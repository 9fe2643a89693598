/**
 * The distributed pool across real processes on a real Redis: a producer and 3 worker
 * processes (global and per-key limits measured in Redis by the workers themselves),
 * a cancel reaching another process, and a worker killed with SIGKILL mid-job.
 * `WORKBUS_DISTRIBUTED_JOBS` sets the run's size (default 10,000, the figure, 3,000 under CI: 51 s on
 * the 2-core machine at a load average of 12).
 */
import { describe, expect, it } from 'vitest';
import { DistributedPool } from '../../src/distributed/index.js';
import { isAbortError } from '../../src/abort.js';
import { startChild, type Child } from '../helpers/child.js';
import { redisAdmin, redisUrl, testPrefix } from '../helpers/redis.js';
import { counters, types } from './fixtures/pool-types.js';

const prefix = testPrefix('processes');
const admin = redisAdmin(prefix);
const fixture = new URL('./fixtures/pool-worker.ts', import.meta.url);
const JOBS = Number(process.env['WORKBUS_DISTRIBUTED_JOBS'] ?? (process.env['CI'] ? 3000 : 10_000));
let names = 0;

async function workers(name: string, count: number, stalledMs: number): Promise<Child[]> {
  const children = Array.from({ length: count }, () =>
    startChild(fixture, [redisUrl(), name, String(stalledMs)]),
  );
  await Promise.all(children.map((c) => c.line((l) => l === 'ready')));
  return children;
}

async function stop(children: readonly Child[]): Promise<void> {
  for (const child of children) child.process.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
}

describe('DistributedPool across processes', () => {
  it(`runs ${JOBS} jobs from one producer on 3 worker processes: none lost, run once each, limits held`, async () => {
    const name = `${prefix}:${++names}`;
    const children = await workers(name, 3, 30_000);
    const producer = await DistributedPool.open({ connection: redisUrl(), name, types });
    const hosts = ['a.example', 'b.example', 'c.example', 'd.example'];
    const results: Promise<string>[] = [];
    for (let from = 0; from < JOBS; from += 250) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(250, JOBS - from) }, (_, i) => {
          const host = hosts[(from + i) % hosts.length] as string;
          return producer.submit<string>('work', { key: host }, { limitKey: host });
        }),
      );
      results.push(...batch.map((job) => job.result));
    }
    const ids = await Promise.all(results);
    expect(new Set(ids).size).toBe(JOBS);
    const runs = await admin().hgetall(counters.runs(name));
    expect(Object.keys(runs).length).toBe(JOBS);
    expect(Object.values(runs).every((n) => n === '1')).toBe(true);
    expect(Number(await admin().get(counters.most(name)))).toBeLessThanOrEqual(
      types.work.globalConcurrency,
    );
    expect(Number(await admin().get(counters.mostKey(name)))).toBeLessThanOrEqual(
      types.work.perKey.limit,
    );
    await producer.close();
    await stop(children);
  }, 600_000);

  it('settles every result of a burst submitted as soon as the producer opens, the worker process finishing jobs as fast as they come', async () => {
    const name = `${prefix}:${++names}`;
    const children = await workers(name, 1, 30_000);
    const producer = await DistributedPool.open({ connection: redisUrl(), name, types });
    const inputs = Array.from({ length: 1000 }, (_, n) => n);
    const jobs = await Promise.all(inputs.map((n) => producer.submit<number>('echo', n)));
    expect(await Promise.all(jobs.map((job) => job.result))).toEqual(inputs);
    await producer.close();
    await stop(children);
  });

  it('cancels a job running in another process: its handler sees the abort, it ends cancelled, not retried', async () => {
    const name = `${prefix}:${++names}`;
    const [worker] = await workers(name, 1, 30_000);
    const producer = await DistributedPool.open({ connection: redisUrl(), name, types });
    const job = await producer.submit('block', null, { retry: { attempts: 3, baseMs: 1 } });
    await worker?.line((l) => l === `started block ${job.id} 1`);
    await job.cancel();
    await worker?.line((l) => l === `aborted ${job.id}`);
    expect(isAbortError(await job.result.catch((e: unknown) => e))).toBe(true);
    expect((await job.view()).status).toBe('cancelled');
    await producer.close();
    await stop(worker === undefined ? [] : [worker]);
    expect(worker?.lines.filter((l) => l.startsWith('started block'))).toEqual([
      `started block ${job.id} 1`,
    ]);
  }, 60_000);

  it('ends cancelled, never running again, a job cancelled while its worker was frozen and then killed, on a worker started after the cancel', async () => {
    const name = `${prefix}:${++names}`;
    const [holder] = (await workers(name, 1, 1000)) as [Child];
    const producer = await DistributedPool.open({ connection: redisUrl(), name, types });
    const job = await producer.submit<number>('crash', null);
    await holder.line((l) => l === `started crash ${job.id} 1`);
    // Frozen, it cannot hear the cancel; killed, it never will.
    holder.process.kill('SIGSTOP');
    await job.cancel();
    holder.process.kill('SIGKILL');
    expect(await holder.exited).toBe('SIGKILL');
    const [late] = (await workers(name, 1, 1000)) as [Child];
    expect(isAbortError(await job.result.catch((e: unknown) => e))).toBe(true);
    expect(late.lines.filter((l) => l.startsWith('started crash'))).toEqual([]);
    await producer.close();
    await stop([late]);
  }, 60_000);

  it('runs again, as a second attempt on another worker, a job whose worker was killed with SIGKILL, once its key slot lease ran out', async () => {
    const name = `${prefix}:${++names}`;
    const children = await workers(name, 2, 1000);
    const producer = await DistributedPool.open({ connection: redisUrl(), name, types });
    const job = await producer.submit<number>('crash', null, { limitKey: 'host' });
    const first = `started crash ${job.id} 1`;
    const holder = await Promise.race(
      children.map((c) => c.line((l) => l === first).then(() => c)),
    );
    holder.process.kill('SIGKILL');
    const survivor = children.find((c) => c !== holder) as Child;
    // The survivor's stall check takes the job back once the dead worker's lock lapses;
    // the key's only slot is the dead worker's until its lease expires.
    expect(await job.result).toBe(2);
    // Its line comes over a pipe, the result over Redis: either may arrive first.
    await survivor.line((l) => l === `started crash ${job.id} 2`);
    expect(await holder.exited).toBe('SIGKILL');
    await producer.close();
    await stop([survivor]);
  }, 60_000);
});
