import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import {
  ClosedError,
  EventBus,
  QueueFullError,
  WorkPool,
  isAbortError,
  type PoolEvents,
  type JobTypeOptions,
} from '../../src/index.js';
import { expectCounts, flush, observe, rejectionOf, Tasks, thrownBy } from './work-pool.helpers.js';

function expectQueueFull(error: unknown): void {
  expect(error).toBeInstanceOf(QueueFullError);
  expect((error as QueueFullError).code).toBe('QUEUE_FULL');
}

describe("WorkPool queue capacity, whenFull 'reject'", () => {
  it('throws QueueFullError once capacity jobs are queued; running jobs do not count', async () => {
    const bus = new EventBus<PoolEvents>();
    const queued = vi.fn();
    bus.on('job.queued', queued);
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      queue: { capacity: 2, whenFull: 'reject' },
      bus,
    });
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    pool.submit('work', tasks.task('q1'));
    pool.submit('work', tasks.task('q2'), { priority: -1 });
    const task = vi.fn(() => 'never');
    const error = thrownBy(() => pool.submit('work', task, { priority: 100 }));
    expectQueueFull(error);
    expect((error as Error).message).toMatch(/capacity 2/);
    expect(queued).toHaveBeenCalledTimes(3);
    expectCounts(pool, { running: 1, queued: 2 });
    tasks.finish('running');
    await flush();
    // One slot freed: there is room again.
    expect(() => pool.submit('work', tasks.task('q3'))).not.toThrow();
    expectCounts(pool, { running: 1, queued: 2, succeeded: 1 });
    expect(task).not.toHaveBeenCalled();
    await pool.close({ graceMs: 0 });
    bus.close();
  });

  it('is the default policy, and the default capacity is unbounded', async () => {
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } } });
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    for (let i = 0; i < 10_000; i++) pool.submit('work', () => i);
    expectCounts(pool, { running: 1, queued: 10_000 });
    await pool.close({ graceMs: 0 });
    const limited = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      queue: { capacity: 1 },
    });
    limited.submit('work', tasks.task('running-2'));
    limited.submit('work', () => 'queued');
    expectQueueFull(thrownBy(() => limited.submit('work', () => 'refused')));
    await limited.close({ graceMs: 0 });
  });

  it('does not keep finished jobs alive', async () => {
    expect(await finishedPayloadsAlive('reject')).toBe(0);
  });

  it('keeps no result reachable from its history, whether the result was read or not', async () => {
    setFlagsFromString('--expose_gc');
    const gc = runInNewContext('gc') as () => void;
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } } });
    const refs: WeakRef<object>[] = [];
    // In a function of its own, so no handle stays in this test's frame.
    const runOne = async (i: number): Promise<void> => {
      const job = pool.submit('work', () => {
        const value = { data: new Array<number>(1000).fill(i) };
        refs.push(new WeakRef(value));
        return value;
      });
      // Half are read (the handle's promise holds the value), half never are (its outcome does).
      if (i % 2 === 0) await job.result;
      else await pool.onIdle();
    };
    for (let i = 0; i < 20; i++) await runOne(i);
    await flush();
    gc();
    await flush();
    gc();
    expect(pool.snapshot().history).toHaveLength(20);
    expect(refs.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
    await pool.close();
  });
});

describe("WorkPool queue capacity, whenFull 'drop-lowest'", () => {
  const dropPool = (capacity = 2): WorkPool<Record<'work' | 'other', JobTypeOptions>> =>
    new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 }, other: { concurrency: 1 } },
      queue: { capacity, whenFull: 'drop-lowest' },
    });

  it('evicts the lowest-priority queued job for a higher-priority newcomer', async () => {
    const pool = dropPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    const high = pool.submit('work', tasks.task('high'), { priority: 1 });
    const low = pool.submit('other', tasks.task('low'), { priority: 0 });
    const newcomer = pool.submit('work', tasks.task('newcomer'), { priority: 2 });
    expect(low.status).toBe('cancelled');
    const error = await rejectionOf(low.result);
    expectQueueFull(error);
    expect(isAbortError(error)).toBe(false);
    expect(pool.snapshot().queued.map((j) => j.id)).toEqual([newcomer.id, high.id]);
    expectCounts(pool, { running: 1, queued: 2, cancelled: 1 });
    expect(low.view().error).toMatchObject({ name: 'QueueFullError', code: 'QUEUE_FULL' });
    await pool.close({ graceMs: 0 });
    expect(tasks.started).toEqual(['running']);
  });

  it('among equal lowest priorities, evicts the one submitted last', async () => {
    const pool = dropPool(3);
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    const first = pool.submit('work', () => 'first');
    const second = pool.submit('work', () => 'second');
    const keep = pool.submit('work', () => 'keep', { priority: 5 });
    const newcomer = pool.submit('work', () => 'newcomer', { priority: 1 });
    expect([first.status, second.status, keep.status, newcomer.status]).toEqual([
      'queued',
      'cancelled',
      'queued',
      'queued',
    ]);
    await pool.close({ graceMs: 0 });
  });

  it('refuses the newcomer when nothing queued ranks lower (equal priority is not lower)', async () => {
    const pool = dropPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    const a = pool.submit('work', () => 'a', { priority: 1 });
    const b = pool.submit('work', () => 'b', { priority: 1 });
    expectQueueFull(thrownBy(() => pool.submit('work', () => 'equal', { priority: 1 })));
    expectQueueFull(thrownBy(() => pool.submit('other', () => 'lower', { priority: 0 })));
    expect([a.status, b.status]).toEqual(['queued', 'queued']);
    expectCounts(pool, { running: 1, queued: 2 });
    await pool.close({ graceMs: 0 });
  });

  it('skips jobs that already left the queue when looking for the lowest', async () => {
    const pool = dropPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    const lowest = pool.submit('work', () => 'lowest', { priority: -5 });
    const mid = pool.submit('work', () => 'mid', { priority: 0 });
    lowest.cancel();
    const filler = pool.submit('work', () => 'filler', { priority: 3 });
    // Full again with mid and filler: the cancelled job is no candidate, mid is evicted.
    const newcomer = pool.submit('work', () => 'newcomer', { priority: 1 });
    expect(mid.status).toBe('cancelled');
    expectQueueFull(await rejectionOf(mid.result));
    expect(pool.snapshot().queued.map((j) => j.id)).toEqual([filler.id, newcomer.id]);
    await pool.close({ graceMs: 0 });
  });

  it('does not keep finished jobs alive (no unbounded growth of its eviction index)', async () => {
    // Bug: every job submitted under 'drop-lowest' is pushed onto #lowest, which is only
    // ever popped from inside #makeRoom when the queue is full. A pool whose queue never
    // fills keeps every job it ever ran (task closure, meta) reachable.
    expect(await finishedPayloadsAlive('drop-lowest')).toBe(0);
  });
});

/**
 * Runs 20 jobs one after another (the queue never fills), each task holding a payload,
 * then collects garbage: how many payloads are still reachable.
 */
async function finishedPayloadsAlive(whenFull: 'reject' | 'drop-lowest'): Promise<number> {
  setFlagsFromString('--expose_gc');
  const gc = runInNewContext('gc') as () => void;
  const pool = new WorkPool({
    concurrency: 1,
    types: { work: { concurrency: 1 } },
    queue: { capacity: 10, whenFull },
  });
  const refs: WeakRef<object>[] = [];
  for (let i = 0; i < 20; i++) {
    const payload = { data: new Array<number>(1000).fill(i) };
    refs.push(new WeakRef(payload));
    await pool.submit('work', () => payload.data.length).result;
  }
  await flush();
  gc();
  await flush();
  gc();
  const alive = refs.filter((ref) => ref.deref() !== undefined).length;
  await pool.close();
  return alive;
}

describe('WorkPool run() backpressure', () => {
  const smallPool = (): WorkPool<Record<'work', JobTypeOptions>> =>
    new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      queue: { capacity: 1 },
    });

  it('waits for queue room instead of throwing, then submits and resolves with the result', async () => {
    const pool = smallPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    pool.submit('work', tasks.task('queued'));
    const result = observe(pool.run('work', tasks.task('waiting')));
    await flush();
    expect(result().status).toBe('pending');
    expectCounts(pool, { running: 1, queued: 1 });
    tasks.finish('running'); // queued starts: room for the waiting run()
    await flush();
    expectCounts(pool, { running: 1, queued: 1, succeeded: 1 });
    tasks.finish('queued');
    await flush();
    expect(tasks.started).toEqual(['running', 'queued', 'waiting']);
    tasks.finish('waiting', 'done');
    await flush();
    expect(result()).toEqual({ status: 'fulfilled', value: 'done' });
    await pool.close();
  });

  it('gets room when a queued job is cancelled', async () => {
    const pool = smallPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    const queued = pool.submit('work', tasks.task('queued'));
    const result = observe(pool.run('work', () => 'ran'));
    await flush();
    expect(result().status).toBe('pending');
    queued.cancel();
    await flush();
    expectCounts(pool, { running: 1, queued: 1, cancelled: 1 });
    tasks.finish('running');
    await flush();
    expect(result()).toEqual({ status: 'fulfilled', value: 'ran' });
    await pool.close();
  });

  it('is abortable while waiting: rejects with an abort error, submits nothing, leaves no listener', async () => {
    const pool = smallPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    pool.submit('work', tasks.task('queued'));
    const controller = new AbortController();
    const task = vi.fn(() => 'never');
    const waiting = pool.run('work', task, { signal: controller.signal });
    await flush();
    controller.abort('gave up');
    const error = await rejectionOf(waiting);
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe('gave up');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expectCounts(pool, { running: 1, queued: 1 });
    tasks.finish('running');
    await flush();
    tasks.finish('queued');
    await pool.onIdle();
    expect(task).not.toHaveBeenCalled();
    await pool.close();
  });

  it('rejects at once with an already-aborted signal while the queue is full', async () => {
    const pool = smallPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    pool.submit('work', tasks.task('queued'));
    const error = await rejectionOf(
      pool.run('work', () => 'never', { signal: AbortSignal.abort('no') }),
    );
    expect(isAbortError(error)).toBe(true);
    await pool.close({ graceMs: 0 });
  });

  it('rejects with ClosedError when the pool closes while it waits', async () => {
    const pool = smallPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    pool.submit('work', tasks.task('queued'));
    const task = vi.fn(() => 'never');
    const waiting = pool.run('work', task);
    await flush();
    const closing = pool.close({ graceMs: 0 });
    const error = await rejectionOf(waiting);
    expect(error).toBeInstanceOf(ClosedError);
    expect((error as ClosedError).code).toBe('CLOSED');
    await closing;
    expect(task).not.toHaveBeenCalled();
  });
});
