import { describe, expect, it, vi } from 'vitest';
import { EventBus, WorkPool, type Envelope, type PoolEvents } from '../../src/index.js';
import { closePool, flush, rejectionOf, Tasks } from './work-pool.helpers.js';

/** A bus recording every envelope the pool publishes. */
function recordingBus(): { bus: EventBus<PoolEvents>; seen: Envelope[] } {
  const bus = new EventBus<PoolEvents>();
  const seen: Envelope[] = [];
  bus.on('*', (_payload, envelope) => seen.push(envelope));
  return { bus, seen };
}

const topicsOf = (seen: readonly Envelope[]): string[] => seen.map((e) => e.topic);

describe('WorkPool events', () => {
  it('publishes job.queued, job.started, job.finished, then pool.idle for a job', async () => {
    const { bus, seen } = recordingBus();
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } }, bus });
    const job = pool.submit('work', () => 'done', { priority: 2, meta: { n: 1 } });
    await job.result;
    expect(topicsOf(seen)).toEqual(['job.queued', 'job.started', 'job.finished', 'pool.idle']);
    expect(seen[0]?.payload).toMatchObject({
      id: job.id,
      type: 'work',
      status: 'queued',
      priority: 2,
      attempt: 0,
      meta: { n: 1 },
    });
    expect(seen[1]?.payload).toMatchObject({ id: job.id, status: 'running', attempt: 1 });
    expect(seen[2]?.payload).toMatchObject({
      id: job.id,
      status: 'succeeded',
      error: undefined,
    });
    expect(seen[3]?.payload).toEqual({ at: expect.any(Number) as number });
    await pool.close();
    bus.close();
  });

  it('job.finished carries the failure as plain data', async () => {
    const { bus, seen } = recordingBus();
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } }, bus });
    const job = pool.submit('work', () => Promise.reject(new RangeError('out of range')));
    await rejectionOf(job.result);
    const finished = seen.find((e) => e.topic === 'job.finished');
    expect(finished?.payload).toMatchObject({
      id: job.id,
      status: 'failed',
      error: { name: 'RangeError', message: 'out of range' },
    });
    await pool.close();
    bus.close();
  });

  it('coalesces progress: the first at once, the latest after progressIntervalMs, nothing more', async () => {
    vi.useFakeTimers({ now: 0 });
    const bus = new EventBus<PoolEvents>();
    const progress: [number, number, string | undefined][] = [];
    bus.on('job.progress', (view) => progress.push([Date.now(), view.progress, view.note]));
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      bus,
      progressIntervalMs: 100,
    });
    const tasks = new Tasks();
    const job = pool.submit('work', tasks.task('a'));
    await flush();
    const ctx = tasks.ctx('a');
    ctx.progress(0.1, 'one');
    ctx.progress(0.2, 'two');
    ctx.progress(0.3, 'three');
    expect(progress).toEqual([[0, 0.1, 'one']]);
    await vi.advanceTimersByTimeAsync(99);
    expect(progress).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(progress).toEqual([
      [0, 0.1, 'one'],
      [100, 0.3, 'three'],
    ]);
    await vi.advanceTimersByTimeAsync(50);
    ctx.progress(0.4);
    ctx.progress(0.5);
    expect(progress).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(50);
    expect(progress.at(-1)).toEqual([200, 0.5, undefined]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(progress).toHaveLength(3);
    // Quiet for a whole interval: the next report goes out at once again.
    ctx.progress(0.6);
    expect(progress.at(-1)).toEqual([1_200, 0.6, undefined]);
    tasks.finish('a');
    await job.result;
    expect(vi.getTimerCount()).toBe(0);
    await pool.close();
    bus.close();
  });

  it('publishes job.retrying with delayMs and lastError', async () => {
    vi.useFakeTimers();
    const { bus, seen } = recordingBus();
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      bus,
      random: () => 0.5,
    });
    const job = pool.submit('work', () => Promise.reject(new Error('flaky')), {
      retry: { attempts: 2, baseMs: 400 },
    });
    await flush();
    const retrying = seen.filter((e) => e.topic === 'job.retrying');
    expect(retrying).toHaveLength(1);
    expect(retrying[0]?.payload).toMatchObject({
      id: job.id,
      status: 'retrying',
      attempt: 1,
      delayMs: 200,
      lastError: { name: 'Error', message: 'flaky' },
    });
    await vi.advanceTimersByTimeAsync(200);
    await rejectionOf(job.result);
    // (Whether the retry's return to the queue is published as job.queued is left open.)
    expect(topicsOf(seen).filter((t) => t !== 'job.queued')).toEqual([
      'job.started',
      'job.retrying',
      'job.started',
      'job.finished',
      'pool.idle',
    ]);
    await pool.close();
    bus.close();
  });

  it('publishes pool.idle each time the work drains', async () => {
    const { bus, seen } = recordingBus();
    const pool = new WorkPool({ concurrency: 2, types: { work: { concurrency: 2 } }, bus });
    const tasks = new Tasks();
    pool.submit('work', tasks.task('a'));
    pool.submit('work', tasks.task('b'));
    await flush();
    tasks.finish('a');
    await flush();
    expect(topicsOf(seen).filter((t) => t === 'pool.idle')).toHaveLength(0);
    tasks.finish('b');
    await flush();
    expect(topicsOf(seen).filter((t) => t === 'pool.idle')).toHaveLength(1);
    await pool.run('work', () => 'c');
    expect(topicsOf(seen).filter((t) => t === 'pool.idle')).toHaveLength(2);
    await pool.close();
    bus.close();
  });

  it('publishes pool.closed with the close report', async () => {
    const { bus, seen } = recordingBus();
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } }, bus });
    const tasks = new Tasks();
    pool.submit('work', tasks.task('a'));
    pool.submit('work', () => 'never');
    const closing = pool.close({ drain: false });
    tasks.finish('a');
    const report = await closing;
    const closed = seen.filter((e) => e.topic === 'pool.closed');
    expect(closed).toHaveLength(1);
    expect(closed[0]?.payload).toEqual(report);
    expect(report).toEqual({ completed: 1, cancelled: 1, abandoned: [] });
    expect(seen.at(-1)?.topic).toBe('pool.closed');
    bus.close();
  });

  it('every event is plain, structured-cloneable data', async () => {
    vi.useFakeTimers();
    const { bus, seen } = recordingBus();
    const pool = new WorkPool({
      concurrency: 2,
      types: { work: { concurrency: 2, stallAfterMs: 100 } },
      bus,
      random: () => 0.5,
    });
    const tasks = new Tasks();
    pool.submit('work', tasks.task('a'), { meta: { nested: { list: [1, 'two'] } }, key: 'k' });
    pool.submit('work', () => Promise.reject(new Error('flaky')), {
      retry: { attempts: 2, baseMs: 10 },
    });
    await flush();
    tasks.ctx('a').progress(0.5, 'half');
    await vi.advanceTimersByTimeAsync(100);
    tasks.finish('a');
    await pool.onIdle();
    await closePool(pool);
    expect(new Set(topicsOf(seen))).toEqual(
      new Set([
        'job.queued',
        'job.started',
        'job.progress',
        'job.retrying',
        'job.stalled',
        'job.finished',
        'pool.idle',
        'pool.closed',
      ]),
    );
    for (const { topic, payload } of seen) {
      expect(structuredClone(payload), topic).toEqual(payload);
      expect(Object.getPrototypeOf(payload), topic).toBe(Object.prototype);
    }
    bus.close();
  });

  it('keeps working when the bus is closed (events are observations)', async () => {
    const bus = new EventBus<PoolEvents>();
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } }, bus });
    bus.close();
    expect(await pool.run('work', () => 'still works')).toBe('still works');
    expect(pool.snapshot().counts.succeeded).toBe(1);
    await pool.close();
  });

  it('a listener that submits from job.finished does not confuse the pool', async () => {
    const { bus } = recordingBus();
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } }, bus });
    const order: string[] = [];
    let chained = false;
    bus.on('job.finished', () => {
      if (chained) return;
      chained = true;
      pool.submit('work', () => {
        order.push('chained');
      });
    });
    await pool.run('work', () => {
      order.push('first');
    });
    await pool.onIdle();
    expect(order).toEqual(['first', 'chained']);
    expect(pool.snapshot().counts).toMatchObject({ succeeded: 2, running: 0, queued: 0 });
    await pool.close();
    bus.close();
  });
});
