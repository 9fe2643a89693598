import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AbortError, EventBus, WorkPool, type PoolEvents } from '../../src/index.js';
import { expectCounts, flush, observe, rejectionOf, Tasks } from './work-pool.helpers.js';

/** A task failing every attempt, recording when each attempt started. */
function alwaysFailing(starts: number[]): () => Promise<never> {
  return () => {
    starts.push(Date.now());
    return Promise.reject(new Error(`attempt ${starts.length} failed`));
  };
}

/** Advances through each backoff, checking nothing restarts before it ends and one attempt starts right at its end. */
async function expectBackoffs(starts: number[], delays: readonly number[]): Promise<void> {
  for (const delay of delays) {
    const before = starts.length;
    if (delay > 0) {
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(starts).toHaveLength(before);
    }
    await vi.advanceTimersByTimeAsync(delay > 0 ? 1 : 0);
    expect(starts).toHaveLength(before + 1);
  }
}

describe('WorkPool retries', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });

  it('waits min(maxMs, baseMs·2^(n−1))·random between attempts, one draw per backoff', async () => {
    const draws = [0.5, 0.75, 0.625];
    let next = 0;
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      random: () => draws[next++] ?? 0,
    });
    const starts: number[] = [];
    const job = pool.submit('work', alwaysFailing(starts), {
      retry: { attempts: 4, baseMs: 100, maxMs: 10_000 },
    });
    await flush();
    expect(starts).toEqual([0]);
    // 0.5·100, 0.75·200, 0.625·400
    await expectBackoffs(starts, [50, 150, 250]);
    expect(starts).toEqual([0, 50, 200, 450]);
    expect(next).toBe(3);
    const error = await rejectionOf(job.result);
    expect(error).toEqual(new Error('attempt 4 failed'));
    expect(job.view()).toMatchObject({ status: 'failed', attempt: 4 });
    await vi.advanceTimersByTimeAsync(100_000);
    expect(starts).toHaveLength(4);
    expect(vi.getTimerCount()).toBe(0);
    expectCounts(pool, { failed: 1 });
    await pool.close();
  });

  it('caps the backoff at maxMs', async () => {
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      random: () => 0.5,
    });
    const starts: number[] = [];
    const job = pool.submit('work', alwaysFailing(starts), {
      retry: { attempts: 5, baseMs: 100, maxMs: 300 },
    });
    await flush();
    // caps 100, 200, 300, 300 → halves
    await expectBackoffs(starts, [50, 100, 150, 150]);
    expect(starts).toEqual([0, 50, 150, 300, 450]);
    await rejectionOf(job.result);
    await pool.close();
  });

  it('uses the defaults baseMs 100 and maxMs 30000', async () => {
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      random: () => 0.5,
    });
    const starts: number[] = [];
    const job = pool.submit('work', alwaysFailing(starts), { retry: { attempts: 3 } });
    await flush();
    await expectBackoffs(starts, [50, 100]);
    await rejectionOf(job.result);
    await pool.close();
  });

  it('stops retrying once an attempt succeeds, passing the attempt number to the task', async () => {
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      random: () => 0.5,
    });
    const seen: number[] = [];
    const job = pool.submit(
      'work',
      (ctx) => {
        seen.push(ctx.attempt);
        return ctx.attempt < 3 ? Promise.reject(new Error('not yet')) : 'third';
      },
      { retry: { attempts: 5, baseMs: 10 } },
    );
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await job.result).toBe('third');
    expect(seen).toEqual([1, 2, 3]);
    expect(job.view()).toMatchObject({ status: 'succeeded', attempt: 3, error: undefined });
    expectCounts(pool, { succeeded: 1 });
    await pool.close();
  });

  it.each([
    ['an AbortError', () => new AbortError('gave up')],
    ['a DOMException named AbortError', () => new DOMException('aborted', 'AbortError')],
  ])('never retries a task that fails with %s', async (_label, makeError) => {
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      random: () => 0.5,
    });
    const task = vi.fn((): Promise<string> => Promise.reject(makeError()));
    const job = pool.submit('work', task, { retry: { attempts: 3, baseMs: 10 } });
    await flush();
    expect(job.status).toBe('failed');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(task).toHaveBeenCalledOnce();
    expect((await rejectionOf(job.result)) as Error).toMatchObject({ name: 'AbortError' });
    await pool.close();
  });

  it('never retries a cancelled running job', async () => {
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      random: () => 0.5,
    });
    const tasks = new Tasks();
    const job = pool.submit('work', tasks.task('a'), { retry: { attempts: 3, baseMs: 10 } });
    await flush();
    job.cancel('stop');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(job.status).toBe('cancelled');
    expect(tasks.started).toEqual(['a']);
    await pool.close();
  });

  it('a cancel during the backoff ends the job at once, and it never restarts', async () => {
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      random: () => 0.5,
    });
    const starts: number[] = [];
    const job = pool.submit('work', alwaysFailing(starts), {
      retry: { attempts: 3, baseMs: 1000 },
    });
    await vi.advanceTimersByTimeAsync(100);
    expect(job.status).toBe('retrying');
    job.cancel('no more');
    expect(job.status).toBe('cancelled');
    const seen = observe(job.result);
    await Promise.resolve();
    expect(seen()).toMatchObject({ status: 'rejected' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts).toEqual([0]);
    expectCounts(pool, { cancelled: 1 });
    await pool.close();
  });

  it('a retrying job gives its slot back: another job of its type runs during the backoff', async () => {
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      random: () => 0.5,
    });
    let attempts = 0;
    const flaky = pool.submit(
      'work',
      () => (++attempts === 1 ? Promise.reject(new Error('flaky')) : 'recovered'),
      { retry: { attempts: 2, baseMs: 200 } },
    );
    const tasks = new Tasks();
    pool.submit('work', tasks.task('other'));
    await flush();
    expect(flaky.status).toBe('retrying');
    expect(tasks.started).toEqual(['other']);
    const snapshot = pool.snapshot();
    expect(snapshot.counts).toMatchObject({ running: 1, retrying: 1, queued: 0 });
    expect(snapshot.types.work).toEqual({
      running: 1,
      queued: 0,
      limit: 1,
      paused: false,
      heldByRate: false,
    });
    expect(snapshot.retrying).toMatchObject([
      { id: flaky.id, status: 'retrying', attempt: 1, error: { name: 'Error', message: 'flaky' } },
    ]);
    expect(snapshot.running.map((j) => j.id)).not.toContain(flaky.id);
    // The backoff ends while the other job still holds the slot: the retry waits in the queue.
    await vi.advanceTimersByTimeAsync(100);
    expect(flaky.status).toBe('queued');
    expect(pool.snapshot().queued.map((j) => j.id)).toEqual([flaky.id]);
    tasks.finish('other');
    expect(await flaky.result).toBe('recovered');
    expect(attempts).toBe(2);
    await pool.close();
  });

  it('reports each retry on the bus with its delay and the last error', async () => {
    const bus = new EventBus<PoolEvents>();
    const retrying: PoolEvents['job.retrying'][] = [];
    bus.on('job.retrying', (payload) => retrying.push(payload));
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      random: () => 0.5,
      bus,
    });
    const starts: number[] = [];
    const job = pool.submit('work', alwaysFailing(starts), {
      retry: { attempts: 3, baseMs: 100 },
    });
    await vi.advanceTimersByTimeAsync(1_000);
    await rejectionOf(job.result);
    expect(retrying).toEqual([
      expect.objectContaining({
        id: job.id,
        status: 'retrying',
        attempt: 1,
        delayMs: 50,
        lastError: { name: 'Error', message: 'attempt 1 failed' },
      }),
      expect.objectContaining({
        id: job.id,
        attempt: 2,
        delayMs: 100,
        lastError: { name: 'Error', message: 'attempt 2 failed' },
      }),
    ]);
    await pool.close();
    bus.close();
  });

  it('a random() outside [0, 1) still settles the job instead of leaving it running', async () => {
    // Bug: backoffDelay throws inside the attempt's .then handler after the slot was
    // released, so the job stays 'running' forever (counted nowhere), its result never
    // settles and the RangeError becomes an unhandled rejection.
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      random: () => 1,
    });
    const job = pool.submit('work', () => Promise.reject(new Error('flaky')), {
      retry: { attempts: 2, baseMs: 100 },
    });
    const seen = observe(job.result);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen().status).toBe('rejected');
    expect(job.status).toBe('failed');
    expectCounts(pool, { failed: 1 });
    await pool.close();
  });
});
