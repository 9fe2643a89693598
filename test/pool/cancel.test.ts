import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import {
  AbortError,
  EventBus,
  WorkPool,
  isAbortError,
  type PoolEvents,
  type JobTypeOptions,
} from '../../src/index.js';
import { expectCounts, flush, rejectionOf, settled, Tasks, thrownBy } from './work-pool.helpers.js';

const newPool = (bus?: EventBus<PoolEvents>): WorkPool<Record<'work', JobTypeOptions>> =>
  new WorkPool({
    concurrency: 1,
    types: { work: { concurrency: 1 } },
    random: () => 0.5,
    ...(bus === undefined ? {} : { bus }),
  });

function expectAbortWithCause(error: unknown, cause: unknown): void {
  expect(error).toBeInstanceOf(AbortError);
  expect(isAbortError(error)).toBe(true);
  expect((error as AbortError).code).toBe('ABORTED');
  expect((error as AbortError).cause).toBe(cause);
}

describe('WorkPool cancel', () => {
  it('a queued job ends at once; its result rejects with an abort error caused by the reason', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('blocker'));
    const task = vi.fn(() => 'never');
    const job = pool.submit('work', task);
    job.cancel('changed my mind');
    expect(job.status).toBe('cancelled');
    expectCounts(pool, { running: 1, cancelled: 1 });
    expectAbortWithCause(await rejectionOf(job.result), 'changed my mind');
    tasks.finish('blocker');
    await pool.onIdle();
    expect(task).not.toHaveBeenCalled();
    await pool.close();
  });

  it('a running job: its signal aborts with the reason, and it ends cancelled once its task settles', async () => {
    const pool = newPool();
    const tasks = new Tasks({ cooperative: false });
    const job = pool.submit('work', tasks.task('a'));
    const next = pool.submit('work', tasks.task('next'));
    await flush();
    const reason = new Error('stop');
    job.cancel(reason);
    const { signal } = tasks.ctx('a');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    // Still running (and holding its slot) until the task settles.
    expect(job.status).toBe('running');
    await flush();
    expect(tasks.started).toEqual(['a']);
    expectCounts(pool, { running: 1, queued: 1 });
    tasks.finish('a'); // even a success counts as cancelled now
    await flush();
    expect(job.status).toBe('cancelled');
    expectAbortWithCause(await rejectionOf(job.result), reason);
    expect(tasks.started).toEqual(['a', 'next']);
    expectCounts(pool, { running: 1, cancelled: 1 });
    tasks.finish('next');
    await next.result;
    await pool.close();
  });

  it('a retrying job ends at once and its backoff timer is cleared', async () => {
    vi.useFakeTimers();
    const pool = newPool();
    const task = vi.fn((): Promise<string> => Promise.reject(new Error('flaky')));
    const job = pool.submit('work', task, { retry: { attempts: 3, baseMs: 1000 } });
    await flush();
    expect(job.status).toBe('retrying');
    expect(vi.getTimerCount()).toBe(1);
    job.cancel('enough');
    expect(job.status).toBe('cancelled');
    expect(vi.getTimerCount()).toBe(0);
    expectAbortWithCause(await rejectionOf(job.result), 'enough');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(task).toHaveBeenCalledOnce();
    expectCounts(pool, { cancelled: 1 });
    await pool.close();
  });

  it('is idempotent: a second cancel changes nothing', async () => {
    const bus = new EventBus<PoolEvents>();
    const finished = vi.fn();
    bus.on('job.finished', finished);
    const pool = newPool(bus);
    const tasks = new Tasks();
    pool.submit('work', tasks.task('blocker'));
    const job = pool.submit('work', () => 'never');
    job.cancel('first');
    job.cancel('second');
    expectAbortWithCause(await rejectionOf(job.result), 'first');
    expect(finished).toHaveBeenCalledOnce();
    expectCounts(pool, { running: 1, cancelled: 1 });
    tasks.finish('blocker');
    await pool.onIdle();
    await pool.close();
    bus.close();
  });

  it('a second cancel of a running job does not replace the reason', async () => {
    const pool = newPool();
    const tasks = new Tasks({ cooperative: false });
    const job = pool.submit('work', tasks.task('a'));
    await flush();
    job.cancel('first');
    job.cancel('second');
    expect(tasks.ctx('a').signal.reason).toBe('first');
    tasks.finish('a');
    expectAbortWithCause(await rejectionOf(job.result), 'first');
    expectCounts(pool, { cancelled: 1 });
    await pool.close();
  });

  it('cancelling a finished job does nothing', async () => {
    const pool = newPool();
    const job = pool.submit('work', () => 'done');
    expect(await job.result).toBe('done');
    job.cancel('too late');
    expect(job.status).toBe('succeeded');
    expect(await job.result).toBe('done');
    expectCounts(pool, { succeeded: 1 });
    await pool.close();
  });

  it('an already-aborted signal option makes submit throw an abort error and queue nothing', async () => {
    const pool = newPool();
    const task = vi.fn(() => 'never');
    const error = thrownBy(() =>
      pool.submit('work', task, { signal: AbortSignal.abort('not wanted') }),
    );
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe('not wanted');
    expectCounts(pool, {});
    await flush();
    expect(task).not.toHaveBeenCalled();
    await pool.close();
  });

  it('a signal option aborting later cancels a queued job', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('blocker'));
    const controller = new AbortController();
    const job = pool.submit('work', () => 'never', { signal: controller.signal });
    controller.abort('user left');
    expect(job.status).toBe('cancelled');
    expectAbortWithCause(await rejectionOf(job.result), 'user left');
    tasks.finish('blocker');
    await pool.onIdle();
    await pool.close();
  });

  it('a signal option aborting later aborts a running job with its reason', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const controller = new AbortController();
    const job = pool.submit('work', tasks.task('a'), { signal: controller.signal });
    await flush();
    controller.abort('user left');
    expect(tasks.ctx('a').signal.reason).toBe('user left');
    expectAbortWithCause(await rejectionOf(job.result), 'user left');
    expect(job.status).toBe('cancelled');
    expectCounts(pool, { cancelled: 1 });
    await pool.close();
  });

  it('removes its abort listener from the signal option once each job ends', async () => {
    vi.useFakeTimers();
    const pool = new WorkPool({
      concurrency: 2,
      types: { work: { concurrency: 2 } },
      random: () => 0.5,
    });
    const tasks = new Tasks();
    const { signal } = new AbortController();
    const ok = pool.submit('work', tasks.task('ok'), { signal });
    const bad = pool.submit('work', tasks.task('bad'), { signal });
    const queued = pool.submit('work', () => 'never', { signal });
    const retried = pool.submit('work', () => Promise.reject(new Error('x')), {
      signal,
      retry: { attempts: 2, baseMs: 100 },
    });
    await flush();
    expect(getEventListeners(signal, 'abort').length).toBeGreaterThan(0);
    queued.cancel();
    tasks.finish('ok');
    tasks.fail('bad', new Error('boom'));
    await flush();
    await vi.advanceTimersByTimeAsync(50);
    await Promise.all([ok, bad, queued, retried].map((job) => settled(job.result)));
    expect([ok.status, bad.status, queued.status, retried.status]).toEqual([
      'succeeded',
      'failed',
      'cancelled',
      'failed',
    ]);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    await pool.close();
  });

  it('a joiner’s signal listener is removed when the shared job ends', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const job = pool.submit('work', tasks.task('a'), { key: 'k' });
    const { signal } = new AbortController();
    const joined = pool.submit('work', () => 'other', { key: 'k', signal });
    expect(joined.id).toBe(job.id);
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    tasks.finish('a');
    await joined.result;
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    await pool.close();
  });

  it('cancel(id) ends a queued job by id for its caller; a second cancel(id) is false', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('blocker'));
    const job = pool.submit('work', tasks.task('queued'));
    expect(pool.cancel(job.id)).toBe(true);
    expect(job.status).toBe('cancelled');
    expect(isAbortError(await rejectionOf(job.result))).toBe(true);
    expect(pool.cancel(job.id)).toBe(false);
    expect(pool.cancel('job-404')).toBe(false);
    tasks.finish('blocker');
    await pool.close();
  });

  it("cancel(id) aborts a running job's signal; it ends cancelled when its task settles", async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const job = pool.submit('work', tasks.task('a'));
    await flush();
    expect(pool.cancel(job.id, 'operator')).toBe(true);
    expect(tasks.ctx('a').signal.reason).toBe('operator');
    expect(pool.cancel(job.id)).toBe(false);
    expectAbortWithCause(await rejectionOf(job.result), 'operator');
    expect(job.status).toBe('cancelled');
    await pool.close();
  });
});
