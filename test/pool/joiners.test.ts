/**
 * Keys give every caller its own wait (as SingleFlight does): a caller that joins a job
 * by key has a handle of its own, whose signal, cancel and wait limit end only its own
 * wait; the shared job is cancelled only once every caller has given up.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  TimeoutError,
  WorkPool,
  isAbortError,
  type JobView,
  type PoolEvents,
} from '../../src/index.js';
import { flush, observe, rejectionOf, Tasks, thrownBy } from './work-pool.helpers.js';

const newPool = (bus?: EventBus<PoolEvents>) =>
  new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } }, ...(bus ? { bus } : {}) });

describe('WorkPool keys: each caller has its own wait', () => {
  it('a joiner gets a handle of its own on the same job, and its own task never runs', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const first = pool.submit('work', tasks.task('shared'), { key: 'k' });
    const other = vi.fn(() => 'other');
    const joined = pool.submit('work', other, { key: 'k' });
    expect(joined).not.toBe(first);
    expect(joined.id).toBe(first.id);
    await flush();
    tasks.finish('shared');
    expect(await Promise.all([first.result, joined.result])).toEqual(['shared', 'shared']);
    expect(other).not.toHaveBeenCalled();
    await pool.close();
  });

  it('a joiner that cancels is released at once, and the job goes on for the others', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const first = pool.submit('work', tasks.task('shared'), { key: 'k' });
    const joined = pool.submit('work', () => 'x', { key: 'k' });
    await flush();
    joined.cancel('not needed');
    const error = await rejectionOf(joined.result);
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe('not needed');
    expect(first.status).toBe('running');
    expect(tasks.ctx('shared').signal.aborted).toBe(false);
    tasks.finish('shared');
    expect(await first.result).toBe('shared');
    await pool.close();
  });

  it('the creator cancelling does not reject a joiner that never cancelled', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const first = pool.submit('work', tasks.task('shared'), { key: 'k' });
    const joined = pool.submit('work', () => 'x', { key: 'k' });
    await flush();
    first.cancel('creator left');
    expect(isAbortError(await rejectionOf(first.result))).toBe(true);
    expect(tasks.ctx('shared').signal.aborted).toBe(false);
    tasks.finish('shared');
    expect(await joined.result).toBe('shared');
    expect(joined.status).toBe('succeeded');
    await pool.close();
  });

  it('a joiner’s signal ends only its own wait', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const first = pool.submit('work', tasks.task('shared'), { key: 'k' });
    const controller = new AbortController();
    const joined = pool.submit('work', () => 'x', { key: 'k', signal: controller.signal });
    await flush();
    controller.abort('joiner gone');
    expect((await rejectionOf(joined.result)) as Error).toMatchObject({ cause: 'joiner gone' });
    expect(first.status).toBe('running');
    tasks.finish('shared');
    expect(await first.result).toBe('shared');
    await pool.close();
  });

  it('the job is cancelled once every caller has given up: a running job’s signal aborts', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const first = pool.submit('work', tasks.task('shared'), { key: 'k' });
    const joined = pool.submit('work', () => 'x', { key: 'k' });
    await flush();
    joined.cancel('one');
    expect(tasks.ctx('shared').signal.aborted).toBe(false);
    first.cancel('two');
    expect(tasks.ctx('shared').signal.aborted).toBe(true);
    expect(isAbortError(await rejectionOf(first.result))).toBe(true);
    expect(first.status).toBe('cancelled');
    await pool.close();
  });

  it('a queued job is removed once every caller has given up', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('blocker'));
    const first = pool.submit('work', tasks.task('shared'), { key: 'k' });
    const joined = pool.submit('work', () => 'x', { key: 'k' });
    first.cancel();
    expect(first.status).toBe('queued');
    joined.cancel();
    expect(first.status).toBe('cancelled');
    expect(pool.size).toBe(0);
    tasks.finish('blocker');
    await pool.close();
    expect(tasks.started).toEqual(['blocker']);
  });

  it('a second cancel by the same caller does not count twice', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const first = pool.submit('work', tasks.task('shared'), { key: 'k' });
    const joined = pool.submit('work', () => 'x', { key: 'k' });
    const third = pool.submit('work', () => 'x', { key: 'k' });
    await flush();
    joined.cancel();
    joined.cancel();
    first.cancel();
    expect(tasks.ctx('shared').signal.aborted).toBe(false);
    tasks.finish('shared');
    expect(await third.result).toBe('shared');
    await pool.close();
  });

  it('run() with the key of a running job honours its signal while the job runs on', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const first = pool.submit('work', tasks.task('shared'), { key: 'k' });
    await flush();
    const controller = new AbortController();
    const waiting = pool.run('work', () => 'x', { key: 'k', signal: controller.signal });
    controller.abort('impatient');
    expect(isAbortError(await rejectionOf(waiting))).toBe(true);
    expect(first.status).toBe('running');
    tasks.finish('shared');
    expect(await first.result).toBe('shared');
    await pool.close();
  });

  it('joining with an already-aborted signal throws at once and leaves the job alone', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    const first = pool.submit('work', tasks.task('shared'), { key: 'k' });
    await flush();
    const error = thrownBy(() =>
      pool.submit('work', () => 'x', { key: 'k', signal: AbortSignal.abort('late') }),
    );
    expect(isAbortError(error)).toBe(true);
    first.cancel();
    expect(first.status).toBe('running');
    expect(tasks.ctx('shared').signal.aborted).toBe(true);
    await pool.close();
  });

  it('a joiner with a higher priority raises the shared job to it', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('blocker'));
    pool.submit('work', tasks.task('middle'), { priority: 5 });
    const keyed = pool.submit('work', tasks.task('keyed'), { key: 'k', priority: 1 });
    expect(pool.snapshot().queued.map((j) => j.priority)).toEqual([5, 1]);
    pool.submit('work', () => 'x', { key: 'k', priority: 9 });
    expect(keyed.view().priority).toBe(9);
    expect(pool.snapshot().queued.map((j) => j.id)).toEqual([
      keyed.id,
      pool.snapshot().queued[1]?.id,
    ]);
    tasks.finish('blocker');
    await flush();
    expect(tasks.started).toEqual(['blocker', 'keyed']);
    tasks.finish('keyed');
    await flush();
    tasks.finish('middle');
    await pool.close();
  });

  it('a joiner with a lower priority leaves the job’s priority as it is', async () => {
    const pool = newPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('blocker'));
    const keyed = pool.submit('work', tasks.task('keyed'), { key: 'k', priority: 4 });
    pool.submit('work', () => 'x', { key: 'k', priority: 1 });
    expect(keyed.view().priority).toBe(4);
    tasks.finish('blocker');
    await flush();
    tasks.finish('keyed');
    await pool.close();
  });

  it('a joiner’s timeoutMs bounds its own wait with TimeoutError; the job goes on', async () => {
    vi.useFakeTimers();
    const pool = newPool();
    const tasks = new Tasks();
    const first = pool.submit('work', tasks.task('shared'), { key: 'k' });
    const joined = pool.submit('work', () => 'x', { key: 'k', timeoutMs: 100 });
    const outcome = observe(joined.result);
    await vi.advanceTimersByTimeAsync(99);
    expect(outcome().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(await rejectionOf(joined.result)).toBeInstanceOf(TimeoutError);
    expect(first.status).toBe('running');
    tasks.finish('shared');
    expect(await first.result).toBe('shared');
    await pool.close();
  });

  it('the key comes back as the caller gave it, in views, snapshots and events', async () => {
    const bus = new EventBus<PoolEvents>();
    const seen: JobView[] = [];
    bus.on('job.queued', (view) => seen.push(view));
    const pool = newPool(bus);
    const tasks = new Tasks();
    pool.submit('work', tasks.task('blocker'));
    const job = pool.submit('work', tasks.task('keyed'), { key: 'https://example.org/feed' });
    expect(job.view().key).toBe('https://example.org/feed');
    expect(pool.snapshot().queued[0]?.key).toBe('https://example.org/feed');
    expect(seen.map((v) => v.key)).toEqual([undefined, 'https://example.org/feed']);
    tasks.finish('blocker');
    await flush();
    tasks.finish('keyed');
    await pool.close();
    expect(pool.snapshot().history.map((v) => v.key)).toEqual([
      undefined,
      'https://example.org/feed',
    ]);
    bus.close();
  });

  it('property: the job is cancelled iff every caller cancelled; every other caller gets the value', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        async (cancels, whileQueued) => {
          const pool = newPool();
          const tasks = new Tasks();
          if (whileQueued) pool.submit('work', tasks.task('blocker'));
          const handles = cancels.map(() =>
            pool.submit('work', tasks.task('shared'), { key: 'k' }),
          );
          if (!whileQueued) await flush();
          handles.forEach((h, i) => {
            if (cancels[i]) h.cancel(`caller ${i}`);
          });
          const allCancelled = cancels.every(Boolean);
          if (whileQueued) tasks.finish('blocker');
          await flush();
          if (!allCancelled) tasks.finish('shared');
          const results = await Promise.allSettled(handles.map((h) => h.result));
          results.forEach((r, i) => {
            if (cancels[i]) expect(r.status).toBe('rejected');
            else expect(r).toEqual({ status: 'fulfilled', value: 'shared' });
          });
          expect(handles[0]?.status).toBe(allCancelled ? 'cancelled' : 'succeeded');
          await pool.close();
        },
      ),
      { numRuns: 200 },
    );
  });
});
