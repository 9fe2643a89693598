import { beforeEach, describe, expect, it, vi } from 'vitest';
import { TimeoutError, WorkPool, isAbortError, type JobTypeOptions } from '../../src/index.js';
import { expectCounts, flush, rejectionOf, Tasks } from './work-pool.helpers.js';

const newPool = (): WorkPool<Record<'work', JobTypeOptions>> =>
  new WorkPool({
    concurrency: 1,
    types: { work: { concurrency: 1 } },
    random: () => 0.5,
  });

function expectTimeout(error: unknown, timeoutMs: number): void {
  expect(error).toBeInstanceOf(TimeoutError);
  expect((error as TimeoutError).code).toBe('TIMEOUT');
  expect((error as TimeoutError).timeoutMs).toBe(timeoutMs);
  expect(isAbortError(error)).toBe(false);
}

describe('WorkPool timeoutMs', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  it("aborts the attempt's signal with a TimeoutError when the time is up, not before", async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const job = pool.submit('work', tasks.task('slow'), { timeoutMs: 100 });
    await flush();
    const { signal } = tasks.ctx('slow');
    await vi.advanceTimersByTimeAsync(99);
    expect(signal.aborted).toBe(false);
    expect(job.status).toBe('running');
    await vi.advanceTimersByTimeAsync(1);
    expect(signal.aborted).toBe(true);
    expectTimeout(signal.reason, 100);
    await rejectionOf(job.result);
    await pool.close();
  });

  it('a task that honours the timeout fails its job with TimeoutError (code TIMEOUT)', async () => {
    const pool = newPool();
    const tasks = new Tasks(); // rejects with signal.reason
    const job = pool.submit('work', tasks.task('slow'), { timeoutMs: 100 });
    await vi.advanceTimersByTimeAsync(100);
    expect(job.status).toBe('failed');
    expectTimeout(await rejectionOf(job.result), 100);
    expect(job.view().error).toMatchObject({ name: 'TimeoutError', code: 'TIMEOUT' });
    expectCounts(pool, { failed: 1 });
    await pool.close();
  });

  it('a task that rejects with an abort error on timeout fails with the TimeoutError, not the abort', async () => {
    const pool = newPool();
    const job = pool.submit(
      'work',
      ({ signal }) =>
        new Promise<string>((_resolve, reject) => {
          signal.addEventListener('abort', () =>
            reject(new DOMException('This operation was aborted', 'AbortError')),
          );
        }),
      { timeoutMs: 50 },
    );
    await vi.advanceTimersByTimeAsync(50);
    expect(job.status).toBe('failed');
    expectTimeout(await rejectionOf(job.result), 50);
    await pool.close();
  });

  it('a timed-out attempt is retried, with a fresh signal and a fresh time limit', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const job = pool.submit('work', tasks.task('slow'), {
      timeoutMs: 100,
      retry: { attempts: 2, baseMs: 100 },
    });
    await vi.advanceTimersByTimeAsync(100);
    const first = tasks.ctx('slow');
    expect(first.signal.aborted).toBe(true);
    expect(job.status).toBe('retrying');
    expect(job.view().error).toMatchObject({ name: 'TimeoutError' });
    await vi.advanceTimersByTimeAsync(50); // backoff: floor(0.5 · 100)
    expect(job.status).toBe('running');
    const second = tasks.ctx('slow');
    expect(second.attempt).toBe(2);
    expect(second.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(99);
    expect(second.signal.aborted).toBe(false);
    tasks.finish('slow', 'second time lucky');
    expect(await job.result).toBe('second time lucky');
    expect(job.view()).toMatchObject({ status: 'succeeded', attempt: 2, error: undefined });
    await pool.close();
  });

  it('the timer is cleared when the task finishes in time', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const job = pool.submit('work', tasks.task('quick'), { timeoutMs: 1000 });
    await flush();
    expect(vi.getTimerCount()).toBe(1);
    tasks.finish('quick');
    expect(await job.result).toBe('quick');
    expect(vi.getTimerCount()).toBe(0);
    expect(tasks.ctx('quick').signal.aborted).toBe(false);
    await pool.close();
  });

  it('bounds the result of a task that ignores its signal: the job fails at the deadline', async () => {
    const pool = newPool();
    const tasks = new Tasks({ cooperative: false });
    const job = pool.submit('work', tasks.task('stubborn'), { timeoutMs: 100 });
    await vi.advanceTimersByTimeAsync(100);
    expect(job.status).toBe('failed');
    expectTimeout(await rejectionOf(job.result), 100);
    await pool.close();
  });

  it('frees the slot at the deadline, so the next job starts while the stubborn task still runs', async () => {
    const pool = newPool();
    const tasks = new Tasks({ cooperative: false });
    pool.submit('work', tasks.task('stubborn'), { timeoutMs: 100 });
    pool.submit('work', tasks.task('next'));
    await vi.advanceTimersByTimeAsync(100);
    expect(tasks.started).toEqual(['stubborn', 'next']);
    expectCounts(pool, { running: 1, failed: 1 });
    tasks.finish('next');
    tasks.finish('stubborn');
    await flush();
    await pool.close();
  });

  it('ignores what a timed-out task returns later', async () => {
    const pool = newPool();
    const tasks = new Tasks({ cooperative: false });
    const job = pool.submit('work', tasks.task('stubborn'), { timeoutMs: 100 });
    await vi.advanceTimersByTimeAsync(100);
    tasks.finish('stubborn', 'too late');
    await flush();
    expect(job.status).toBe('failed');
    expectTimeout(await rejectionOf(job.result), 100);
    expectCounts(pool, { failed: 1 });
    await pool.close();
  });

  it('a stubborn timed-out attempt is retried at the deadline, not when the task returns', async () => {
    const pool = newPool();
    const tasks = new Tasks({ cooperative: false });
    const job = pool.submit('work', tasks.task('stubborn'), {
      timeoutMs: 100,
      retry: { attempts: 2, baseMs: 0 },
    });
    await vi.advanceTimersByTimeAsync(101); // the deadline, then a backoff of 0 (Node's 1 ms)
    expect(job.status).toBe('running');
    expect(job.view().attempt).toBe(2);
    tasks.finish('stubborn', 'second');
    expect(await job.result).toBe('second');
    await pool.close();
  });

  it('a cancelled task that ignores its abort still ends at its deadline', async () => {
    const pool = newPool();
    const tasks = new Tasks({ cooperative: false });
    const job = pool.submit('work', tasks.task('stubborn'), { timeoutMs: 100 });
    await flush();
    job.cancel('stop');
    await vi.advanceTimersByTimeAsync(99);
    expect(job.status).toBe('running');
    await vi.advanceTimersByTimeAsync(1);
    expect(job.status).toBe('cancelled');
    expect(isAbortError(await rejectionOf(job.result))).toBe(true);
    await pool.close();
  });
});
