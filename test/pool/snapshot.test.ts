import { describe, expect, it, vi } from 'vitest';
import { WorkPool, type JobView, type JobTypeOptions } from '../../src/index.js';
import {
  closePool,
  countsOf,
  flush,
  settled,
  Tasks,
  thrownBy,
  unfrozenPaths,
} from './work-pool.helpers.js';

type Three = 'fetch' | 'embed' | 'parse';

const threeTypes = (history?: number): WorkPool<Record<Three, JobTypeOptions>> =>
  new WorkPool({
    concurrency: 1,
    types: { fetch: { concurrency: 1 }, embed: { concurrency: 1 }, parse: { concurrency: 1 } },
    random: () => 0.5,
    ...(history === undefined ? {} : { history }),
  });

/** A pool with a job in every state: running (with progress and meta), queued, retrying, finished. */
async function busyPool(): Promise<{
  pool: WorkPool<Record<Three, JobTypeOptions>>;
  tasks: Tasks;
}> {
  vi.useFakeTimers({ now: 1_000 });
  const pool = threeTypes();
  const tasks = new Tasks();
  await pool
    .submit('fetch', () => Promise.reject(new Error('failed early')))
    .result.catch(() => undefined);
  pool.submit('parse', () => Promise.reject(new Error('retry me')), {
    retry: { attempts: 2, baseMs: 10_000 },
    meta: { feed: { url: 'https://example.org', tags: ['a'] } },
  });
  await flush();
  pool.submit('fetch', tasks.task('running'), { meta: { nested: { list: [1, 2] } } });
  pool.submit('embed', tasks.task('queued'), { meta: { nested: { deep: { x: 1 } } } });
  await flush();
  tasks.ctx('running').progress(0.5, 'half');
  return { pool, tasks };
}

describe('WorkPool snapshot', () => {
  it('is deeply frozen: every object and array in it', async () => {
    const { pool } = await busyPool();
    const snapshot = pool.snapshot();
    expect(snapshot.running).toHaveLength(1);
    expect(snapshot.queued).toHaveLength(1);
    expect(snapshot.retrying).toHaveLength(1);
    expect(snapshot.history).toHaveLength(1);
    expect(unfrozenPaths(snapshot)).toEqual([]);
    await closePool(pool);
  });

  it('throws on mutation in strict mode: arrays, counts, types, nested views and meta', async () => {
    const { pool } = await busyPool();
    const snapshot = pool.snapshot();
    const attempts: (() => void)[] = [
      () => (snapshot.queued as JobView[]).push(snapshot.running[0] as JobView),
      () => (snapshot.history as JobView[]).pop(),
      () => ((snapshot.counts as { queued: number }).queued = 99),
      () => ((snapshot.types.fetch as { running: number }).running = 99),
      () => ((snapshot.running[0] as { progress: number }).progress = 1),
      () => ((snapshot.retrying[0]?.error as { message: string }).message = 'changed'),
      () => ((snapshot.history[0]?.error as { message: string }).message = 'changed'),
      () => (snapshot.running[0]?.meta?.nested as { list: number[] }).list.push(3),
      () => ((snapshot.queued[0]?.meta?.nested as { deep: { x: number } }).deep.x = 2),
      () => ((snapshot as { state: string }).state = 'closed'),
    ];
    for (const attempt of attempts) expect(attempt).toThrow(TypeError);
    expect(snapshot.running[0]).toMatchObject({
      progress: 0.5,
      meta: { nested: { list: [1, 2] } },
    });
    await closePool(pool);
  });

  it('never shows later pool changes', async () => {
    const { pool, tasks } = await busyPool();
    const before = pool.snapshot();
    const copy = structuredClone(before);
    tasks.ctx('running').progress(0.9, 'nearly');
    pool.submit('parse', () => 'more', { priority: 3 });
    tasks.finish('running');
    await flush();
    tasks.finish('queued');
    await vi.advanceTimersByTimeAsync(10_000);
    await pool.onIdle();
    const after = pool.snapshot();
    expect(after.counts).not.toEqual(before.counts);
    expect(after.history.length).toBeGreaterThan(before.history.length);
    expect(before).toEqual(copy);
    await pool.close();
  });

  it('reports counts by status, and per type running, queued and limit', async () => {
    const { pool } = await busyPool();
    const snapshot = pool.snapshot();
    expect(snapshot.counts).toEqual(countsOf({ running: 1, queued: 1, retrying: 1, failed: 1 }));
    expect(snapshot.types).toEqual({
      fetch: { running: 1, queued: 0, limit: 1, paused: false, heldByRate: false },
      embed: { running: 0, queued: 1, limit: 1, paused: false, heldByRate: false },
      parse: { running: 0, queued: 0, limit: 1, paused: false, heldByRate: false },
    });
    expect(snapshot.state).toBe('open');
    expect(snapshot.at).toBe(Date.now());
    await closePool(pool);
  });

  it('lists running jobs with progress, note, attempt, start time and meta', async () => {
    const { pool } = await busyPool();
    vi.setSystemTime(5_000);
    const [running] = pool.snapshot().running;
    expect(running).toMatchObject({
      type: 'fetch',
      status: 'running',
      attempt: 1,
      progress: 0.5,
      note: 'half',
      startedAt: 1_000,
      queuedAt: 1_000,
      finishedAt: undefined,
      stalled: false,
      meta: { nested: { list: [1, 2] } },
    });
    await closePool(pool);
  });

  it('lists queued jobs in dispatch order across types (priority, then submission), first limit only', async () => {
    const pool = threeTypes();
    const tasks = new Tasks();
    pool.submit('fetch', tasks.task('blocker'));
    const types: Three[] = ['fetch', 'embed', 'parse'];
    const expected: { id: string; priority: number; seq: number }[] = [];
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const jobs = [];
    for (let i = 0; i < 300; i++) {
      const priority = Math.floor(random() * 7) - 3 + (random() < 0.2 ? 0.5 : 0);
      const job = pool.submit(types[i % 3] as Three, () => i, { priority });
      jobs.push(job);
      expected.push({ id: job.id, priority, seq: i });
    }
    // Cancel two thirds of them (cancelled jobs leave the heaps lazily).
    const cancelled = new Set<string>();
    for (const [i, job] of jobs.entries()) {
      if (i % 3 !== 1 && random() < 0.9) {
        job.cancel();
        cancelled.add(job.id);
      }
    }
    const order = expected
      .filter((j) => !cancelled.has(j.id))
      .sort((a, b) => b.priority - a.priority || a.seq - b.seq)
      .map((j) => j.id);
    expect(pool.snapshot({ limit: 1_000 }).queued.map((j) => j.id)).toEqual(order);
    expect(pool.snapshot({ limit: 7 }).queued.map((j) => j.id)).toEqual(order.slice(0, 7));
    expect(pool.snapshot({ limit: 0 }).queued).toEqual([]);
    expect(pool.snapshot().queued).toHaveLength(Math.min(100, order.length));
    expect(order.length).toBeGreaterThan(100);
    await pool.close({ graceMs: 0 });
  });

  it('limit also bounds the retrying list', async () => {
    vi.useFakeTimers();
    const pool = new WorkPool({
      concurrency: 5,
      types: { work: { concurrency: 5 } },
      random: () => 0.5,
    });
    for (let i = 0; i < 5; i++) {
      pool.submit('work', () => Promise.reject(new Error('x')), {
        retry: { attempts: 2, baseMs: 1_000 },
      });
    }
    await flush();
    expect(pool.snapshot().retrying).toHaveLength(5);
    expect(pool.snapshot({ limit: 2 }).retrying).toHaveLength(2);
    await closePool(pool);
  });

  it('lists every type as an own entry, whatever its name', async () => {
    // Bug: snapshot() builds `types` with `types[q.name] = …` on a plain object, so a type
    // named '__proto__' replaces the object's prototype instead of becoming an entry.
    const pool = new WorkPool({
      concurrency: 2,
      types: Object.fromEntries([
        ['__proto__', { concurrency: 1 }],
        ['constructor', { concurrency: 2 }],
      ]),
    });
    expect(await pool.run('__proto__', () => 'ran')).toBe('ran');
    const { types } = pool.snapshot();
    expect(Object.keys(types)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(types, '__proto__')?.value).toEqual({
      running: 0,
      queued: 0,
      limit: 1,
      paused: false,
      heldByRate: false,
    });
    await pool.close();
  });

  it('refuses a limit that is not a non-negative integer', async () => {
    const pool = threeTypes();
    for (const limit of [-1, 1.5, Number.NaN]) {
      const error = thrownBy(() => pool.snapshot({ limit }));
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toMatch(/limit/);
    }
    await pool.close();
  });

  it('keeps the last `history` finished jobs, oldest first, with status, timings and error', async () => {
    vi.useFakeTimers({ now: 0 });
    const pool = threeTypes(3);
    const tasks = new Tasks();
    const outcomes: Promise<unknown>[] = [];
    const j1 = pool.submit('fetch', () => 'one');
    outcomes.push(j1.result);
    await flush();
    const j2 = pool.submit('fetch', tasks.task('two'));
    await vi.advanceTimersByTimeAsync(100);
    tasks.finish('two');
    await flush();
    const j3 = pool.submit('fetch', () => Promise.reject(new TypeError('bad input')));
    await flush();
    const blocker = pool.submit('fetch', tasks.task('blocker'));
    const j4 = pool.submit('embed', tasks.task('never'));
    await vi.advanceTimersByTimeAsync(50);
    j4.cancel('nope');
    await vi.advanceTimersByTimeAsync(50);
    tasks.finish('blocker');
    await Promise.all([j2, j3, j4, blocker].map((j) => settled(j.result)));
    const history = pool.snapshot().history;
    expect(history.map((v) => v.id)).toEqual([j3.id, j4.id, blocker.id]);
    expect(history[0]).toMatchObject({
      status: 'failed',
      startedAt: 100,
      finishedAt: 100,
      error: { name: 'TypeError', message: 'bad input' },
    });
    expect(history[1]).toMatchObject({
      status: 'cancelled',
      queuedAt: 100,
      startedAt: undefined,
      finishedAt: 150,
      error: { name: 'AbortError', code: 'ABORTED' },
    });
    expect(history[2]).toMatchObject({
      status: 'succeeded',
      queuedAt: 100,
      startedAt: 100,
      finishedAt: 200,
      error: undefined,
    });
    expect(await Promise.all(outcomes)).toEqual(['one']);
    expect(j2.view()).toMatchObject({ startedAt: 0, finishedAt: 100 });
    await pool.close();
  });

  it('keeps no history with history: 0', async () => {
    const pool = threeTypes(0);
    await pool.submit('fetch', () => 1).result;
    expect(pool.snapshot().history).toEqual([]);
    await pool.close();
  });

  it('copies meta at submit and freezes the copy', async () => {
    const pool = threeTypes();
    const tasks = new Tasks();
    const meta = { feed: { url: 'https://example.org', tags: ['news'] } };
    const job = pool.submit('fetch', tasks.task('a'), { meta });
    meta.feed.url = 'changed';
    meta.feed.tags.push('changed');
    const view = job.view();
    expect(view.meta).toEqual({ feed: { url: 'https://example.org', tags: ['news'] } });
    expect(view.meta).not.toBe(meta);
    expect(unfrozenPaths(view)).toEqual([]);
    expect(pool.snapshot().running[0]?.meta).toEqual(view.meta);
    tasks.finish('a');
    await job.result;
    await pool.close();
  });

  it('refuses a meta that is not structured-cloneable with a TypeError naming meta', async () => {
    const pool = threeTypes();
    const error = thrownBy(() =>
      pool.submit('fetch', () => 1, { meta: { callback: () => undefined } }),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/meta/);
    expect(pool.snapshot().counts).toEqual(countsOf());
    await pool.close();
  });

  it("shows 'closing' while the pool closes and 'closed' after", async () => {
    const pool = threeTypes();
    const tasks = new Tasks();
    const job = pool.submit('fetch', tasks.task('a'));
    const closing = pool.close();
    expect(pool.snapshot().state).toBe('closing');
    tasks.finish('a');
    await closing;
    expect(pool.snapshot().state).toBe('closed');
    expect(await job.result).toBe('a');
  });

  it('a job view is a frozen copy that later changes do not reach', async () => {
    const pool = threeTypes();
    const tasks = new Tasks();
    const job = pool.submit('fetch', tasks.task('a'));
    await flush();
    const runningView = job.view();
    tasks.ctx('a').progress(0.5);
    tasks.finish('a');
    await job.result;
    expect(runningView).toMatchObject({ status: 'running', progress: 0, finishedAt: undefined });
    expect(Object.isFrozen(runningView)).toBe(true);
    expect(job.view()).toMatchObject({ status: 'succeeded', progress: 0.5 });
    await pool.close();
  });
});
