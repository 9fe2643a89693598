import { describe, expect, it, vi } from 'vitest';
import { TimeoutError, WorkPool, isAbortError, type JobTypeOptions } from '../../src/index.js';
import { expectCounts, flush, observe, settled, Tasks } from './work-pool.helpers.js';

const newPool = (): WorkPool<Record<'work', JobTypeOptions>> =>
  new WorkPool({
    concurrency: 1,
    types: { work: { concurrency: 1 } },
    random: () => 0.5,
  });

describe('WorkPool keys', () => {
  it('a submit with the key of a queued job returns that job and never runs its own task', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('blocker'));
    const first = pool.submit('work', tasks.task('first'), { key: 'feed:1' });
    const second = vi.fn(() => 'second');
    const joined = pool.submit('work', second, { key: 'feed:1', priority: 9 });
    expect(joined.id).toBe(first.id);
    expectCounts(pool, { running: 1, queued: 1 });
    tasks.finish('blocker');
    await flush();
    tasks.finish('first');
    expect(await joined.result).toBe('first');
    expect(second).not.toHaveBeenCalled();
    await pool.close();
  });

  it('a submit with the key of a running job returns that job', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const first = pool.submit('work', tasks.task('first'), { key: 'k' });
    await flush();
    expect(first.status).toBe('running');
    const second = vi.fn(() => 'second');
    expect(pool.submit('work', second, { key: 'k' }).id).toBe(first.id);
    expectCounts(pool, { running: 1 });
    tasks.finish('first');
    await first.result;
    expect(second).not.toHaveBeenCalled();
    await pool.close();
  });

  it('a submit with the key of a retrying job returns that job', async () => {
    vi.useFakeTimers();
    const pool = newPool();
    const task = vi.fn((): Promise<string> => Promise.reject(new Error('flaky')));
    const first = pool.submit('work', task, { key: 'k', retry: { attempts: 2, baseMs: 1000 } });
    await flush();
    expect(first.status).toBe('retrying');
    const second = vi.fn(() => 'second');
    expect(pool.submit('work', second, { key: 'k' }).id).toBe(first.id);
    expectCounts(pool, { retrying: 1 });
    await vi.advanceTimersByTimeAsync(500);
    expect(first.status).toBe('failed');
    expect(second).not.toHaveBeenCalled();
    expect(task).toHaveBeenCalledTimes(2);
    await pool.close();
  });

  it.each(['succeeded', 'failed', 'cancelled'] as const)(
    'once the keyed job has %s, the same key creates a new job',
    async (end) => {
      const pool = newPool();
      const tasks = new Tasks();
      const first = pool.submit('work', tasks.task('first'), { key: 'k' });
      await flush();
      if (end === 'succeeded') tasks.finish('first');
      else if (end === 'failed') tasks.fail('first', new Error('boom'));
      else first.cancel('stop');
      await settled(first.result);
      expect(first.status).toBe(end);
      const second = pool.submit('work', () => 'again', { key: 'k' });
      expect(second).not.toBe(first);
      expect(second.id).not.toBe(first.id);
      expect(await second.result).toBe('again');
      await pool.close();
    },
  );

  it('different keys make different jobs', async () => {
    const pool = newPool();
    const a = pool.submit('work', () => 'a', { key: 'a' });
    const b = pool.submit('work', () => 'b', { key: 'b' });
    expect(b).not.toBe(a);
    expect(await Promise.all([a.result, b.result])).toEqual(['a', 'b']);
    await pool.close();
  });

  it('run() joining by key rejects at once when its own signal aborts; the job goes on for its creator', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const first = pool.submit('work', tasks.task('shared'), { key: 'k' });
    const controller = new AbortController();
    // run() reads the result at once, before the abort: that promise must still reject.
    const joined = observe(
      pool.run('work', () => 'other', { key: 'k', signal: controller.signal }),
    );
    controller.abort('not needed any more');
    await flush();
    const outcome = joined();
    expect(outcome.status).toBe('rejected');
    expect(isAbortError((outcome as { error: unknown }).error)).toBe(true);
    expect(first.status).toBe('running');
    tasks.finish('shared');
    expect(await first.result).toBe('shared');
    await pool.close();
  });

  it('a joiner whose result was read before its wait limit rejects at the limit with TimeoutError', async () => {
    vi.useFakeTimers();
    const pool = newPool();
    const tasks = new Tasks();
    const first = pool.submit('work', tasks.task('shared'), { key: 'k' });
    const joiner = pool.submit('work', () => 'other', { key: 'k', timeoutMs: 100 });
    const joined = observe(joiner.result);
    await vi.advanceTimersByTimeAsync(100);
    const outcome = joined();
    expect(outcome.status).toBe('rejected');
    expect((outcome as { error: unknown }).error).toBeInstanceOf(TimeoutError);
    tasks.finish('shared');
    expect(await first.result).toBe('shared');
    await pool.close();
  });

  it('joining a keyed job needs no queue room', async () => {
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      queue: { capacity: 1 },
    });
    const tasks = new Tasks();
    pool.submit('work', tasks.task('blocker'));
    const queued = pool.submit('work', tasks.task('keyed'), { key: 'k' });
    expect(pool.submit('work', () => 'ignored', { key: 'k' }).id).toBe(queued.id);
    expectCounts(pool, { running: 1, queued: 1 });
    await pool.close({ graceMs: 0 });
  });
});
