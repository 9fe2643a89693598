/**
 * WorkPool keys and queue room together: joins after a wait, joins of a job being cancelled.
 */
import { describe, expect, it } from 'vitest';
import { WorkPool, isAbortError } from '../../src/index.js';
import { Tasks, flush, observe } from './work-pool.helpers.js';

describe('run() callers with one key waiting for room', () => {
  it('a waiter that joins the job its key now names gives its reserved place back', async () => {
    const tasks = new Tasks();
    const pool = new WorkPool({
      concurrency: 1,
      types: { t: { concurrency: 1 } },
      queue: { capacity: 1 },
    });
    pool.pause();
    const filler = pool.submit('t', tasks.task('filler'));
    const first = observe(pool.run('t', tasks.task('k1'), { key: 'k' }));
    const second = observe(pool.run('t', tasks.task('k2'), { key: 'k' }));
    filler.cancel(); // room for the first waiter: it queues the job of key k
    await flush();
    pool.resume(); // k starts, its place goes to the second waiter, which joins k
    await flush();
    tasks.finish('k1');
    await flush();
    expect(first()).toEqual({ status: 'fulfilled', value: 'k1' });
    expect(second()).toEqual({ status: 'fulfilled', value: 'k1' });
    // The queue is empty: its one place is free for the next submit.
    expect(pool.size).toBe(0);
    const next = pool.submit('t', () => 'next');
    await expect(next.result).resolves.toBe('next');
    await pool.close();
  });
});

describe('a key whose job is being cancelled', () => {
  it('a new caller does not join a job its last caller already cancelled', async () => {
    const tasks = new Tasks({ cooperative: false }); // slow to honour its abort
    const pool = new WorkPool({ concurrency: 2, types: { t: { concurrency: 2 } } });
    const old = pool.submit('t', tasks.task('old'), { key: 'k' });
    await flush();
    old.cancel(); // the only caller gives up: the job is cancelled, its task still runs
    const fresh = pool.submit('t', tasks.task('fresh'), { key: 'k' });
    const result = observe(fresh.result);
    await flush();
    tasks.finish('old');
    await flush();
    // The new caller never cancelled: it is not rejected because another caller did.
    expect(result().status).not.toBe('rejected');
    if (tasks.started.includes('fresh')) tasks.finish('fresh');
    await flush();
    expect(result()).toEqual({ status: 'fulfilled', value: 'fresh' });
    expect(isAbortError(await old.result.catch((e: unknown) => e))).toBe(true);
    await pool.close();
  });
});
