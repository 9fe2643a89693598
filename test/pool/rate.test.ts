import { beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkPool } from '../../src/index.js';
import { flush, Tasks } from './work-pool.helpers.js';

/** The most starts found in any window [t, t + intervalMs) (the worst window starts at a start). */
function busiestWindow(starts: readonly number[], intervalMs: number): number {
  let most = 0;
  for (const from of starts) {
    most = Math.max(most, starts.filter((t) => t >= from && t < from + intervalMs).length);
  }
  return most;
}

describe('WorkPool rate limits', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });

  it('starts no more than limit jobs in any window, and each next one as soon as the window allows', async () => {
    const pool = new WorkPool({
      concurrency: 10,
      types: { embed: { concurrency: 10, rate: { limit: 5, intervalMs: 1000 } } },
    });
    const starts: number[] = [];
    for (let i = 0; i < 23; i++) {
      pool.submit('embed', () => {
        starts.push(Date.now());
      });
    }
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts).toHaveLength(23);
    expect(busiestWindow(starts, 1000)).toBe(5);
    expect(starts).toEqual([
      ...Array<number>(5).fill(0),
      ...Array<number>(5).fill(1000),
      ...Array<number>(5).fill(2000),
      ...Array<number>(5).fill(3000),
      ...Array<number>(3).fill(4000),
    ]);
    await pool.close();
  });

  it('uses a sliding window: starts spread over time free up one by one', async () => {
    const pool = new WorkPool({
      concurrency: 10,
      types: { embed: { concurrency: 10, rate: { limit: 5, intervalMs: 1000 } } },
    });
    const starts: number[] = [];
    const submit = (): void => {
      pool.submit('embed', () => {
        starts.push(Date.now());
      });
    };
    submit();
    await vi.advanceTimersByTimeAsync(300);
    for (let i = 0; i < 4; i++) submit();
    await vi.advanceTimersByTimeAsync(100);
    for (let i = 0; i < 3; i++) submit();
    await vi.advanceTimersByTimeAsync(599);
    expect(starts).toEqual([0, 300, 300, 300, 300]);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual([0, 300, 300, 300, 300, 1000]);
    await vi.advanceTimersByTimeAsync(299);
    expect(starts).toHaveLength(6);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual([0, 300, 300, 300, 300, 1000, 1300, 1300]);
    expect(busiestWindow(starts, 1000)).toBe(5);
    await pool.close();
  });

  it('limits starts, not running jobs: long jobs do not hold back the rate budget', async () => {
    const pool = new WorkPool({
      concurrency: 10,
      types: { embed: { concurrency: 10, rate: { limit: 2, intervalMs: 1000 } } },
    });
    const tasks = new Tasks();
    for (let i = 1; i <= 5; i++) pool.submit('embed', tasks.task(`e${i}`));
    await flush();
    expect(tasks.started).toEqual(['e1', 'e2']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(tasks.started).toEqual(['e1', 'e2', 'e3', 'e4']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(tasks.started).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    for (let i = 1; i <= 5; i++) tasks.finish(`e${i}`);
    await pool.onIdle();
    await pool.close();
  });

  it('a rate-limited type does not block other types, even with higher-priority jobs queued', async () => {
    const pool = new WorkPool({
      concurrency: 1,
      types: {
        embed: { concurrency: 1, rate: { limit: 1, intervalMs: 1000 } },
        fetch: { concurrency: 1 },
      },
    });
    const order: string[] = [];
    const record = (name: string) => (): void => {
      order.push(`${name}@${Date.now()}`);
    };
    pool.submit('embed', record('embed-1'), { priority: 10 });
    pool.submit('embed', record('embed-2'), { priority: 10 });
    pool.submit('fetch', record('fetch-1'));
    pool.submit('fetch', record('fetch-2'));
    await flush();
    expect(order).toEqual(['embed-1@0', 'fetch-1@0', 'fetch-2@0']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(order).toEqual(['embed-1@0', 'fetch-1@0', 'fetch-2@0', 'embed-2@1000']);
    await pool.close();
  });

  it('leaves no rate timer behind after close', async () => {
    const pool = new WorkPool({
      concurrency: 10,
      types: { embed: { concurrency: 10, rate: { limit: 1, intervalMs: 1000 } } },
    });
    for (let i = 0; i < 3; i++) pool.submit('embed', () => i);
    await flush();
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    await pool.close({ drain: false });
    expect(pool.snapshot().counts).toMatchObject({ succeeded: 1, cancelled: 2 });
    expect(vi.getTimerCount()).toBe(0);
  });
});
