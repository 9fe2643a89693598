/**
 * lockdep and the pool's own callbacks: code that cannot deadlock raises no report (each
 * test failed before its fix), and the over-reports lockdep keeps, with their remedy.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { LockOrderError, Mutex, WorkPool, lockdep } from '../../src/index.js';
import { turns } from '../helpers/steps.js';

beforeEach(() => {
  lockdep.enable();
});

afterEach(() => {
  lockdep.disable();
  lockdep.reset();
});

describe('a pool job is a flow of its own, also where the pool calls back for it', () => {
  it('a job cancelled inside a critical section runs its abort listener in its own flow', async () => {
    const lock = new Mutex({ name: 'store' });
    const pool = new WorkPool({ concurrency: 1, types: { t: { concurrency: 1 } } });
    const cleanups: Promise<void>[] = [];
    const job = pool.submit(
      't',
      ({ signal }) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => {
            // Cleanup under the lock: it waits for the canceller to let go, no deadlock.
            cleanups.push(lock.run(() => turns(1)));
            reject(signal.reason as Error);
          });
        }),
    );
    await turns(2);
    await lock.run(async () => {
      job.cancel();
      await turns(2);
    });
    await expect(Promise.all(cleanups)).resolves.toEqual([undefined]);
    await pool.close();
  });

  it('a retryIf does not inherit the locks of the flow that submitted the job', async () => {
    const lock = new Mutex({ name: 'breaker' });
    const pool = new WorkPool({
      concurrency: 1,
      types: { t: { concurrency: 1 } },
      random: () => 0,
    });
    const checks: Promise<void>[] = [];
    const job = await lock.run(() =>
      pool.submit(
        't',
        ({ attempt }) => {
          if (attempt === 1) throw new Error('flaky');
          return 'ok';
        },
        {
          retry: {
            attempts: 2,
            baseMs: 0,
            retryIf: () => {
              checks.push(lock.run(() => turns(1))); // records the failure under the lock
              return true;
            },
          },
        },
      ),
    );
    await expect(job.result).resolves.toBe('ok');
    await expect(Promise.all(checks)).resolves.toEqual([undefined]);
    await pool.close();
  });
});

describe('lockdep over-approximations and their remedy', () => {
  afterEach(() => {
    lockdep.disable();
    lockdep.reset();
  });

  it('an emitter listener started inside a critical section inherits its locks (pinned over-report)', async () => {
    lockdep.enable();
    const lock = new Mutex({ name: 'emitted' });
    const emitter = new EventEmitter();
    const flows: Promise<unknown>[] = [];
    emitter.on('go', () => {
      flows.push(lock.run(() => 'later').catch((error: unknown) => error));
    });
    await lock.run(async () => {
      emitter.emit('go');
      await turns(2);
    });
    expect(await flows[0]).toBeInstanceOf(LockOrderError);
  });

  it('lockdep.detached runs an emitter listener started inside a critical section as its own flow', async () => {
    lockdep.enable();
    const lock = new Mutex({ name: 'emitted' });
    const emitter = new EventEmitter();
    const flows: Promise<unknown>[] = [];
    emitter.on('go', () => {
      lockdep.detached(() => flows.push(lock.run(() => 'later')));
    });
    await lock.run(async () => {
      emitter.emit('go');
      await turns(2);
    });
    expect(await flows[0]).toBe('later');
  });
});
