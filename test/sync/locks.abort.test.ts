import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { KeyedMutex, Mutex, RWLock, isAbortError, type Permit } from '../../src/index.js';
import { abortAtEveryStep, turns } from '../helpers/steps.js';

type Outcome = 'granted' | 'aborted';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/**
 * Settles an abortable acquire: releases the permit if it was granted, else checks it
 * rejected with an abort error caused by the signal's reason.
 */
async function outcomeOf(acquiring: Promise<Permit>, signal: AbortSignal): Promise<Outcome> {
  let permit: Permit;
  try {
    permit = await acquiring;
  } catch (error) {
    expect(isAbortError(error)).toBe(true);
    expect(signal.aborted).toBe(true);
    expect((error as Error).cause).toBe(signal.reason);
    return 'aborted';
  }
  permit.release();
  return 'granted';
}

/** Takes a permit that a fresh lock must grant at once. */
function take(permit: Permit | undefined): Permit {
  if (!permit) throw new Error('expected the lock to be free');
  return permit;
}

describe('lock acquires aborted at every step', () => {
  it('Mutex.acquire leaves the mutex free and no listener behind', async () => {
    const seen = new Set<Outcome>();
    const steps = await abortAtEveryStep(async (signal) => {
      const mutex = new Mutex();
      const holder = take(mutex.tryAcquire());
      const releasing = turns(3).then(() => holder.release());
      const acquiring = mutex.acquire({ signal });
      // Someone queued behind must get the lock whatever happened to the aborted caller.
      const behind = mutex.acquire().then((permit) => permit.release());
      seen.add(await outcomeOf(acquiring, signal));
      await Promise.all([releasing, behind]);
      expect(mutex.locked).toBe(false);
      expect(mutex.waiting).toBe(0);
      expect(listeners(signal)).toBe(0);
    });
    expect(steps).toBeGreaterThanOrEqual(3);
    expect([...seen].sort()).toEqual(['aborted', 'granted']);
  });

  it('RWLock.acquireWrite held by readers leaves the lock free and no listener behind', async () => {
    const seen = new Set<Outcome>();
    const steps = await abortAtEveryStep(async (signal) => {
      const lock = new RWLock();
      const r1 = take(lock.tryAcquireRead());
      const r2 = take(lock.tryAcquireRead());
      const releasing = Promise.all([
        turns(2).then(() => r1.release()),
        turns(4).then(() => r2.release()),
      ]);
      const acquiring = lock.acquireWrite({ signal });
      // A reader queued behind the writer: admitted after it, or at once if it aborts.
      const behind = lock.acquireRead().then((permit) => permit.release());
      seen.add(await outcomeOf(acquiring, signal));
      await Promise.all([releasing, behind]);
      expect(lock.readers).toBe(0);
      expect(lock.writing).toBe(false);
      expect(lock.waiting).toBe(0);
      expect(listeners(signal)).toBe(0);
    });
    expect(steps).toBeGreaterThanOrEqual(3);
    expect([...seen].sort()).toEqual(['aborted', 'granted']);
  });

  it('RWLock.acquireRead held by a writer leaves the lock free and no listener behind', async () => {
    const seen = new Set<Outcome>();
    const steps = await abortAtEveryStep(async (signal) => {
      const lock = new RWLock();
      const writer = take(lock.tryAcquireWrite());
      const releasing = turns(3).then(() => writer.release());
      const acquiring = lock.acquireRead({ signal });
      const behind = lock.acquireWrite().then((permit) => permit.release());
      seen.add(await outcomeOf(acquiring, signal));
      await Promise.all([releasing, behind]);
      expect(lock.readers).toBe(0);
      expect(lock.writing).toBe(false);
      expect(lock.waiting).toBe(0);
      expect(listeners(signal)).toBe(0);
    });
    expect(steps).toBeGreaterThanOrEqual(3);
    expect([...seen].sort()).toEqual(['aborted', 'granted']);
  });

  it('KeyedMutex.acquire frees the entry and leaves no listener behind', async () => {
    const seen = new Set<Outcome>();
    const steps = await abortAtEveryStep(async (signal) => {
      const keyed = new KeyedMutex();
      const holder = take(keyed.tryAcquire('k'));
      const releasing = turns(3).then(() => holder.release());
      const acquiring = keyed.acquire('k', { signal });
      const behind = keyed.acquire('k').then((permit) => permit.release());
      seen.add(await outcomeOf(acquiring, signal));
      await Promise.all([releasing, behind]);
      expect(keyed.isLocked('k')).toBe(false);
      expect(keyed.size).toBe(0);
      expect(listeners(signal)).toBe(0);
    });
    expect(steps).toBeGreaterThanOrEqual(3);
    expect([...seen].sort()).toEqual(['aborted', 'granted']);
  });
});

describe('lock listener hygiene', () => {
  it('leaves no abort listener on a long-lived signal after 100,000 Mutex acquires', async () => {
    const mutex = new Mutex();
    const { signal } = new AbortController();
    let waited = 0;
    for (let i = 0; i < 100_000; i++) {
      // Every other acquire finds the mutex held and has to wait, adding a listener.
      const holder = i % 2 === 0 ? take(mutex.tryAcquire()) : undefined;
      const acquiring = mutex.acquire({ signal });
      if (holder) {
        expect(mutex.waiting).toBe(1);
        waited++;
        holder.release();
      }
      (await acquiring).release();
    }
    expect(waited).toBe(50_000);
    expect(mutex.locked).toBe(false);
    expect(listeners(signal)).toBe(0);
  });
});
