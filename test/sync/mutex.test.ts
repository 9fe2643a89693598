import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Mutex, isAbortError, type LockOptions, type Permit } from '../../src/index.js';
import { turns } from '../helpers/steps.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/** The error `promise` rejects with; fails the test if it fulfils. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** Starts an acquire and records, in `log`, the moment its permit arrives. */
function acquireLogged(mutex: Mutex, log: string[], label: string): Promise<Permit> {
  return mutex.acquire().then((permit) => {
    log.push(label);
    return permit;
  });
}

describe('Mutex exclusion', () => {
  it('is free when created', () => {
    const mutex = new Mutex();
    expect(mutex.locked).toBe(false);
    expect(mutex.waiting).toBe(0);
  });

  it('makes a second acquirer wait until the holder releases', async () => {
    const mutex = new Mutex();
    const log: string[] = [];
    const first = await mutex.acquire();
    const second = acquireLogged(mutex, log, 'second');
    await turns(10);
    expect(log).toEqual([]);
    expect(mutex.locked).toBe(true);
    expect(mutex.waiting).toBe(1);

    first.release();
    const permit = await second;
    expect(log).toEqual(['second']);
    expect(mutex.locked).toBe(true);
    permit.release();
    expect(mutex.locked).toBe(false);
  });

  it('serves waiters in the order they called acquire', async () => {
    const mutex = new Mutex();
    const holder = await mutex.acquire();
    const order: number[] = [];
    const waiters = [0, 1, 2, 3, 4].map((i) =>
      mutex.acquire().then((permit) => {
        order.push(i);
        permit.release();
      }),
    );
    expect(mutex.waiting).toBe(5);
    holder.release();
    await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(mutex.locked).toBe(false);
  });
});

describe('Mutex.tryAcquire', () => {
  it('takes a free lock and fails while it is held', () => {
    const mutex = new Mutex();
    const permit = mutex.tryAcquire();
    expect(permit).toBeDefined();
    expect(mutex.tryAcquire()).toBeUndefined();
    permit?.release();
    const again = mutex.tryAcquire();
    expect(again).toBeDefined();
    again?.release();
  });

  it('fails while someone waits, even in the tick the holder releases (no barging)', async () => {
    const mutex = new Mutex();
    const holder = await mutex.acquire();
    const waiter = mutex.acquire();
    expect(mutex.tryAcquire()).toBeUndefined();
    holder.release();
    // The lock was handed to the waiter, whose continuation has not run yet.
    expect(mutex.tryAcquire()).toBeUndefined();
    expect(mutex.locked).toBe(true);
    (await waiter).release();
    expect(mutex.locked).toBe(false);
  });
});

describe('Mutex.run', () => {
  it('holds the lock while fn runs and returns its value', async () => {
    const mutex = new Mutex();
    const value = await mutex.run(() => {
      expect(mutex.locked).toBe(true);
      return 7;
    });
    expect(value).toBe(7);
    expect(mutex.locked).toBe(false);
  });

  it.each([
    [
      'throws',
      (): never => {
        throw new Error('boom');
      },
    ],
    ['rejects', (): Promise<never> => Promise.reject(new Error('boom'))],
  ])('releases the lock when fn %s', async (_how, fn) => {
    const mutex = new Mutex();
    await expect(mutex.run(fn)).rejects.toThrow('boom');
    expect(mutex.locked).toBe(false);
  });
});

describe('Mutex permits', () => {
  it('a second release does nothing (it does not free the next holder)', async () => {
    const mutex = new Mutex();
    const first = await mutex.acquire();
    const second = mutex.acquire();
    const third = mutex.acquire();
    first.release();
    expect(first.released).toBe(true);
    first.release();
    // The second release must not have taken the lock away from `second`.
    expect(mutex.locked).toBe(true);
    expect(mutex.waiting).toBe(1);
    (await second).release();
    (await third).release();
    expect(mutex.locked).toBe(false);
  });

  it('a using declaration releases the permit at the end of the block', async () => {
    const mutex = new Mutex();
    {
      using permit = await mutex.acquire();
      expect(permit.released).toBe(false);
      expect(mutex.locked).toBe(true);
    }
    expect(mutex.locked).toBe(false);
  });

  it('a using declaration releases the permit when the block throws', async () => {
    const mutex = new Mutex();
    const body = async (): Promise<void> => {
      using _permit = await mutex.acquire();
      throw new Error('inside');
    };
    await expect(body()).rejects.toThrow('inside');
    expect(mutex.locked).toBe(false);
  });
});

describe('Mutex abort', () => {
  it('rejects a waiter whose signal aborts with an abort error carrying the reason', async () => {
    const mutex = new Mutex();
    const holder = await mutex.acquire();
    const controller = new AbortController();
    const waiting = mutex.acquire({ signal: controller.signal });
    expect(listeners(controller.signal)).toBe(1);
    const reason = new Error('give up');
    controller.abort(reason);
    const error = await rejectionOf(waiting);
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe(reason);
    expect(mutex.waiting).toBe(0);
    expect(listeners(controller.signal)).toBe(0);
    holder.release();
    expect(mutex.locked).toBe(false);
  });

  it('rejects at once for an already aborted signal without queueing', async () => {
    const mutex = new Mutex();
    const holder = await mutex.acquire();
    const error = await rejectionOf(mutex.acquire({ signal: AbortSignal.abort('early') }));
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe('early');
    expect(mutex.waiting).toBe(0);
    holder.release();
  });

  it('skips an aborted waiter: the lock goes to the one behind it', async () => {
    const mutex = new Mutex();
    const holder = await mutex.acquire();
    const controller = new AbortController();
    const aborted = mutex.acquire({ signal: controller.signal });
    const next = mutex.acquire();
    controller.abort('no');
    expect(isAbortError(await rejectionOf(aborted))).toBe(true);
    holder.release();
    const permit = await next;
    expect(mutex.locked).toBe(true);
    expect(mutex.waiting).toBe(0);
    permit.release();
    expect(mutex.locked).toBe(false);
  });

  it('an abort in the tick the lock is handed over passes it on to the next waiter', async () => {
    const mutex = new Mutex();
    const holder = await mutex.acquire();
    const controller = new AbortController();
    const log: string[] = [];
    const aborted = mutex.acquire({ signal: controller.signal });
    const next = acquireLogged(mutex, log, 'next');
    holder.release(); // hands the lock to `aborted`, whose continuation has not run
    controller.abort('too late');
    const error = await rejectionOf(aborted);
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe('too late');
    const permit = await next;
    expect(log).toEqual(['next']);
    expect(mutex.waiting).toBe(0);
    permit.release();
    expect(mutex.locked).toBe(false);
  });

  it('removes the abort listener once the lock is granted', async () => {
    const mutex = new Mutex();
    const holder = await mutex.acquire();
    const controller = new AbortController();
    const waiting = mutex.acquire({ signal: controller.signal });
    expect(listeners(controller.signal)).toBe(1);
    holder.release();
    const permit = await waiting;
    expect(listeners(controller.signal)).toBe(0);
    controller.abort('after the fact');
    expect(permit.released).toBe(false);
    expect(mutex.locked).toBe(true);
    permit.release();
  });
});

describe('Mutex options', () => {
  it('defaults the name to "Mutex" and the rank to undefined', () => {
    const mutex = new Mutex();
    expect(mutex.name).toBe('Mutex');
    expect(mutex.rank).toBeUndefined();
  });

  it('exposes the given name and rank', () => {
    const mutex = new Mutex({ name: 'feeds', rank: 0 });
    expect(mutex.name).toBe('feeds');
    expect(mutex.rank).toBe(0);
  });

  it.each<[string, LockOptions, ErrorConstructor, RegExp]>([
    [
      'rank -1',
      { rank: -1 },
      RangeError,
      /^options\.rank must be a non-negative integer, got -1 \(number\)$/,
    ],
    [
      'rank 1.5',
      { rank: 1.5 },
      RangeError,
      /^options\.rank must be a non-negative integer, got 1\.5 \(number\)$/,
    ],
    [
      'rank NaN',
      { rank: Number.NaN },
      RangeError,
      /^options\.rank must be a non-negative integer, got NaN \(number\)$/,
    ],
    [
      "rank '1'",
      { rank: '1' as unknown as number },
      TypeError,
      /^options\.rank must be a non-negative integer, got "1" \(string\)$/,
    ],
    [
      "name ''",
      { name: '' },
      TypeError,
      /^options\.name must be a non-empty string, got "" \(string\)$/,
    ],
    [
      'name 5',
      { name: 5 as unknown as string },
      TypeError,
      /^options\.name must be a non-empty string, got 5 \(number\)$/,
    ],
  ])('rejects %s, naming the field and the value', (_label, options, type, message) => {
    const construct = (): Mutex => new Mutex(options);
    expect(construct).toThrow(type);
    expect(construct).toThrow(message);
  });
});
