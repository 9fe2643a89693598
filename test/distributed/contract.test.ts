/**
 * One contract, two pools: the in-process WorkPool and the DistributedPool on a real
 * Redis run the same specifications through one small adapter (a job is a type, a
 * label and options; the handler is the same function in both).
 */
import { describe, expect, it } from 'vitest';
import { DistributedPool } from '../../src/distributed/index.js';
import { WorkPool } from '../../src/pool/work-pool.js';
import type { TaskContext } from '../../src/pool/job.js';
import type { CloseReport } from '../../src/pool/events.js';
import type { PoolSnapshot } from '../../src/pool/snapshot.js';
import { deferred } from '../helpers/deferred.js';
import { redisAdmin, redisUrl, testPrefix } from '../helpers/redis.js';

type Handler = (label: string, context: TaskContext) => unknown;

interface TypeSpec {
  readonly concurrency: number;
  readonly retryIf?: (error: unknown, attempt: number) => boolean;
}

interface JobSpec {
  readonly priority?: number;
  readonly key?: string;
  readonly retry?: { readonly attempts: number; readonly baseMs?: number; readonly maxMs?: number };
}

/** What the specifications need of a pool. */
interface ContractPool {
  submit(label: string, options?: JobSpec): Promise<{ id: string; result: Promise<unknown> }>;
  snapshot(): Promise<PoolSnapshot>;
  close(graceMs: number): Promise<CloseReport>;
}

type Factory = (type: TypeSpec, handler: Handler) => Promise<ContractPool>;

const prefix = testPrefix('contract');
let names = 0;
redisAdmin(prefix);

const local: Factory = (type, handler) => {
  const pool = new WorkPool({
    concurrency: 100,
    types: { t: { concurrency: type.concurrency } },
    abortGraceMs: 50,
    random: () => 0.5,
  });
  return Promise.resolve({
    submit: (label, options = {}) => {
      const retry =
        options.retry === undefined ? undefined : { ...options.retry, retryIf: type.retryIf };
      const job = pool.submit('t', (context) => handler(label, context), { ...options, retry });
      return Promise.resolve({ id: job.id, result: job.result });
    },
    snapshot: () => Promise.resolve(pool.snapshot()),
    close: (graceMs) => pool.close({ graceMs }),
  });
};

const distributed: Factory = async (type, handler) => {
  const pool = await DistributedPool.open({
    connection: redisUrl(),
    name: `${prefix}:${++names}`,
    types: { t: { concurrency: type.concurrency, retryIf: type.retryIf } },
    handlers: { t: handler },
    abortGraceMs: 50,
    random: () => 0.5,
  });
  return {
    submit: (label, options) => pool.submit('t', label, options),
    snapshot: () => pool.snapshot(),
    close: (graceMs) => pool.close({ graceMs }),
  };
};

describe.each([
  ['WorkPool', local],
  ['DistributedPool', distributed],
])('the pool contract: %s', (_name, open) => {
  it('runs higher priorities first, equal ones (the default 0 included) in submission order', async () => {
    const started = deferred();
    const gate = deferred();
    const order: string[] = [];
    const pool = await open({ concurrency: 1 }, async (label) => {
      if (label !== 'gate') order.push(label);
      else {
        started.resolve();
        await gate.promise;
      }
    });
    const jobs = [await pool.submit('gate')];
    await started.promise;
    jobs.push(await pool.submit('zero-a'));
    jobs.push(await pool.submit('two', { priority: 2 }));
    jobs.push(await pool.submit('minus', { priority: -3 }));
    jobs.push(await pool.submit('zero-b', { priority: 0 }));
    gate.resolve();
    await Promise.all(jobs.map((j) => j.result));
    expect(order).toEqual(['two', 'zero-a', 'zero-b', 'minus']);
    await pool.close(1000);
  });

  it('never runs more of a type at once than its concurrency, and fills it', async () => {
    let running = 0;
    let most = 0;
    const gates = new Map<string, () => void>();
    const allStarted = deferred();
    const pool = await open({ concurrency: 2 }, async (label) => {
      most = Math.max(most, ++running);
      if (most === 2) allStarted.resolve();
      await new Promise<void>((resolve) => gates.set(label, resolve));
      running--;
    });
    const jobs = [];
    for (let i = 0; i < 6; i++) jobs.push(await pool.submit(`j${i}`));
    await allStarted.promise;
    // Release one at a time: each release lets exactly one more start.
    for (let released = 0; released < 6; released++) {
      while (gates.size === 0) await new Promise((resolve) => setImmediate(resolve));
      const [label, open] = [...gates.entries()][0] as [string, () => void];
      gates.delete(label);
      open();
    }
    await Promise.all(jobs.map((j) => j.result));
    expect(most).toBe(2);
    await pool.close(1000);
  });

  it('retries while retryIf allows and stops when it refuses', async () => {
    const attempts: string[] = [];
    const pool = await open(
      { concurrency: 1, retryIf: (error) => (error as Error).message === 'transient' },
      (label, { attempt }) => {
        attempts.push(`${label}${attempt}`);
        if (label === 'flaky' && attempt < 3) throw new Error('transient');
        if (label === 'broken') throw new Error('permanent');
        return label;
      },
    );
    const retry = { attempts: 4, baseMs: 1, maxMs: 4 };
    const flaky = await pool.submit('flaky', { retry });
    expect(await flaky.result).toBe('flaky');
    const broken = await pool.submit('broken', { retry });
    await expect(broken.result).rejects.toThrow('permanent');
    expect(attempts).toEqual(['flaky1', 'flaky2', 'flaky3', 'broken1']);
    await pool.close(1000);
  });

  it('joins a submit with the key of a running job instead of running another', async () => {
    const started = deferred();
    const gate = deferred();
    let runs = 0;
    const pool = await open({ concurrency: 2 }, async (label) => {
      runs++;
      started.resolve();
      await gate.promise;
      return label;
    });
    const first = await pool.submit('first', { key: 'feed-1' });
    await started.promise;
    const second = await pool.submit('second', { key: 'feed-1' });
    expect(second.id).toBe(first.id);
    gate.resolve();
    expect(await Promise.all([first.result, second.result])).toEqual(['first', 'first']);
    expect(runs).toBe(1);
    await pool.close(1000);
  });

  it('snapshots plain frozen data: the same fields for the pool and for each job', async () => {
    const started = deferred();
    const gate = deferred();
    const pool = await open({ concurrency: 1 }, async () => {
      started.resolve();
      await gate.promise;
    });
    const job = await pool.submit('a');
    await started.promise;
    const snapshot = await pool.snapshot();
    expect(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.running)).toBe(true);
    expect(Object.keys(snapshot).sort()).toEqual(SNAPSHOT_FIELDS);
    expect(Object.keys(snapshot.running[0] ?? {}).sort()).toEqual(VIEW_FIELDS);
    expect(Object.keys(snapshot.counts).sort()).toEqual(STATUSES);
    expect(snapshot.running[0]).toMatchObject({
      id: job.id,
      type: 't',
      status: 'running',
      attempt: 1,
    });
    expect(structuredClone(snapshot)).toEqual(snapshot);
    gate.resolve();
    await job.result;
    await pool.close(1000);
  });

  it('reports a handler that ignores its signal as abandoned when its close grace ends', async () => {
    const started = deferred();
    const release = deferred();
    let signal: AbortSignal | undefined;
    const pool = await open({ concurrency: 1 }, async (_label, context) => {
      signal = context.signal;
      started.resolve();
      await release.promise;
    });
    const job = await pool.submit('stuck');
    await started.promise;
    const report = await pool.close(20);
    expect(report).toEqual({ completed: 0, cancelled: 0, abandoned: [job.id] });
    expect(signal?.aborted).toBe(true);
    release.resolve();
    // Its result rejects either way (an abort here, ClosedError there: the job goes on in Redis).
    await expect(job.result).rejects.toBeInstanceOf(Error);
  });
});

const SNAPSHOT_FIELDS = [
  'at',
  'counts',
  'history',
  'paused',
  'queued',
  'retrying',
  'running',
  'state',
  'types',
];
const VIEW_FIELDS = [
  'attempt',
  'error',
  'finishedAt',
  'id',
  'key',
  'meta',
  'note',
  'priority',
  'progress',
  'queuedAt',
  'stalled',
  'startedAt',
  'status',
  'type',
];
const STATUSES = ['cancelled', 'failed', 'queued', 'retrying', 'running', 'skipped', 'succeeded'];
