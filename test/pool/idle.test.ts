import { describe, expect, it, vi } from 'vitest';
import { EventBus, WorkPool, type PoolEvents } from '../../src/index.js';
import { flush, observe, Tasks } from './work-pool.helpers.js';

describe('WorkPool onIdle', () => {
  it('resolves at once when nothing is queued, running or retrying', async () => {
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } } });
    const idle = observe(pool.onIdle());
    await Promise.resolve();
    expect(idle().status).toBe('fulfilled');
    await pool.close();
  });

  it('resolves every waiter once the work drains, not before', async () => {
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } } });
    const tasks = new Tasks();
    pool.submit('work', tasks.task('a'));
    pool.submit('work', tasks.task('b'));
    const first = observe(pool.onIdle());
    const second = observe(pool.onIdle());
    tasks.finish('a');
    await flush();
    expect([first().status, second().status]).toEqual(['pending', 'pending']);
    tasks.finish('b');
    await flush();
    expect([first().status, second().status]).toEqual(['fulfilled', 'fulfilled']);
    await pool.close();
  });

  it('waits for a job waiting out a retry backoff', async () => {
    vi.useFakeTimers();
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      random: () => 0.5,
    });
    let attempts = 0;
    pool.submit('work', () => (++attempts === 1 ? Promise.reject(new Error('x')) : 'ok'), {
      retry: { attempts: 2, baseMs: 1_000 },
    });
    await flush();
    const idle = observe(pool.onIdle());
    await vi.advanceTimersByTimeAsync(499);
    expect(idle().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(idle().status).toBe('fulfilled');
    expect(attempts).toBe(2);
    await pool.close();
  });

  it('resolves when the last queued job is cancelled', async () => {
    vi.useFakeTimers();
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1, rate: { limit: 1, intervalMs: 1_000 } } },
    });
    await pool.submit('work', () => 'first').result;
    const held = pool.submit('work', () => 'held'); // held back by the rate limit
    const idle = observe(pool.onIdle());
    await flush();
    expect(idle().status).toBe('pending');
    held.cancel();
    await flush();
    expect(idle().status).toBe('fulfilled');
    await pool.close();
  });

  it('does not resolve, nor publish pool.idle, while a drop-lowest newcomer replaces an evicted job', async () => {
    // Bug: #makeRoom evicts (finishes) the victim before the newcomer is enqueued; with
    // nothing running (here a rate-limited type), #finish sees an empty pool and calls
    // #becameIdle, so onIdle() resolves and pool.idle is published while a job is queued.
    vi.useFakeTimers();
    const bus = new EventBus<PoolEvents>();
    const idleEvents = vi.fn();
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1, rate: { limit: 1, intervalMs: 1_000 } } },
      queue: { capacity: 1, whenFull: 'drop-lowest' },
      bus,
    });
    await pool.submit('work', () => 'first').result;
    pool.submit('work', () => 'evicted'); // held back by the rate limit
    bus.on('pool.idle', idleEvents);
    const idle = observe(pool.onIdle());
    const newcomer = pool.submit('work', () => 'newcomer', { priority: 5 });
    await flush();
    expect(newcomer.status).toBe('queued');
    expect(idle().status).toBe('pending');
    expect(idleEvents).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await newcomer.result).toBe('newcomer');
    expect(idle().status).toBe('fulfilled');
    await pool.close();
    bus.close();
  });
});
