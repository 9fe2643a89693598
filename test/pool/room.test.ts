/**
 * `run()` waits for queue room, and room is handed over, not announced: a place freed in
 * the queue is reserved for the longest-waiting caller in the same step.
 */
import { describe, expect, it } from 'vitest';
import { QueueFullError, WorkPool, isAbortError } from '../../src/index.js';
import { flush, observe, rejectionOf, Tasks, thrownBy } from './work-pool.helpers.js';

const smallPool = () =>
  new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } }, queue: { capacity: 1 } });

describe('WorkPool run(): waiting for queue room', () => {
  it('a waiter whose signal aborts in the tick it is granted room passes the room on', async () => {
    const pool = smallPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    const queued = pool.submit('work', tasks.task('queued'));
    const first = new AbortController();
    const a = observe(pool.run('work', tasks.task('a'), { signal: first.signal }));
    const b = observe(pool.run('work', tasks.task('b')));
    await flush();
    // The place is granted to `a`, whose caller aborts before it can resume.
    queued.cancel();
    first.abort('gave up');
    await flush();
    expect(a().status).toBe('rejected');
    expect(pool.size).toBe(1); // `b` took the place instead of waiting forever
    tasks.finish('running');
    await flush();
    tasks.finish('b');
    await flush();
    expect(b()).toEqual({ status: 'fulfilled', value: 'b' });
    expect(tasks.started).toEqual(['running', 'b']);
    await pool.close();
  });

  it('a submit landing in the tick of a grant cannot take the waiter’s place', async () => {
    const pool = smallPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    const queued = pool.submit('work', tasks.task('queued'));
    const waiter = observe(pool.run('work', tasks.task('waiter')));
    await flush();
    queued.cancel();
    expect(thrownBy(() => pool.submit('work', () => 'intruder'))).toBeInstanceOf(QueueFullError);
    await flush();
    expect(pool.snapshot().queued).toHaveLength(1);
    tasks.finish('running');
    await flush();
    tasks.finish('waiter');
    await flush();
    expect(waiter()).toEqual({ status: 'fulfilled', value: 'waiter' });
    await pool.close();
  });

  it('waiters are served in arrival order as places free up one by one', async () => {
    const pool = smallPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    pool.submit('work', tasks.task('q0'));
    const waiting = ['w1', 'w2', 'w3'].map((name) => observe(pool.run('work', tasks.task(name))));
    await flush();
    tasks.finish('running');
    for (const name of ['q0', 'w1', 'w2', 'w3']) {
      await flush();
      tasks.finish(name);
    }
    await flush();
    expect(tasks.started).toEqual(['running', 'q0', 'w1', 'w2', 'w3']);
    expect(waiting.map((w) => w().status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    await pool.close();
  });

  it('a waiter aborted while parked leaves the line without taking a place', async () => {
    const pool = smallPool();
    const tasks = new Tasks();
    pool.submit('work', tasks.task('running'));
    const queued = pool.submit('work', tasks.task('queued'));
    const controller = new AbortController();
    const a = pool.run('work', tasks.task('a'), { signal: controller.signal });
    const b = observe(pool.run('work', tasks.task('b')));
    controller.abort();
    expect(isAbortError(await rejectionOf(a))).toBe(true);
    queued.cancel();
    await flush();
    expect(pool.snapshot().queued).toHaveLength(1);
    tasks.finish('running');
    await flush();
    tasks.finish('b');
    await flush();
    expect(b().status).toBe('fulfilled');
    await pool.close();
  });
});
