import { beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkPool, type AgingOptions } from '../../src/index.js';
import { recorder } from './work-pool.helpers.js';

/**
 * Concurrency 1, every job takes 100 ms. `high-0` starts at 0 and `low` (priority 0) is
 * queued behind it; then, 50 ms before each running job ends, a new priority-10 job
 * arrives, so a high-priority job is always waiting when the slot frees (`count` of them).
 * Returns the order the jobs started in.
 */
async function starveLow(aging: AgingOptions | undefined, count: number): Promise<string[]> {
  const pool = new WorkPool({
    concurrency: 1,
    types: { work: { concurrency: 1 } },
    ...(aging === undefined ? {} : { aging }),
  });
  const order: string[] = [];
  const job = (name: string) => () => {
    order.push(name);
    return new Promise<void>((resolve) => setTimeout(resolve, 100));
  };
  pool.submit('work', job('high-0'), { priority: 10 });
  pool.submit('work', job('low'), { priority: 0 });
  for (let k = 1; k <= count; k++) {
    await vi.advanceTimersByTimeAsync(50);
    pool.submit('work', job(`high-${k}`), { priority: 10 });
    await vi.advanceTimersByTimeAsync(50);
  }
  await vi.advanceTimersByTimeAsync(100 * (count + 2));
  await pool.onIdle();
  await pool.close();
  return order;
}

describe('WorkPool priority aging', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });

  it('is off by default: a steady stream of high-priority jobs starves a low one', async () => {
    const order = await starveLow(undefined, 30);
    expect(order).toHaveLength(32);
    expect(order.at(-1)).toBe('low');
  });

  it('with aging, the low job eventually runs before later high-priority jobs', async () => {
    // Its effective priority rises by 1 every 100 ms: it overtakes high-priority jobs that
    // arrived more than ~1000 ms after it (a priority gap of 10), and only those.
    const order = await starveLow({ everyMs: 100, by: 1 }, 30);
    expect(order).toHaveLength(32);
    const low = order.indexOf('low');
    expect(low).toBeGreaterThan(order.indexOf('high-9'));
    expect(low).toBeLessThan(order.indexOf('high-12'));
  });

  it('a faster aging rate lets the low job through sooner', async () => {
    const slow = await starveLow({ everyMs: 100, by: 1 }, 30);
    vi.setSystemTime(0);
    const fast = await starveLow({ everyMs: 100, by: 5 }, 30);
    expect(fast.indexOf('low')).toBeLessThan(slow.indexOf('low'));
    expect(fast.indexOf('low')).toBeGreaterThan(0);
  });

  it('does not reorder jobs that have waited equally long', async () => {
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      aging: { everyMs: 10, by: 1 },
    });
    let release!: () => void;
    pool.submit('work', () => new Promise<void>((resolve) => (release = resolve)));
    const order: string[] = [];
    pool.submit('work', recorder(order, 'p1'), { priority: 1 });
    pool.submit('work', recorder(order, 'p3'), { priority: 3 });
    pool.submit('work', recorder(order, 'p2'), { priority: 2 });
    pool.submit('work', recorder(order, 'p3-again'), { priority: 3 });
    await vi.advanceTimersByTimeAsync(10_000);
    release();
    await pool.onIdle();
    expect(order).toEqual(['p3', 'p3-again', 'p2', 'p1']);
    await pool.close();
  });

  it('shows the aged order in the snapshot', async () => {
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      aging: { everyMs: 100, by: 1 },
    });
    let release!: () => void;
    pool.submit('work', () => new Promise<void>((resolve) => (release = resolve)));
    const low = pool.submit('work', () => 'low', { priority: 0 });
    await vi.advanceTimersByTimeAsync(2_000);
    const high = pool.submit('work', () => 'high', { priority: 10 });
    expect(pool.snapshot().queued.map((j) => j.id)).toEqual([low.id, high.id]);
    release();
    await pool.onIdle();
    await pool.close();
  });
});
