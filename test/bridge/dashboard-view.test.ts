import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { ThroughputMeter } from '../../src/bridge/dashboard/throughput.js';
import { dashboardView, formatDuration } from '../../src/bridge/dashboard/view-model.js';
import { waitForAbort, WorkPool } from '../../src/index.js';

describe('dashboardView', () => {
  it('gives each type its oldest queued wait from the jobs listed, and ages measured from now', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_000_000 });
    const pool = new WorkPool({
      concurrency: 1,
      types: { a: { concurrency: 1 }, b: { concurrency: 1 } },
    });
    const hold = pool.submit('a', ({ signal }) => waitForAbort(signal));
    hold.result.catch(() => {});
    vi.advanceTimersByTime(1000);
    pool.submit('b', () => 1).result.catch(() => {});
    vi.advanceTimersByTime(1000);
    pool.submit('a', () => 2).result.catch(() => {});
    const now = Date.now();
    const view = dashboardView(
      { pool: pool.snapshot(), failures: undefined, store: undefined, bus: undefined },
      now + 500,
    );
    expect(view.types).toEqual([
      {
        type: 'a',
        running: 1,
        limit: 1,
        queued: 1,
        paused: false,
        heldByRate: false,
        oldestQueuedMs: 500,
      },
      {
        type: 'b',
        running: 0,
        limit: 1,
        queued: 1,
        paused: false,
        heldByRate: false,
        oldestQueuedMs: 1500,
      },
    ]);
    expect(view.running.map((j) => [j.id, j.ms])).toEqual([[hold.id, 2500]]);
    expect(view.failures).toBeUndefined();
    await pool.close({ graceMs: 0 });
  });

  it('lists the last finished jobs newest first, with how long each ran and its error', async () => {
    const pool = new WorkPool({ concurrency: 1, types: { a: { concurrency: 1 } } });
    await pool.run('a', () => 1);
    await pool.run('a', () => Promise.reject(new RangeError('bad input'))).catch(() => {});
    const view = dashboardView(
      { pool: pool.snapshot(), failures: undefined, store: undefined, bus: undefined },
      Date.now(),
    );
    expect(view.finished.map((j) => [j.status, j.error])).toEqual([
      ['failed', 'RangeError: bad input'],
      ['succeeded', ''],
    ]);
    await pool.close();
  });

  it('says when a failed key may run again, never a negative wait', () => {
    const pool = new WorkPool({ concurrency: 1, types: { a: { concurrency: 1 } } });
    const record = (eligibleAt: number, permanent: boolean) => ({
      key: `k${eligibleAt}`,
      failures: 2,
      firstFailedAt: 0,
      lastFailedAt: 0,
      lastError: { name: 'Error', message: 'boom' },
      permanent,
      eligibleAt,
    });
    const view = dashboardView(
      {
        pool: pool.snapshot(),
        failures: { total: 2, first: [record(5000, false), record(500, true)] },
        store: undefined,
        bus: undefined,
      },
      1000,
    );
    expect(view.failures?.rows.map((r) => [r.key, r.inMs, r.permanent, r.lastError])).toEqual([
      ['k5000', 4000, false, 'Error: boom'],
      ['k500', 0, true, 'Error: boom'],
    ]);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [999, '999 ms'],
    [1000, '1.0 s'],
    [12_345, '12.3 s'],
    [245_000, '4 min 05 s'],
    [7_380_000, '2 h 03 min'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('ThroughputMeter', () => {
  it('counts what finished in each interval from running totals; what finished before the first sample is not placed', () => {
    const meter = new ThroughputMeter({ bucketMs: 1000, buckets: 4 });
    meter.add(10_100, 50);
    meter.add(10_900, 53);
    meter.add(12_200, 60);
    expect(meter.series(13_000)).toEqual([3, 0, 7, 0]);
    expect(meter.series(15_500)).toEqual([7, 0, 0, 0]);
  });

  it('the bars add up to what finished within the window, whatever the sampling and whenever it is read (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 3000 }), done: fc.nat(20) }), {
          minLength: 1,
          maxLength: 60,
        }),
        fc.integer({ min: 0, max: 12_000 }),
        (steps, readAfter) => {
          const meter = new ThroughputMeter({ bucketMs: 1000, buckets: 10 });
          let at = 0;
          let total = 0;
          const samples: [number, number][] = [];
          for (const { dt, done } of steps) {
            at += dt;
            total += done;
            meter.add(at, total);
            samples.push([at, total]);
          }
          const now = at + readAfter;
          const series = meter.series(now);
          expect(series).toHaveLength(10);
          // The window's share: the last total in it, less the last total seen before it
          // began (or the first sample's, when every sample is inside).
          const start = (Math.floor(now / 1000) - 9) * 1000;
          const inside = samples.filter(([t]) => t >= start);
          const before = samples.filter(([t]) => t < start).at(-1)?.[1] ?? samples[0]?.[1] ?? 0;
          const last = inside.at(-1)?.[1] ?? before;
          expect(series.reduce((a, b) => a + b, 0)).toBe(last - before);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a bad bucket size or count', () => {
    expect(() => new ThroughputMeter({ bucketMs: 0 })).toThrow(
      /bucketMs must be a positive integer, got 0/,
    );
    expect(() => new ThroughputMeter({ buckets: 1.5 })).toThrow(
      /buckets must be a positive integer, got 1.5/,
    );
  });
});
