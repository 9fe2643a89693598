import { describe, expect, it } from 'vitest';
import { WorkPool } from '../../src/index.js';
import { expectCounts, flush, recorder, Tasks } from './work-pool.helpers.js';

describe('WorkPool ordering (concurrency 1)', () => {
  it('runs queued jobs by priority, then in submission order', async () => {
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } } });
    const tasks = new Tasks();
    pool.submit('work', tasks.task('blocker'));
    const order: string[] = [];
    const specs: [string, number][] = [
      ['a', 0],
      ['b', 5],
      ['c', 1],
      ['d', 5],
      ['e', 0],
      ['f', 1],
      ['g', 5],
    ];
    for (const [name, priority] of specs) pool.submit('work', recorder(order, name), { priority });
    tasks.finish('blocker');
    await pool.onIdle();
    expect(order).toEqual(['b', 'd', 'g', 'c', 'f', 'a', 'e']);
    await pool.close();
  });

  it('orders negative and fractional priorities numerically, default priority being 0', async () => {
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } } });
    const tasks = new Tasks();
    pool.submit('work', tasks.task('blocker'));
    const order: string[] = [];
    pool.submit('work', recorder(order, 'minus-one'), { priority: -1 });
    pool.submit('work', recorder(order, 'default'));
    pool.submit('work', recorder(order, 'half'), { priority: 0.5 });
    pool.submit('work', recorder(order, 'minus-half'), { priority: -0.5 });
    pool.submit('work', recorder(order, 'quarter'), { priority: 0.25 });
    pool.submit('work', recorder(order, 'zero'), { priority: 0 });
    pool.submit('work', recorder(order, 'minus-tiny'), { priority: -1e-9 });
    pool.submit('work', recorder(order, 'half-again'), { priority: 0.5 });
    tasks.finish('blocker');
    await pool.onIdle();
    expect(order).toEqual([
      'half',
      'half-again',
      'quarter',
      'default',
      'zero',
      'minus-tiny',
      'minus-half',
      'minus-one',
    ]);
    await pool.close();
  });

  it('keeps submission order among many equal priorities (the heap is made stable)', async () => {
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } } });
    const tasks = new Tasks();
    pool.submit('work', tasks.task('blocker'));
    const order: string[] = [];
    const submitted: { name: string; priority: number }[] = [];
    for (let i = 0; i < 60; i++) {
      const priority = (i * 7) % 3;
      const name = `j${i}`;
      submitted.push({ name, priority });
      pool.submit('work', recorder(order, name), { priority });
    }
    tasks.finish('blocker');
    await pool.onIdle();
    const expected = [...submitted]
      .sort((a, b) => b.priority - a.priority) // Array.prototype.sort is stable
      .map((j) => j.name);
    expect(order).toEqual(expected);
    await pool.close();
  });

  it('orders jobs of different types by priority when the global limit is 1', async () => {
    const pool = new WorkPool({
      concurrency: 1,
      types: { fetch: { concurrency: 1 }, embed: { concurrency: 1 } },
    });
    const tasks = new Tasks();
    pool.submit('fetch', tasks.task('blocker'));
    const order: string[] = [];
    pool.submit('fetch', recorder(order, 'fetch-1'), { priority: 1 });
    pool.submit('embed', recorder(order, 'embed-3'), { priority: 3 });
    pool.submit('fetch', recorder(order, 'fetch-3'), { priority: 3 });
    pool.submit('embed', recorder(order, 'embed-0'), { priority: 0 });
    tasks.finish('blocker');
    await pool.onIdle();
    expect(order).toEqual(['embed-3', 'fetch-3', 'fetch-1', 'embed-0']);
    await pool.close();
  });
});

describe('WorkPool dispatch across types', () => {
  it('a saturated embed type does not delay queued fetch jobs, even lower-priority ones', async () => {
    const pool = new WorkPool({
      concurrency: 4,
      types: { embed: { concurrency: 1 }, fetch: { concurrency: 4 } },
    });
    const tasks = new Tasks();
    pool.submit('embed', tasks.task('embed-1'));
    pool.submit('embed', tasks.task('embed-2'), { priority: 10 });
    pool.submit('embed', tasks.task('embed-3'), { priority: 10 });
    pool.submit('fetch', tasks.task('fetch-1'));
    pool.submit('fetch', tasks.task('fetch-2'));
    await flush();
    expect(tasks.started).toEqual(['embed-1', 'fetch-1', 'fetch-2']);
    expect(pool.snapshot().types).toEqual({
      embed: { running: 1, queued: 2, limit: 1, paused: false, heldByRate: false },
      fetch: { running: 2, queued: 0, limit: 4, paused: false, heldByRate: false },
    });
    await pool.close({ graceMs: 0 });
  });

  it('gives a freed global slot to the best job of a type with room, skipping a full type', async () => {
    const pool = new WorkPool({
      concurrency: 2,
      types: { embed: { concurrency: 1 }, fetch: { concurrency: 2 } },
    });
    const tasks = new Tasks();
    pool.submit('embed', tasks.task('embed-1'));
    pool.submit('fetch', tasks.task('fetch-1'));
    pool.submit('embed', tasks.task('embed-2'), { priority: 10 });
    pool.submit('fetch', tasks.task('fetch-2'), { priority: 0 });
    await flush();
    expect(tasks.started).toEqual(['embed-1', 'fetch-1']);
    tasks.finish('fetch-1');
    await flush();
    // embed-2 ranks higher but embed is at its limit: fetch-2 takes the slot.
    expect(tasks.started).toEqual(['embed-1', 'fetch-1', 'fetch-2']);
    tasks.finish('embed-1');
    await flush();
    expect(tasks.started).toEqual(['embed-1', 'fetch-1', 'fetch-2', 'embed-2']);
    await pool.close({ graceMs: 0 });
  });

  it('never runs more jobs than the global limit, whatever the types allow', async () => {
    const pool = new WorkPool({
      concurrency: 2,
      types: { fetch: { concurrency: 2 }, embed: { concurrency: 2 } },
    });
    const tasks = new Tasks();
    pool.submit('fetch', tasks.task('f1'));
    pool.submit('embed', tasks.task('e1'));
    pool.submit('fetch', tasks.task('f2'));
    pool.submit('embed', tasks.task('e2'));
    await flush();
    expect(tasks.started).toEqual(['f1', 'e1']);
    expectCounts(pool, { running: 2, queued: 2 });
    tasks.finish('e1');
    await flush();
    // Equal priorities across types go in submission order.
    expect(tasks.started).toEqual(['f1', 'e1', 'f2']);
    expectCounts(pool, { running: 2, queued: 1, succeeded: 1 });
    await pool.close({ graceMs: 0 });
  });

  it('never runs more jobs of a type than its own limit', async () => {
    const pool = new WorkPool({ concurrency: 10, types: { fetch: { concurrency: 2 } } });
    const tasks = new Tasks();
    for (let i = 1; i <= 5; i++) pool.submit('fetch', tasks.task(`f${i}`));
    await flush();
    expect(tasks.started).toEqual(['f1', 'f2']);
    expect(pool.snapshot().types.fetch).toEqual({
      running: 2,
      queued: 3,
      limit: 2,
      paused: false,
      heldByRate: false,
    });
    tasks.finish('f2');
    await flush();
    expect(tasks.started).toEqual(['f1', 'f2', 'f3']);
    expect(pool.snapshot().types.fetch).toEqual({
      running: 2,
      queued: 2,
      limit: 2,
      paused: false,
      heldByRate: false,
    });
    await pool.close({ graceMs: 0 });
  });
});
