import { beforeEach, describe, expect, it, vi } from 'vitest';
import { EventBus, WorkPool, type JobView, type PoolEvents } from '../../src/index.js';
import { flush, Tasks } from './work-pool.helpers.js';

function stallPool(bus: EventBus<PoolEvents>) {
  return new WorkPool({
    concurrency: 4,
    types: { embed: { concurrency: 2, stallAfterMs: 500 }, fetch: { concurrency: 2 } },
    bus,
  });
}

describe('WorkPool stalls', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });

  it('reports a job running longer than stallAfterMs once, flags it, and does not kill it', async () => {
    const bus = new EventBus<PoolEvents>();
    const stalled: JobView[] = [];
    bus.on('job.stalled', (view) => stalled.push(view));
    const pool = stallPool(bus);
    const tasks = new Tasks();
    const job = pool.submit('embed', tasks.task('slow'));
    await vi.advanceTimersByTimeAsync(499);
    expect(stalled).toEqual([]);
    expect(pool.snapshot().running[0]?.stalled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(stalled).toHaveLength(1);
    expect(stalled[0]).toMatchObject({ id: job.id, status: 'running', stalled: true });
    expect(pool.snapshot().running).toMatchObject([{ id: job.id, stalled: true }]);
    expect(job.view().stalled).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(stalled).toHaveLength(1);
    expect(tasks.ctx('slow').signal.aborted).toBe(false);
    expect(job.status).toBe('running');
    tasks.finish('slow');
    expect(await job.result).toBe('slow');
    await pool.close();
    bus.close();
  });

  it('does not report a job that finishes in time, and clears its stall timer', async () => {
    const bus = new EventBus<PoolEvents>();
    const stalled = vi.fn();
    bus.on('job.stalled', stalled);
    const pool = stallPool(bus);
    const tasks = new Tasks();
    const job = pool.submit('embed', tasks.task('quick'));
    await vi.advanceTimersByTimeAsync(499);
    tasks.finish('quick');
    await job.result;
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(stalled).not.toHaveBeenCalled();
    expect(job.view().stalled).toBe(false);
    await pool.close();
    bus.close();
  });

  it('applies only to the type that sets stallAfterMs', async () => {
    const bus = new EventBus<PoolEvents>();
    const stalled: string[] = [];
    bus.on('job.stalled', (view) => stalled.push(view.type));
    const pool = stallPool(bus);
    const tasks = new Tasks();
    pool.submit('fetch', tasks.task('fetch'));
    pool.submit('embed', tasks.task('embed'));
    await flush();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(stalled).toEqual(['embed']);
    tasks.finish('fetch');
    tasks.finish('embed');
    await pool.onIdle();
    await pool.close();
    bus.close();
  });
});
