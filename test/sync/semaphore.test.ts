import { describe, expect, it } from 'vitest';
import { Semaphore, isAbortError, type Permit } from '../../src/index.js';
import { turns } from '../helpers/steps.js';

describe('Semaphore', () => {
  it('grants up to its capacity at once', async () => {
    const sem = new Semaphore(3);
    await sem.acquire(2);
    await sem.acquire(1);
    expect(sem.available).toBe(0);
    expect(sem.tryAcquire()).toBeUndefined();
  });

  it('makes a caller wait until enough capacity is released', async () => {
    const sem = new Semaphore(2);
    const held = await sem.acquire(2);
    let granted = false;
    const waiting = sem.acquire(1).then((p) => ((granted = true), p));
    await turns(5);
    expect(granted).toBe(false);
    expect(sem.waiting).toBe(1);
    held.release();
    (await waiting).release();
    expect(granted).toBe(true);
    expect(sem.available).toBe(2);
  });

  it('serves waiters in arrival order', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const order: number[] = [];
    const waiters = [0, 1, 2].map((i) =>
      sem.acquire().then((p) => {
        order.push(i);
        p.release();
      }),
    );
    held.release();
    await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2]);
  });

  it('does not let a small request overtake a waiting large one', async () => {
    const sem = new Semaphore(3);
    const first = await sem.acquire(2);
    const order: string[] = [];
    const large = sem.acquire(3).then((p) => (order.push('large'), p));
    const small = sem.acquire(1).then((p) => (order.push('small'), p));
    await turns(5);
    // One unit is free, enough for the small request, but the large one is first in line.
    expect(order).toEqual([]);
    expect(sem.tryAcquire(1)).toBeUndefined();
    first.release();
    (await large).release();
    (await small).release();
    expect(order).toEqual(['large', 'small']);
  });

  it('serves the next waiter when the head waiter is aborted', async () => {
    const sem = new Semaphore(3);
    const first = await sem.acquire(2);
    const controller = new AbortController();
    const large = sem.acquire(3, { signal: controller.signal });
    const small = sem.acquire(1);
    controller.abort('changed my mind');
    await expect(large).rejects.toSatisfy(isAbortError);
    // The small request fits in the unit that was free all along.
    (await small).release();
    first.release();
    expect(sem.available).toBe(3);
    expect(sem.waiting).toBe(0);
  });

  it('rejects an aborted wait with the reason as cause and keeps no capacity', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiting = sem.acquire(1, { signal: controller.signal });
    controller.abort('stop');
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED', cause: 'stop' });
    held.release();
    expect(sem.available).toBe(1);
  });

  it('rejects an already-aborted signal even when capacity is free', async () => {
    const sem = new Semaphore(1);
    await expect(sem.acquire(1, { signal: AbortSignal.abort() })).rejects.toSatisfy(isAbortError);
    expect(sem.available).toBe(1);
  });

  it('gives the permit back when the abort lands in the tick it is granted', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const waiting = sem.acquire(1, { signal: controller.signal });
    held.release(); // grants the waiter synchronously…
    controller.abort('too late'); // …and the abort lands before its continuation runs
    await expect(waiting).rejects.toSatisfy(isAbortError);
    expect(sem.available).toBe(1);
  });

  it('release is idempotent', async () => {
    const sem = new Semaphore(2);
    const permit = await sem.acquire();
    await sem.acquire();
    permit.release();
    permit.release();
    expect(permit.released).toBe(true);
    expect(sem.available).toBe(1);
  });

  it('releases through a using declaration', async () => {
    const sem = new Semaphore(1);
    {
      using permit = await sem.acquire();
      expect(permit.weight).toBe(1);
      expect(sem.available).toBe(0);
    }
    expect(sem.available).toBe(1);
  });

  it('run holds the weight while fn runs and releases when it throws', async () => {
    const sem = new Semaphore(4);
    const seen = await sem.run(() => sem.available, { weight: 3 });
    expect(seen).toBe(1);
    await expect(
      sem.run(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(sem.available).toBe(4);
  });

  it('tryAcquire takes free capacity without waiting', () => {
    const sem = new Semaphore(2);
    const permit = sem.tryAcquire(2) as Permit;
    expect(permit.weight).toBe(2);
    expect(sem.tryAcquire()).toBeUndefined();
    permit.release();
    expect(sem.tryAcquire()).toBeDefined();
  });

  describe('validation', () => {
    it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
      'rejects capacity %s',
      (capacity) => {
        expect(() => new Semaphore(capacity)).toThrow(RangeError);
        expect(() => new Semaphore(capacity)).toThrow('capacity must be a positive integer');
      },
    );

    it('rejects a capacity that is not a number', () => {
      expect(() => new Semaphore('2' as unknown as number)).toThrow(TypeError);
      expect(() => new Semaphore('2' as unknown as number)).toThrow('got "2" (string)');
    });

    it('rejects a weight above capacity with a message naming both', async () => {
      const sem = new Semaphore(2);
      await expect(sem.acquire(3)).rejects.toThrow(
        new RangeError('weight must be an integer from 1 to 2, got 3 (number)'),
      );
      expect(() => sem.tryAcquire(3)).toThrow(RangeError);
    });

    it.each([0, -1, 0.5, Number.NaN])('rejects weight %s', async (weight) => {
      const sem = new Semaphore(2);
      await expect(sem.acquire(weight)).rejects.toThrow(/weight must be an integer/);
    });

    it('rejects a signal that is not an AbortSignal', async () => {
      const sem = new Semaphore(1);
      await expect(sem.acquire(1, { signal: 'x' as unknown as AbortSignal })).rejects.toThrow(
        /options\.signal must be an AbortSignal/,
      );
    });

    it('takes a name and rank for lock-order checking', () => {
      const sem = new Semaphore(1, { name: 'db', rank: 3 });
      expect(sem.name).toBe('db');
      expect(sem.rank).toBe(3);
      expect(new Semaphore(1).name).toBe('Semaphore');
      expect(() => new Semaphore(1, { rank: -1 })).toThrow(
        /options\.rank must be a non-negative integer/,
      );
      expect(() => new Semaphore(1, { name: '' })).toThrow(
        /options\.name must be a non-empty string/,
      );
    });
  });
});
