import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AbortError,
  ClosedError,
  NonRetryableError,
  TimeoutError,
  WorkPool,
  isAbortError,
  type WorkPoolOptions,
} from '../../src/index.js';
import { closePool, flush, observe, rejectionOf, Tasks, thrownBy } from './work-pool.helpers.js';

type Two = {
  readonly a: { readonly concurrency: number };
  readonly b: { readonly concurrency: number };
};

/** Two types, `a` and `b`, each limited to `perType`, under a global `concurrency`. */
function newPool(concurrency = 2, perType = 1): WorkPool<Two> {
  return new WorkPool({
    concurrency,
    types: { a: { concurrency: perType }, b: { concurrency: perType } },
    random: () => 0.5,
  });
}

/** A task failing each attempt with a numbered error, so the errors can be told apart. */
function failing(errors: Error[]): () => Promise<never> {
  return () => {
    const error = new Error(`attempt ${errors.length + 1} failed`);
    errors.push(error);
    return Promise.reject(error);
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});

describe('WorkPool size and pending', () => {
  it('count queued and running jobs as they queue, start and finish', async () => {
    const pool = newPool(1);
    const tasks = new Tasks();
    expect([pool.size, pool.pending]).toEqual([0, 0]);
    pool.submit('a', tasks.task('a1'));
    expect([pool.size, pool.pending]).toEqual([0, 1]);
    pool.submit('a', tasks.task('a2'));
    pool.submit('b', tasks.task('b1'));
    expect([pool.size, pool.pending]).toEqual([2, 1]);
    tasks.finish('a1');
    await flush();
    expect([pool.size, pool.pending]).toEqual([1, 1]);
    tasks.finish(tasks.started[1] as string);
    await flush();
    expect([pool.size, pool.pending]).toEqual([0, 1]);
    tasks.finish(tasks.started[2] as string);
    await flush();
    expect([pool.size, pool.pending]).toEqual([0, 0]);
    await pool.close();
  });

  it('count a job waiting out a retry backoff as neither queued nor running', async () => {
    const pool = newPool();
    const job = pool.submit('a', failing([]), { retry: { attempts: 2, baseMs: 1000 } });
    await flush();
    expect(job.status).toBe('retrying');
    expect([pool.size, pool.pending]).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(500);
    await rejectionOf(job.result);
    await pool.close();
  });
});

describe('WorkPool load', () => {
  it("gives one type's running, queued, limit and paused as a frozen object", async () => {
    const pool = newPool(2, 2);
    const tasks = new Tasks();
    for (const name of ['a1', 'a2', 'a3']) pool.submit('a', tasks.task(name));
    pool.pause('b');
    pool.submit('b', tasks.task('b1'));
    const load = pool.load('a');
    expect(load).toEqual({ running: 2, queued: 1, limit: 2, paused: false, heldByRate: false });
    expect(Object.isFrozen(load)).toBe(true);
    expect(pool.load('b')).toEqual({
      running: 0,
      queued: 1,
      limit: 2,
      paused: true,
      heldByRate: false,
    });
    await closePool(pool);
  });

  describe('heldByRate', () => {
    const ratePool = (concurrency: number) =>
      new WorkPool({
        concurrency: 4,
        types: { r: { concurrency, rate: { limit: 1, intervalMs: 1000 } } },
      });

    it('is true while jobs are queued, a slot is free and the rate window allows no start', async () => {
      const pool = ratePool(2);
      const tasks = new Tasks();
      pool.submit('r', tasks.task('r1'));
      pool.submit('r', tasks.task('r2'));
      expect(pool.load('r')).toMatchObject({ running: 1, queued: 1, heldByRate: true });
      expect(pool.snapshot().types.r?.heldByRate).toBe(true);
      await vi.advanceTimersByTimeAsync(999);
      expect(pool.load('r').heldByRate).toBe(true);
      await vi.advanceTimersByTimeAsync(1);
      // The window opened and r2 started: nothing is held any more.
      expect(pool.load('r')).toMatchObject({ running: 2, queued: 0, heldByRate: false });
      await closePool(pool);
    });

    it('is false when nothing is queued, even with the window spent', async () => {
      const pool = ratePool(2);
      const tasks = new Tasks();
      pool.submit('r', tasks.task('r1'));
      expect(pool.load('r')).toMatchObject({ running: 1, queued: 0, heldByRate: false });
      await closePool(pool);
    });

    it('is false when no slot is free: the limit holds the job, not the rate', async () => {
      const pool = ratePool(1);
      const tasks = new Tasks();
      pool.submit('r', tasks.task('r1'));
      pool.submit('r', tasks.task('r2'));
      expect(pool.load('r')).toMatchObject({ running: 1, queued: 1, heldByRate: false });
      await closePool(pool);
    });
  });

  it('refuses an unknown type with a TypeError naming the known types', async () => {
    const pool = newPool();
    const error = thrownBy(() => pool.load('c' as 'a'));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain('"c"');
    expect((error as Error).message).toContain("'a'");
    expect((error as Error).message).toContain("'b'");
    await pool.close();
  });
});

describe('WorkPool pause and resume', () => {
  it("pause(type) holds that type's queued jobs while other types go on (no head-of-line blocking)", async () => {
    const pool = newPool(1);
    const tasks = new Tasks();
    pool.pause('a');
    const a1 = pool.submit('a', tasks.task('a1'), { priority: 10 });
    pool.submit('b', tasks.task('b1'));
    expect(tasks.started).toEqual(['b1']);
    tasks.finish('b1');
    pool.submit('b', tasks.task('b2'));
    await flush();
    expect(tasks.started).toEqual(['b1', 'b2']);
    expect(a1.status).toBe('queued');
    await closePool(pool);
  });

  it('pause(type) lets its running jobs go on, unaborted, to their own end', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const a1 = pool.submit('a', tasks.task('a1'));
    const a2 = pool.submit('a', tasks.task('a2'));
    pool.pause('a');
    await flush();
    expect(tasks.ctx('a1').signal.aborted).toBe(false);
    tasks.finish('a1');
    expect(await a1.result).toBe('a1');
    await flush();
    expect(a2.status).toBe('queued');
    expect(tasks.started).toEqual(['a1']);
    await closePool(pool);
  });

  it('resume(type) starts its queued jobs at once', async () => {
    const pool = newPool(2, 2);
    const tasks = new Tasks();
    pool.pause('a');
    pool.submit('a', tasks.task('a1'));
    pool.submit('a', tasks.task('a2'));
    await flush();
    expect(tasks.started).toEqual([]);
    pool.resume('a');
    expect(tasks.started).toEqual(['a1', 'a2']);
    expect(pool.pending).toBe(2);
    await closePool(pool);
  });

  it('pause() with no type holds every type, and resume() starts them again', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    pool.pause();
    pool.submit('a', tasks.task('a1'));
    pool.submit('b', tasks.task('b1'));
    await flush();
    expect(tasks.started).toEqual([]);
    expect(pool.size).toBe(2);
    pool.resume();
    expect(tasks.started).toEqual(['a1', 'b1']);
    await closePool(pool);
  });

  it('isPaused tells the pool and each type apart', async () => {
    const pool = newPool();
    expect([pool.isPaused(), pool.isPaused('a'), pool.isPaused('b')]).toEqual([
      false,
      false,
      false,
    ]);
    pool.pause('a');
    expect([pool.isPaused(), pool.isPaused('a'), pool.isPaused('b')]).toEqual([false, true, false]);
    pool.pause();
    expect([pool.isPaused(), pool.isPaused('a'), pool.isPaused('b')]).toEqual([true, true, false]);
    // Resuming the pool does not resume a type paused on its own.
    pool.resume();
    expect([pool.isPaused(), pool.isPaused('a'), pool.isPaused('b')]).toEqual([false, true, false]);
    pool.resume('a');
    expect(pool.isPaused('a')).toBe(false);
    await pool.close();
  });

  it('the snapshot shows the pool paused and each type paused', async () => {
    const pool = newPool();
    pool.pause('b');
    expect(pool.snapshot()).toMatchObject({
      paused: false,
      types: { a: { paused: false }, b: { paused: true } },
    });
    pool.pause();
    expect(pool.snapshot().paused).toBe(true);
    await pool.close();
  });

  it('refuses an unknown type with a TypeError', async () => {
    const pool = newPool();
    expect(() => pool.pause('c' as 'a')).toThrow(TypeError);
    expect(() => pool.resume('c' as 'a')).toThrow(TypeError);
    expect(() => pool.isPaused('c' as 'a')).toThrow(TypeError);
    await pool.close();
  });

  it('onIdle() does not resolve while paused jobs are queued', async () => {
    const pool = newPool();
    pool.pause('a');
    const job = pool.submit('a', () => 'done');
    const idle = observe(pool.onIdle());
    await vi.advanceTimersByTimeAsync(10_000);
    expect(idle().status).toBe('pending');
    pool.resume('a');
    expect(await job.result).toBe('done');
    await flush();
    expect(idle().status).toBe('fulfilled');
    await pool.close();
  });

  it("close with drain does not start a paused type's jobs: they are cancelled when the grace ends", async () => {
    const pool = newPool();
    const tasks = new Tasks();
    pool.pause('a');
    const held = pool.submit('a', tasks.task('held'));
    pool.submit('b', tasks.task('b1'));
    const closing = observe(pool.close({ graceMs: 1000 }));
    tasks.finish('b1');
    await vi.advanceTimersByTimeAsync(999);
    expect(held.status).toBe('queued');
    expect(closing().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(held.status).toBe('cancelled');
    const error = await rejectionOf(held.result);
    expect(isAbortError(error)).toBe(true);
    expect((error as AbortError).cause).toBeInstanceOf(ClosedError);
    await flush();
    expect(closing()).toMatchObject({
      status: 'fulfilled',
      value: { completed: 1, cancelled: 1, abandoned: [] },
    });
    expect(tasks.started).toEqual(['b1']);
  });
});

describe('WorkPool setConcurrency', () => {
  it('raising the limit starts queued jobs at once', async () => {
    const pool = newPool(4, 1);
    const tasks = new Tasks();
    for (const name of ['a1', 'a2', 'a3']) pool.submit('a', tasks.task(name));
    expect(tasks.started).toEqual(['a1']);
    pool.setConcurrency('a', 3);
    expect(tasks.started).toEqual(['a1', 'a2', 'a3']);
    expect(pool.load('a')).toMatchObject({ running: 3, queued: 0, limit: 3 });
    await closePool(pool);
  });

  it('lowering the limit lets running jobs finish and starts no more until under it', async () => {
    const pool = newPool(4, 3);
    const tasks = new Tasks();
    for (const name of ['a1', 'a2', 'a3', 'a4']) pool.submit('a', tasks.task(name));
    pool.setConcurrency('a', 1);
    expect(pool.load('a')).toMatchObject({ running: 3, queued: 1, limit: 1 });
    expect(['a1', 'a2', 'a3'].map((n) => tasks.ctx(n).signal.aborted)).toEqual([
      false,
      false,
      false,
    ]);
    tasks.finish('a1');
    await flush();
    tasks.finish('a2');
    await flush();
    // One still runs, and the limit is one: a4 waits.
    expect(tasks.started).toEqual(['a1', 'a2', 'a3']);
    tasks.finish('a3');
    await flush();
    expect(tasks.started).toEqual(['a1', 'a2', 'a3', 'a4']);
    await closePool(pool);
  });

  it.each<[unknown, typeof TypeError | typeof RangeError]>([
    [0, RangeError],
    [-1, RangeError],
    [1.5, RangeError],
    [Number.NaN, RangeError],
    ['x', TypeError],
    [undefined, TypeError],
  ])('refuses %s with a %o naming concurrency, keeping the limit', async (value, kind) => {
    const pool = newPool(2, 2);
    const error = thrownBy(() => pool.setConcurrency('a', value as number));
    expect(error).toBeInstanceOf(kind);
    expect((error as Error).message).toContain('concurrency');
    expect(pool.load('a').limit).toBe(2);
    await pool.close();
  });

  it('refuses an unknown type with a TypeError', async () => {
    const pool = newPool();
    expect(() => pool.setConcurrency('c' as 'a', 2)).toThrow(TypeError);
    await pool.close();
  });

  it('refuses, for a worker type, a limit above its initial one (its threads are sized for that)', async () => {
    vi.useRealTimers();
    const pool = new WorkPool({
      concurrency: 4,
      types: {
        cpu: { concurrency: 2, worker: new URL('./fixtures/cpu.worker.mjs', import.meta.url) },
      },
    });
    const error = thrownBy(() => pool.setConcurrency('cpu', 3));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toContain('concurrency');
    expect((error as Error).message).toContain('2');
    expect(pool.load('cpu').limit).toBe(2);
    pool.setConcurrency('cpu', 1);
    pool.setConcurrency('cpu', 2);
    expect(pool.load('cpu').limit).toBe(2);
    await pool.close();
  });
});

describe('WorkPool per-type defaults', () => {
  const withDefaults = (defaults: object): WorkPoolOptions => ({
    concurrency: 1,
    types: { a: { concurrency: 1, defaults }, b: { concurrency: 1 } },
    random: () => 0.5,
  });

  it('a default priority applies when submit gives none', async () => {
    const pool = new WorkPool(withDefaults({ priority: 5 }));
    const tasks = new Tasks();
    pool.submit('b', tasks.task('blocker'));
    pool.submit('b', tasks.task('b-first-in'));
    const a = pool.submit('a', tasks.task('a-default'));
    expect(a.view().priority).toBe(5);
    tasks.finish('blocker');
    await flush();
    expect(tasks.started).toEqual(['blocker', 'a-default']);
    await closePool(pool);
  });

  it("submit's own priority wins over the default", async () => {
    const pool = new WorkPool(withDefaults({ priority: 5 }));
    const job = pool.submit('a', () => 1, { priority: -1 });
    expect(job.view().priority).toBe(-1);
    await job.result;
    await pool.close();
  });

  it('a default timeoutMs ends each attempt that runs past it', async () => {
    const pool = new WorkPool(withDefaults({ timeoutMs: 100 }));
    const tasks = new Tasks();
    const job = pool.submit('a', tasks.task('slow'));
    await vi.advanceTimersByTimeAsync(99);
    expect(job.status).toBe('running');
    await vi.advanceTimersByTimeAsync(1);
    expect(await rejectionOf(job.result)).toBeInstanceOf(TimeoutError);
    await pool.close();
  });

  it("submit's own timeoutMs wins over the default", async () => {
    const pool = new WorkPool(withDefaults({ timeoutMs: 100 }));
    const tasks = new Tasks();
    const job = pool.submit('a', tasks.task('slow'), { timeoutMs: 500 });
    await vi.advanceTimersByTimeAsync(499);
    expect(job.status).toBe('running');
    await vi.advanceTimersByTimeAsync(1);
    expect(await rejectionOf(job.result)).toMatchObject({ timeoutMs: 500 });
    await pool.close();
  });

  it("a default timeoutMs limits the job's attempts, not the wait of a caller joining by key", async () => {
    const pool = new WorkPool(withDefaults({ timeoutMs: 100 }));
    const tasks = new Tasks();
    pool.submit('b', tasks.task('blocker'));
    pool.submit('a', tasks.task('shared'), { key: 'k' });
    const joiner = pool.submit('a', tasks.task('unused'), { key: 'k' });
    const joined = observe(joiner.result);
    await vi.advanceTimersByTimeAsync(1000);
    expect(joined().status).toBe('pending');
    tasks.finish('blocker');
    await flush();
    tasks.finish('shared');
    await flush();
    expect(joined()).toEqual({ status: 'fulfilled', value: 'shared' });
    await pool.close();
  });

  it('a default retry retries a failed attempt', async () => {
    const pool = new WorkPool(withDefaults({ retry: { attempts: 2, baseMs: 100 } }));
    const errors: Error[] = [];
    const job = pool.submit('a', failing(errors));
    await vi.advanceTimersByTimeAsync(50);
    expect(await rejectionOf(job.result)).toBe(errors[1]);
    expect(job.view().attempt).toBe(2);
    await pool.close();
  });

  it("submit's own retry wins over the default", async () => {
    const pool = new WorkPool(withDefaults({ retry: { attempts: 3, baseMs: 100 } }));
    const errors: Error[] = [];
    const job = pool.submit('a', failing(errors), { retry: { attempts: 1 } });
    expect(await rejectionOf(job.result)).toBe(errors[0]);
    expect(errors).toHaveLength(1);
    await pool.close();
  });

  it('a default applies only to its own type', async () => {
    const pool = new WorkPool(withDefaults({ priority: 5, timeoutMs: 100 }));
    const tasks = new Tasks();
    const b = pool.submit('b', tasks.task('b'));
    expect(b.view().priority).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(b.status).toBe('running');
    await closePool(pool);
  });

  it.each<[object, typeof TypeError | typeof RangeError, string]>([
    [{ priority: Number.NaN }, RangeError, 'types.a.defaults.priority'],
    [{ priority: 'high' }, TypeError, 'types.a.defaults.priority'],
    [{ timeoutMs: 0 }, RangeError, 'types.a.defaults.timeoutMs'],
    [{ timeoutMs: '5s' }, TypeError, 'types.a.defaults.timeoutMs'],
    [{ retry: { attempts: 0 } }, RangeError, 'types.a.defaults.retry.attempts'],
    [{ retry: { attempts: 2, retryIf: true } }, TypeError, 'types.a.defaults.retry.retryIf'],
  ])('refuses defaults %o at construction, naming %s', (defaults, kind, field) => {
    const error = thrownBy(() => new WorkPool(withDefaults(defaults)));
    expect(error).toBeInstanceOf(kind);
    expect((error as Error).message).toContain(field);
  });
});

describe('WorkPool retryIf and NonRetryableError', () => {
  const pool1 = () =>
    new WorkPool({ concurrency: 1, types: { a: { concurrency: 1 } }, random: () => 0.5 });

  it('retryIf false fails the job at once with the attempt’s error', async () => {
    const pool = pool1();
    const errors: Error[] = [];
    const job = pool.submit('a', failing(errors), {
      retry: { attempts: 3, baseMs: 100, retryIf: () => false },
    });
    expect(await rejectionOf(job.result)).toBe(errors[0]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(errors).toHaveLength(1);
    expect(job.view()).toMatchObject({ status: 'failed', attempt: 1 });
    await pool.close();
  });

  it('retryIf true retries', async () => {
    const pool = pool1();
    let attempts = 0;
    const job = pool.submit(
      'a',
      () => (++attempts === 1 ? Promise.reject(new Error('flaky')) : 'second time'),
      { retry: { attempts: 3, baseMs: 100, retryIf: () => true } },
    );
    await vi.advanceTimersByTimeAsync(50);
    expect(await job.result).toBe('second time');
    expect(attempts).toBe(2);
    await pool.close();
  });

  it('a throwing retryIf fails the job with the thrown error, not retrying', async () => {
    const pool = pool1();
    const errors: Error[] = [];
    const policyError = new Error('retryIf broke');
    const job = pool.submit('a', failing(errors), {
      retry: {
        attempts: 3,
        baseMs: 100,
        retryIf: () => {
          throw policyError;
        },
      },
    });
    expect(await rejectionOf(job.result)).toBe(policyError);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(errors).toHaveLength(1);
    await pool.close();
  });

  it('is called with each failed attempt’s error and number, while attempts remain', async () => {
    const pool = pool1();
    const errors: Error[] = [];
    const retryIf = vi.fn(() => true);
    const job = pool.submit('a', failing(errors), { retry: { attempts: 3, baseMs: 100, retryIf } });
    await vi.advanceTimersByTimeAsync(50 + 100);
    await rejectionOf(job.result);
    expect(retryIf.mock.calls).toEqual([
      [errors[0], 1],
      [errors[1], 2],
    ]);
    await pool.close();
  });

  it('is never called for an abort error', async () => {
    const pool = pool1();
    const retryIf = vi.fn(() => true);
    const own = pool.submit('a', () => Promise.reject(new AbortError('gave up')), {
      retry: { attempts: 3, retryIf },
    });
    expect(await rejectionOf(own.result)).toBeInstanceOf(AbortError);
    const tasks = new Tasks();
    const cancelled = pool.submit('a', tasks.task('c'), { retry: { attempts: 3, retryIf } });
    await flush();
    cancelled.cancel('stop');
    expect(isAbortError(await rejectionOf(cancelled.result))).toBe(true);
    expect(retryIf).not.toHaveBeenCalled();
    expect(tasks.started).toEqual(['c']);
    await pool.close();
  });

  it('NonRetryableError fails the job at once whatever retry allows, keeping its cause', async () => {
    const pool = pool1();
    const cause = new Error('404');
    const retryIf = vi.fn(() => true);
    let attempts = 0;
    const job = pool.submit(
      'a',
      () => {
        attempts++;
        throw new NonRetryableError('not found', { cause });
      },
      { retry: { attempts: 5, baseMs: 100, retryIf } },
    );
    const error = await rejectionOf(job.result);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error).toMatchObject({ code: 'NON_RETRYABLE', message: 'not found', cause });
    expect(attempts).toBe(1);
    expect(retryIf).not.toHaveBeenCalled();
    expect(job.view()).toMatchObject({ status: 'failed', attempt: 1 });
    await pool.close();
  });
});

describe('WorkPool close and stop', () => {
  it.each<[string, (pool: WorkPool) => Promise<unknown>]>([
    ['close()', (pool) => pool.close()],
    ['stop()', (pool) => pool.stop()],
  ])('%s drains by default: queued jobs run within the grace', async (_label, end) => {
    const pool = newPool(1);
    const tasks = new Tasks();
    pool.submit('a', tasks.task('running'));
    const queued = pool.submit('a', tasks.task('queued'));
    const closing = observe(end(pool));
    tasks.finish('running');
    await flush();
    expect(queued.status).toBe('running');
    tasks.finish('queued');
    expect(await queued.result).toBe('queued');
    await flush();
    expect(closing()).toMatchObject({
      status: 'fulfilled',
      value: { completed: 2, cancelled: 0, abandoned: [] },
    });
  });

  it('close({ drain: false }) cancels the queue at once', async () => {
    const pool = newPool(1);
    const tasks = new Tasks();
    pool.submit('a', tasks.task('running'));
    const queued = pool.submit('a', tasks.task('queued'));
    const closing = observe(pool.close({ drain: false }));
    expect(queued.status).toBe('cancelled');
    tasks.finish('running');
    await flush();
    expect(closing()).toMatchObject({ status: 'fulfilled', value: { completed: 1, cancelled: 1 } });
    expect(tasks.started).toEqual(['running']);
  });

  it('stop({ deadline }) gives running jobs until the deadline, then aborts them', async () => {
    const pool = newPool(1);
    const tasks = new Tasks();
    const job = pool.submit('a', tasks.task('slow'));
    const stopping = observe(pool.stop({ deadline: Date.now() + 500 }));
    await vi.advanceTimersByTimeAsync(499);
    expect(tasks.ctx('slow').signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(tasks.ctx('slow').signal.reason).toBeInstanceOf(ClosedError);
    expect(isAbortError(await rejectionOf(job.result))).toBe(true);
    await flush();
    expect(stopping()).toMatchObject({ status: 'fulfilled', value: { cancelled: 1 } });
  });
});
