/**
 * Durations mean what they say: Node's timers fire at once for any delay of 2^31 ms or
 * more, so every duration the pool arms goes through a timer that chains steps.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkPool } from '../../src/index.js';
import { flush, observe, Tasks, thrownBy } from './work-pool.helpers.js';

const LONG = 2 ** 31 + 1_000; // past Node's single-timer limit (about 24.8 days)

const newPool = (options: { abortGraceMs?: number; stallAfterMs?: number } = {}) =>
  new WorkPool({
    concurrency: 2,
    types: {
      work: {
        concurrency: 2,
        ...(options.stallAfterMs === undefined ? {} : { stallAfterMs: options.stallAfterMs }),
      },
    },
    random: () => 0.999,
    ...(options.abortGraceMs === undefined ? {} : { abortGraceMs: options.abortGraceMs }),
  });

describe('WorkPool durations past 2^31 ms', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  it('close({ graceMs: 2 ** 31 }) waits the whole grace before aborting', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('long'));
    await flush();
    const closing = observe(pool.close({ graceMs: LONG }));
    await vi.advanceTimersByTimeAsync(10);
    expect(tasks.ctx('long').signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(LONG - 20);
    expect(tasks.ctx('long').signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(10);
    expect(tasks.ctx('long').signal.aborted).toBe(true);
    await flush();
    expect(closing().status).toBe('fulfilled');
  });

  it('a long timeoutMs does not fire early', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('long'), { timeoutMs: LONG });
    await vi.advanceTimersByTimeAsync(LONG - 1);
    expect(tasks.ctx('long').signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(tasks.ctx('long').signal.aborted).toBe(true);
    await pool.close();
  });

  it('a long retry backoff does not fire early', async () => {
    const pool = newPool();
    let calls = 0;
    pool.submit(
      'work',
      () => {
        calls++;
        throw new Error('flaky');
      },
      { retry: { attempts: 2, baseMs: LONG, maxMs: LONG } },
    );
    await flush();
    // random() = 0.999 draws a backoff just under LONG.
    await vi.advanceTimersByTimeAsync(Math.floor(0.999 * LONG) - 1);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await pool.close();
  });

  it('a long stallAfterMs does not report a stall early', async () => {
    const pool = newPool({ stallAfterMs: LONG });
    const tasks = new Tasks();
    const job = pool.submit('work', tasks.task('long'));
    await vi.advanceTimersByTimeAsync(LONG - 1);
    expect(job.view().stalled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(job.view().stalled).toBe(true);
    tasks.finish('long');
    await pool.close();
  });

  it('a long abortGraceMs waits for an aborted job the whole time before abandoning it', async () => {
    const pool = newPool({ abortGraceMs: LONG });
    const tasks = new Tasks({ cooperative: false });
    pool.submit('work', tasks.task('stubborn'));
    await flush();
    const closing = observe(pool.close({ graceMs: 0 }));
    await vi.advanceTimersByTimeAsync(LONG - 1);
    expect(closing().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    await flush();
    expect(closing()).toMatchObject({ status: 'fulfilled', value: { abandoned: ['job-1'] } });
  });

  it('accepts fractional milliseconds', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('short'), { timeoutMs: 0.5 });
    await vi.advanceTimersByTimeAsync(1);
    expect(tasks.ctx('short').signal.aborted).toBe(true);
    await pool.close({ graceMs: 0.5 });
  });

  it.each([
    ['timeoutMs', (pool: WorkPool) => pool.submit('work', () => 1, { timeoutMs: 2 ** 53 })],
    ['graceMs', (pool: WorkPool) => pool.close({ graceMs: Number.POSITIVE_INFINITY })],
    [
      'retry.baseMs',
      (pool: WorkPool) => pool.submit('work', () => 1, { retry: { attempts: 2, baseMs: -1 } }),
    ],
  ])('refuses a %s it cannot honour with a RangeError naming it', async (field, call) => {
    const pool = newPool();
    const error = thrownBy(() => call(pool));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toContain(field);
    await pool.close();
  });
});
