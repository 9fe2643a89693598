import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { RWLock, isAbortError, type Permit } from '../../src/index.js';
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

/** Records in `log` the moment a permit arrives. */
function logged(acquiring: Promise<Permit>, log: string[], label: string): Promise<Permit> {
  return acquiring.then((permit) => {
    log.push(label);
    return permit;
  });
}

function take(permit: Permit | undefined): Permit {
  if (!permit) throw new Error('expected the lock to be free');
  return permit;
}

describe('RWLock sharing and exclusion', () => {
  it('lets several readers hold the lock at once', async () => {
    const lock = new RWLock();
    const a = await lock.acquireRead();
    const b = await lock.acquireRead();
    expect(lock.readers).toBe(2);
    expect(lock.writing).toBe(false);
    a.release();
    b.release();
    expect(lock.readers).toBe(0);
  });

  it('makes a reader wait while a writer holds the lock', async () => {
    const lock = new RWLock();
    const log: string[] = [];
    const writer = await lock.acquireWrite();
    const reader = logged(lock.acquireRead(), log, 'reader');
    await turns(10);
    expect(log).toEqual([]);
    expect(lock.readers).toBe(0);
    writer.release();
    (await reader).release();
    expect(log).toEqual(['reader']);
  });

  it('makes a writer wait while another writer holds the lock', async () => {
    const lock = new RWLock();
    const log: string[] = [];
    const first = await lock.acquireWrite();
    const second = logged(lock.acquireWrite(), log, 'second');
    await turns(10);
    expect(log).toEqual([]);
    expect(lock.waiting).toBe(1);
    first.release();
    expect(lock.writing).toBe(true);
    (await second).release();
    expect(lock.writing).toBe(false);
  });

  it('makes a writer wait until every current reader has left', async () => {
    const lock = new RWLock();
    const log: string[] = [];
    const a = await lock.acquireRead();
    const b = await lock.acquireRead();
    const writer = logged(lock.acquireWrite(), log, 'writer');
    a.release();
    await turns(10);
    expect(log).toEqual([]);
    expect(lock.writing).toBe(false);
    b.release();
    expect(lock.writing).toBe(true);
    (await writer).release();
    expect(log).toEqual(['writer']);
  });
});

describe('RWLock fairness', () => {
  it('blocks a new reader while a writer waits (writer preference)', async () => {
    const lock = new RWLock();
    const log: string[] = [];
    const first = await lock.acquireRead();
    const writer = logged(lock.acquireWrite(), log, 'writer');
    const late = logged(lock.acquireRead(), log, 'late reader');
    await turns(10);
    expect(log).toEqual([]);
    expect(lock.readers).toBe(1);
    expect(lock.waiting).toBe(2);

    first.release();
    // The writer gets the lock; the late reader is still behind it.
    expect(lock.writing).toBe(true);
    expect(lock.readers).toBe(0);
    const w = await writer;
    await turns(10);
    expect(log).toEqual(['writer']);
    w.release();
    (await late).release();
    expect(log).toEqual(['writer', 'late reader']);
  });

  it('admits every reader queued behind a writer together when it releases', async () => {
    const lock = new RWLock();
    const writer = await lock.acquireWrite();
    const readers = [lock.acquireRead(), lock.acquireRead(), lock.acquireRead()];
    expect(lock.waiting).toBe(3);
    writer.release();
    expect(lock.readers).toBe(3);
    expect(lock.waiting).toBe(0);
    for (const permit of await Promise.all(readers)) permit.release();
    expect(lock.readers).toBe(0);
  });

  it('admits only the readers ahead of the next waiting writer', async () => {
    const lock = new RWLock();
    const log: string[] = [];
    const first = await lock.acquireWrite();
    const r1 = logged(lock.acquireRead(), log, 'r1');
    const r2 = logged(lock.acquireRead(), log, 'r2');
    const w2 = logged(lock.acquireWrite(), log, 'w2');
    const r3 = logged(lock.acquireRead(), log, 'r3');
    first.release();
    expect(lock.readers).toBe(2);
    expect(lock.waiting).toBe(2);
    (await r1).release();
    (await r2).release();
    expect(lock.writing).toBe(true);
    (await w2).release();
    expect(lock.readers).toBe(1);
    (await r3).release();
    expect(log).toEqual(['r1', 'r2', 'w2', 'r3']);
  });
});

describe('RWLock try twins', () => {
  it('tryAcquireRead succeeds alongside readers', () => {
    const lock = new RWLock();
    const a = take(lock.tryAcquireRead());
    const b = take(lock.tryAcquireRead());
    expect(lock.readers).toBe(2);
    a.release();
    b.release();
  });

  it('tryAcquireRead fails while a writer holds the lock', () => {
    const lock = new RWLock();
    const writer = take(lock.tryAcquireWrite());
    expect(lock.tryAcquireRead()).toBeUndefined();
    expect(lock.readers).toBe(0);
    writer.release();
  });

  it('tryAcquireRead fails while a writer waits', async () => {
    const lock = new RWLock();
    const reader = take(lock.tryAcquireRead());
    const writer = lock.acquireWrite();
    expect(lock.tryAcquireRead()).toBeUndefined();
    expect(lock.readers).toBe(1);
    reader.release();
    (await writer).release();
  });

  it('tryAcquireWrite fails while a reader holds the lock', () => {
    const lock = new RWLock();
    const reader = take(lock.tryAcquireRead());
    expect(lock.tryAcquireWrite()).toBeUndefined();
    expect(lock.writing).toBe(false);
    reader.release();
    take(lock.tryAcquireWrite()).release();
  });

  it('tryAcquireWrite fails while a writer holds the lock', () => {
    const lock = new RWLock();
    const writer = take(lock.tryAcquireWrite());
    expect(lock.tryAcquireWrite()).toBeUndefined();
    writer.release();
    expect(lock.writing).toBe(false);
  });

  it('tryAcquireWrite fails in the tick the lock is handed to a waiter', async () => {
    const lock = new RWLock();
    const writer = take(lock.tryAcquireWrite());
    const reader = lock.acquireRead();
    writer.release();
    expect(lock.tryAcquireWrite()).toBeUndefined();
    (await reader).release();
    take(lock.tryAcquireWrite()).release();
  });
});

describe('RWLock run helpers', () => {
  it('runRead holds a read lock while fn runs and returns its value', async () => {
    const lock = new RWLock();
    const value = await lock.runRead(() => {
      expect(lock.readers).toBe(1);
      return 'read';
    });
    expect(value).toBe('read');
    expect(lock.readers).toBe(0);
  });

  it('runWrite holds the write lock while fn runs and returns its value', async () => {
    const lock = new RWLock();
    const value = await lock.runWrite(() => {
      expect(lock.writing).toBe(true);
      return Promise.resolve('written');
    });
    expect(value).toBe('written');
    expect(lock.writing).toBe(false);
  });

  it('runRead releases the read lock when fn throws', async () => {
    const lock = new RWLock();
    await expect(
      lock.runRead(() => {
        throw new Error('read failed');
      }),
    ).rejects.toThrow('read failed');
    expect(lock.readers).toBe(0);
  });

  it('runWrite releases the write lock when fn rejects', async () => {
    const lock = new RWLock();
    await expect(lock.runWrite(() => Promise.reject(new Error('write failed')))).rejects.toThrow(
      'write failed',
    );
    expect(lock.writing).toBe(false);
  });
});

describe('RWLock abort', () => {
  it('rejects an aborted queued writer with an abort error carrying the reason', async () => {
    const lock = new RWLock();
    const reader = await lock.acquireRead();
    const controller = new AbortController();
    const writer = lock.acquireWrite({ signal: controller.signal });
    const reason = new Error('stop writing');
    controller.abort(reason);
    const error = await rejectionOf(writer);
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe(reason);
    expect(lock.waiting).toBe(0);
    expect(listeners(controller.signal)).toBe(0);
    reader.release();
    expect(lock.writing).toBe(false);
  });

  it('admits the readers queued behind a writer as soon as that writer aborts', async () => {
    const lock = new RWLock();
    const holder = await lock.acquireRead();
    const controller = new AbortController();
    const writer = lock.acquireWrite({ signal: controller.signal });
    const behind = [lock.acquireRead(), lock.acquireRead()];
    expect(lock.waiting).toBe(3);
    controller.abort('writer gave up');
    // At once, not when the current reader leaves.
    expect(lock.readers).toBe(3);
    expect(lock.waiting).toBe(0);
    expect(isAbortError(await rejectionOf(writer))).toBe(true);
    for (const permit of await Promise.all(behind)) permit.release();
    holder.release();
    expect(lock.readers).toBe(0);
  });

  it('keeps readers behind an aborted writer waiting if another writer is ahead', async () => {
    const lock = new RWLock();
    const log: string[] = [];
    const holder = await lock.acquireRead();
    const controller = new AbortController();
    const first = logged(lock.acquireWrite(), log, 'first writer');
    const aborted = lock.acquireWrite({ signal: controller.signal });
    const reader = logged(lock.acquireRead(), log, 'reader');
    controller.abort('second writer gave up');
    expect(isAbortError(await rejectionOf(aborted))).toBe(true);
    expect(lock.readers).toBe(1);
    expect(lock.waiting).toBe(2);
    holder.release();
    (await first).release();
    (await reader).release();
    expect(log).toEqual(['first writer', 'reader']);
  });

  it('passes the lock on to the readers behind a writer aborted in the tick it was granted', async () => {
    const lock = new RWLock();
    const holder = await lock.acquireRead();
    const controller = new AbortController();
    const writer = lock.acquireWrite({ signal: controller.signal });
    const reader = lock.acquireRead();
    holder.release(); // hands the lock to the writer, whose continuation has not run
    expect(lock.writing).toBe(true);
    controller.abort('too late');
    const error = await rejectionOf(writer);
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe('too late');
    expect(lock.writing).toBe(false);
    expect(lock.readers).toBe(1);
    (await reader).release();
    expect(lock.readers).toBe(0);
  });

  it('rejects an aborted queued reader and does not count it as a reader later', async () => {
    const lock = new RWLock();
    const writer = await lock.acquireWrite();
    const controller = new AbortController();
    const aborted = lock.acquireRead({ signal: controller.signal });
    const other = lock.acquireRead();
    controller.abort('stop reading');
    const error = await rejectionOf(aborted);
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe('stop reading');
    expect(lock.waiting).toBe(1);
    expect(listeners(controller.signal)).toBe(0);
    writer.release();
    expect(lock.readers).toBe(1);
    (await other).release();
    expect(lock.readers).toBe(0);
  });

  it('lets the writer behind an aborted reader take the lock when the holder leaves', async () => {
    const lock = new RWLock();
    const holder = await lock.acquireWrite();
    const controller = new AbortController();
    const aborted = lock.acquireRead({ signal: controller.signal });
    const writer = lock.acquireWrite();
    controller.abort('stop reading');
    expect(isAbortError(await rejectionOf(aborted))).toBe(true);
    holder.release();
    expect(lock.writing).toBe(true);
    expect(lock.readers).toBe(0);
    (await writer).release();
    expect(lock.writing).toBe(false);
  });

  it('rejects at once for an already aborted signal, even when the lock is free', async () => {
    const lock = new RWLock();
    const error = await rejectionOf(lock.acquireRead({ signal: AbortSignal.abort('early') }));
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe('early');
    expect(lock.readers).toBe(0);
    expect(lock.waiting).toBe(0);
  });
});

describe('RWLock options', () => {
  it('defaults the name to "RWLock" and exposes a given name and rank', () => {
    expect(new RWLock().name).toBe('RWLock');
    expect(new RWLock().rank).toBeUndefined();
    const lock = new RWLock({ name: 'index', rank: 3 });
    expect(lock.name).toBe('index');
    expect(lock.rank).toBe(3);
  });

  it('rejects an invalid rank naming the field and the value', () => {
    expect(() => new RWLock({ rank: -1 })).toThrow(RangeError);
    expect(() => new RWLock({ rank: -1 })).toThrow(/^options\.rank must be .*got -1 \(number\)$/);
  });
});
