import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Semaphore, isAbortError } from '../../src/index.js';
import { abortAtEveryStep, turns } from '../helpers/steps.js';

describe('Semaphore abort at every step', () => {
  it('loses no permit and keeps no waiter or listener, wherever the abort lands', async () => {
    const steps = await abortAtEveryStep(async (signal) => {
      const sem = new Semaphore(3);
      const holder = await sem.acquire(2);
      const release = turns(3).then(() => holder.release());
      await turns(1);
      let outcome: 'granted' | 'aborted';
      try {
        const permit = await sem.acquire(2, { signal });
        outcome = 'granted';
        permit.release();
      } catch (error) {
        expect(isAbortError(error)).toBe(true);
        outcome = 'aborted';
      }
      await release;
      expect(['granted', 'aborted']).toContain(outcome);
      expect(sem.available).toBe(3);
      expect(sem.waiting).toBe(0);
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    });
    expect(steps).toBeGreaterThanOrEqual(3);
  });
});

describe('Semaphore listener hygiene', () => {
  it('leaves no abort listener on a long-lived signal after 100,000 acquires', async () => {
    const sem = new Semaphore(1);
    const { signal } = new AbortController();
    let waited = 0;
    for (let i = 0; i < 100_000; i++) {
      // Every other acquire finds the semaphore held and has to wait (adding a listener).
      const holder = i % 2 === 0 ? sem.tryAcquire() : undefined;
      const acquiring = sem.acquire(1, { signal });
      if (holder) {
        waited++;
        expect(getEventListeners(signal, 'abort')).toHaveLength(1);
        holder.release();
      }
      (await acquiring).release();
    }
    expect(waited).toBe(50_000);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});
