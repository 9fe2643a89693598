import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { KeyedMutex, isAbortError, type Permit } from '../../src/index.js';
import { turns } from '../helpers/steps.js';
import { deferred } from '../helpers/deferred.js';

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

function take(permit: Permit | undefined): Permit {
  if (!permit) throw new Error('expected the key to be free');
  return permit;
}

describe('KeyedMutex exclusion', () => {
  it('locks different keys independently', async () => {
    const keyed = new KeyedMutex();
    const a = await keyed.acquire('a');
    const b = await keyed.acquire('b');
    expect(keyed.isLocked('a')).toBe(true);
    expect(keyed.isLocked('b')).toBe(true);
    expect(keyed.size).toBe(2);
    a.release();
    expect(keyed.isLocked('a')).toBe(false);
    expect(keyed.isLocked('b')).toBe(true);
    b.release();
  });

  it('makes a second acquirer of the same key wait until the holder releases', async () => {
    const keyed = new KeyedMutex();
    const log: string[] = [];
    const first = await keyed.acquire('k');
    const second = keyed.acquire('k').then((permit) => {
      log.push('second');
      return permit;
    });
    await turns(10);
    expect(log).toEqual([]);
    first.release();
    (await second).release();
    expect(log).toEqual(['second']);
  });

  it('serves waiters for one key in the order they called acquire', async () => {
    const keyed = new KeyedMutex();
    const holder = await keyed.acquire('k');
    const order: number[] = [];
    const waiters = [0, 1, 2, 3].map((i) =>
      keyed.acquire('k').then((permit) => {
        order.push(i);
        permit.release();
      }),
    );
    holder.release();
    await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('tryAcquire fails for a held key and succeeds for another', () => {
    const keyed = new KeyedMutex();
    const a = take(keyed.tryAcquire('a'));
    expect(keyed.tryAcquire('a')).toBeUndefined();
    const b = take(keyed.tryAcquire('b'));
    a.release();
    b.release();
  });

  it('compares keys by identity, so distinct objects are distinct keys', () => {
    const keyed = new KeyedMutex<object>();
    const a = take(keyed.tryAcquire({}));
    const b = take(keyed.tryAcquire({}));
    expect(keyed.size).toBe(2);
    a.release();
    b.release();
    expect(keyed.size).toBe(0);
  });
});

describe('KeyedMutex entries', () => {
  it('frees the entry when its holder releases', async () => {
    const keyed = new KeyedMutex();
    const permit = await keyed.acquire('k');
    expect(keyed.size).toBe(1);
    permit.release();
    expect(keyed.size).toBe(0);
    expect(keyed.isLocked('k')).toBe(false);
  });

  it('keeps the entry until the last waiter has released', async () => {
    const keyed = new KeyedMutex();
    const first = await keyed.acquire('k');
    const second = keyed.acquire('k');
    first.release();
    expect(keyed.size).toBe(1);
    (await second).release();
    expect(keyed.size).toBe(0);
  });

  it('a second release does not free the entry from under the next holder', async () => {
    const keyed = new KeyedMutex();
    const first = await keyed.acquire('k');
    const second = keyed.acquire('k');
    const third = keyed.acquire('k');
    first.release();
    first.release();
    expect(keyed.size).toBe(1);
    const permit = await second;
    expect(keyed.isLocked('k')).toBe(true);
    permit.release();
    (await third).release();
    expect(keyed.size).toBe(0);
  });

  it('frees the entry after a waiter aborts and the holder releases', async () => {
    const keyed = new KeyedMutex();
    const holder = await keyed.acquire('k');
    const controller = new AbortController();
    const waiting = keyed.acquire('k', { signal: controller.signal });
    controller.abort('no');
    const error = await rejectionOf(waiting);
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe('no');
    expect(listeners(controller.signal)).toBe(0);
    expect(keyed.size).toBe(1);
    holder.release();
    expect(keyed.size).toBe(0);
  });

  it('frees the entry when the last user is a waiter aborted in the tick it was granted', async () => {
    const keyed = new KeyedMutex();
    const holder = await keyed.acquire('k');
    const controller = new AbortController();
    const waiting = keyed.acquire('k', { signal: controller.signal });
    holder.release(); // hands the key to the waiter, whose continuation has not run
    controller.abort('too late');
    expect(isAbortError(await rejectionOf(waiting))).toBe(true);
    expect(keyed.isLocked('k')).toBe(false);
    expect(keyed.size).toBe(0);
  });

  it('does not create an entry for an already aborted signal', async () => {
    const keyed = new KeyedMutex();
    const error = await rejectionOf(keyed.acquire('k', { signal: AbortSignal.abort('early') }));
    expect(isAbortError(error)).toBe(true);
    expect(keyed.size).toBe(0);
  });

  it('a failed tryAcquire leaves no reference behind', () => {
    const keyed = new KeyedMutex();
    const holder = take(keyed.tryAcquire('k'));
    expect(keyed.tryAcquire('k')).toBeUndefined();
    expect(keyed.size).toBe(1);
    holder.release();
    expect(keyed.size).toBe(0);
  });

  it('isLocked for an unknown key is false and creates no entry', () => {
    const keyed = new KeyedMutex();
    expect(keyed.isLocked('nobody')).toBe(false);
    expect(keyed.size).toBe(0);
  });
});

describe('KeyedMutex.run', () => {
  it('holds the key while fn runs and returns its value', async () => {
    const keyed = new KeyedMutex();
    const value = await keyed.run('k', () => {
      expect(keyed.isLocked('k')).toBe(true);
      return 'done';
    });
    expect(value).toBe('done');
    expect(keyed.size).toBe(0);
  });

  it('runs calls for one key one at a time, in call order', async () => {
    const keyed = new KeyedMutex();
    const log: string[] = [];
    const gate = deferred();
    const first = keyed.run('k', async () => {
      log.push('first start');
      await gate.promise;
      log.push('first end');
    });
    const second = keyed.run('k', () => {
      log.push('second');
    });
    await turns(10);
    expect(log).toEqual(['first start']);
    gate.resolve();
    await Promise.all([first, second]);
    expect(log).toEqual(['first start', 'first end', 'second']);
    expect(keyed.size).toBe(0);
  });

  it('releases the key when fn throws', async () => {
    const keyed = new KeyedMutex();
    await expect(
      keyed.run('k', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(keyed.isLocked('k')).toBe(false);
    expect(keyed.size).toBe(0);
  });
});

describe('KeyedMutex options', () => {
  it('defaults the name to "KeyedMutex" and exposes a given name and rank', () => {
    expect(new KeyedMutex().name).toBe('KeyedMutex');
    const keyed = new KeyedMutex({ name: 'feed-url', rank: 1 });
    expect(keyed.name).toBe('feed-url');
    expect(keyed.rank).toBe(1);
  });

  it('rejects an empty name naming the field', () => {
    expect(() => new KeyedMutex({ name: '' })).toThrow(TypeError);
    expect(() => new KeyedMutex({ name: '' })).toThrow(/^options\.name must be a non-empty string/);
  });
});
