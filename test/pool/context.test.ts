import { describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  TaskError,
  type Job,
  WorkPool,
  type PoolEvents,
  type TaskContext,
  type JobTypeOptions,
} from '../../src/index.js';
import {
  deferred,
  expectCounts,
  flush,
  rejectionOf,
  Tasks,
  thrownBy,
} from './work-pool.helpers.js';

const newPool = (bus?: EventBus<PoolEvents>): WorkPool<Record<'work', JobTypeOptions>> =>
  new WorkPool({
    concurrency: 1,
    types: { work: { concurrency: 1 } },
    ...(bus === undefined ? {} : { bus }),
  });

describe('WorkPool task context', () => {
  it('gives the task an unaborted signal, the job id and attempt 1', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const job = pool.submit('work', tasks.task('a'));
    await flush();
    const ctx = tasks.ctx('a');
    expect(ctx.id).toBe(job.id);
    expect(ctx.attempt).toBe(1);
    expect(ctx.signal).toBeInstanceOf(AbortSignal);
    expect(ctx.signal.aborted).toBe(false);
    tasks.finish('a');
    await job.result;
    await pool.close();
  });

  it('progress updates the job view and the snapshot', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const job = pool.submit('work', tasks.task('a'));
    await flush();
    tasks.ctx('a').progress(0.25, 'a quarter');
    expect(job.view()).toMatchObject({ progress: 0.25, note: 'a quarter' });
    expect(pool.snapshot().running).toMatchObject([
      { id: job.id, progress: 0.25, note: 'a quarter' },
    ]);
    tasks.ctx('a').progress(1);
    expect(job.view()).toMatchObject({ progress: 1, note: undefined });
    tasks.finish('a');
    await job.result;
    await pool.close();
  });

  it('progress refuses a fraction outside [0, 1] and a non-string note', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const job = pool.submit('work', tasks.task('a'));
    await flush();
    const ctx = tasks.ctx('a');
    for (const bad of [1.5, -0.1, Number.NaN]) {
      const error = thrownBy(() => ctx.progress(bad));
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toMatch(/fraction/);
      expect((error as Error).message).toContain(String(bad));
    }
    const error = thrownBy(() => ctx.progress(0.5, 5 as unknown as string));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/note/);
    expect(job.view().progress).toBe(0);
    tasks.finish('a');
    await job.result;
    await pool.close();
  });

  it('a task that throws synchronously fails its job, and submit does not throw', async () => {
    const pool = newPool();
    const boom = new Error('sync boom');
    let job: Job<never> | undefined;
    expect(() => {
      job = pool.submit('work', () => {
        throw boom;
      });
    }).not.toThrow();
    expect(await rejectionOf(job!.result)).toBe(boom);
    expect(job!.status).toBe('failed');
    expectCounts(pool, { failed: 1 });
    expect(pool.snapshot().types.work).toEqual({
      running: 0,
      queued: 0,
      limit: 1,
      paused: false,
      heldByRate: false,
    });
    expect(await pool.run('work', () => 'next')).toBe('next');
    await pool.close();
  });

  it.each([
    ['a string', 'nope'],
    ['undefined', undefined],
    ['a number', 42],
    ['a plain object', { reason: 'x' }],
  ])(
    'a task rejecting with %s fails with TaskError (TASK_FAILED) holding the value as cause',
    async (_label, value: unknown) => {
      const pool = newPool();
      const job = pool.submit('work', () => Promise.reject(value));
      const error = await rejectionOf(job.result);
      expect(error).toBeInstanceOf(TaskError);
      expect((error as TaskError).code).toBe('TASK_FAILED');
      expect((error as TaskError).cause).toBe(value);
      expect(job.view().error).toMatchObject({ name: 'TaskError', code: 'TASK_FAILED' });
      expectCounts(pool, { failed: 1 });
      expect(await pool.run('work', () => 'next')).toBe('next');
      await pool.close();
    },
  );

  it('a task throwing a non-Error synchronously fails with TaskError too', async () => {
    const pool = newPool();
    const value: unknown = 'thrown string';
    const job = pool.submit('work', () => {
      throw value;
    });
    const error = await rejectionOf(job.result);
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).cause).toBe(value);
    expectCounts(pool, { failed: 1 });
    await pool.close();
  });

  it('a thenable that settles twice counts once: the first resolution wins', async () => {
    const bus = new EventBus<PoolEvents>();
    const finished: string[] = [];
    bus.on('job.finished', (view) => finished.push(`${view.id}:${view.status}`));
    const pool = newPool(bus);
    const thenable = {
      then(resolve: (value: number) => void, reject: (error: unknown) => void): void {
        resolve(1);
        resolve(2);
        reject(new Error('late'));
      },
    } as unknown as PromiseLike<number>;
    const job = pool.submit('work', () => thenable);
    expect(await job.result).toBe(1);
    await flush();
    expect(finished).toEqual([`${job.id}:succeeded`]);
    expectCounts(pool, { succeeded: 1 });
    expect(pool.snapshot().history.map((v) => v.id)).toEqual([job.id]);
    expect(await pool.run('work', () => 'next')).toBe('next');
    expectCounts(pool, { succeeded: 2 });
    await pool.close();
    bus.close();
  });

  it('progress reported after the job finished is ignored', async () => {
    const bus = new EventBus<PoolEvents>();
    const progress = vi.fn();
    bus.on('job.progress', progress);
    const pool = newPool(bus);
    const tasks = new Tasks();
    const job = pool.submit('work', tasks.task('a'));
    await flush();
    const ctx = tasks.ctx('a');
    ctx.progress(0.5, 'half');
    expect(progress).toHaveBeenCalledOnce();
    tasks.finish('a');
    await job.result;
    expect(() => ctx.progress(0.9, 'late')).not.toThrow();
    expect(job.view()).toMatchObject({ status: 'succeeded', progress: 0.5, note: 'half' });
    expect(pool.snapshot().history[0]).toMatchObject({ progress: 0.5, note: 'half' });
    expect(progress).toHaveBeenCalledOnce();
    expectCounts(pool, { succeeded: 1 });
    await pool.close();
    bus.close();
  });

  it('progress from an earlier attempt is ignored once the job retries', async () => {
    vi.useFakeTimers();
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      random: () => 0,
    });
    const contexts: TaskContext[] = [];
    const second = deferred<string>();
    const job = pool.submit(
      'work',
      (ctx) => {
        contexts.push(ctx);
        return ctx.attempt === 1 ? Promise.reject(new Error('flaky')) : second.promise;
      },
      { retry: { attempts: 2, baseMs: 0 } },
    );
    await flush();
    expect(contexts.map((c) => c.attempt)).toEqual([1, 2]);
    contexts[1]?.progress(0.2, 'second');
    contexts[0]?.progress(0.8, 'stale');
    expect(job.view()).toMatchObject({ attempt: 2, progress: 0.2, note: 'second' });
    second.resolve('ok');
    expect(await job.result).toBe('ok');
    await pool.close();
  });
});

describe('task context destructuring', () => {
  it('works for signal, id, attempt and progress', async () => {
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } } });
    const job = pool.submit('work', ({ signal, id, attempt, progress }) => {
      progress(0.5, 'half');
      return `${id}:${attempt}:${String(signal.aborted)}`;
    });
    await expect(job.result).resolves.toBe(`${job.id}:1:false`);
    await pool.close();
  });
});
