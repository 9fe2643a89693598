import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedSemaphore, isAbortError, type Permit } from '../../src/index.js';
import { deferred } from '../helpers/deferred.js';
import { turns } from '../helpers/steps.js';

describe('KeyedSemaphore', () => {
  it('lets `limit` holders of one key in and makes the next wait', async () => {
    const perKey = new KeyedSemaphore({ limit: 2 });
    const a = await perKey.acquire('h');
    const b = await perKey.acquire('h');
    expect(perKey.available('h')).toBe(0);
    let third: Permit | undefined;
    const waiting = perKey.acquire('h').then((permit) => (third = permit));
    await turns(5);
    expect(third).toBeUndefined();
    a.release();
    await waiting;
    expect(perKey.available('h')).toBe(0);
    b.release();
    third?.release();
    expect(perKey.available('h')).toBe(2);
    expect(perKey.size).toBe(0);
  });

  it('never delays one key for another that is full', async () => {
    const perKey = new KeyedSemaphore({ limit: 1 });
    const held = await perKey.acquire('busy');
    const queued = perKey.acquire('busy');
    const other = await perKey.acquire('free');
    expect(perKey.available('free')).toBe(0);
    other.release();
    held.release();
    (await queued).release();
  });

  it('serves the waiters of a key in arrival order', async () => {
    const perKey = new KeyedSemaphore({ limit: 2 });
    const holders = [await perKey.acquire('k'), await perKey.acquire('k')];
    const order: number[] = [];
    const waiters = [0, 1, 2].map((i) =>
      perKey.acquire('k').then((permit) => {
        order.push(i);
        return permit;
      }),
    );
    for (const holder of holders) holder.release();
    const [first, second] = await Promise.all(waiters.slice(0, 2));
    first?.release();
    second?.release();
    (await waiters[2])?.release();
    expect(order).toEqual([0, 1, 2]);
  });

  it('removes a waiter whose signal aborts, and frees the key when nobody is left', async () => {
    const perKey = new KeyedSemaphore({ limit: 1 });
    const held = await perKey.acquire('k');
    const controller = new AbortController();
    const waiting = perKey.acquire('k', { signal: controller.signal });
    controller.abort();
    const error: unknown = await waiting.catch((e: unknown) => e);
    expect(isAbortError(error)).toBe(true);
    held.release();
    expect(perKey.size).toBe(0);
  });

  it('run holds a place while fn runs and gives it back when fn settles', async () => {
    const perKey = new KeyedSemaphore({ limit: 1 });
    const gate = deferred<void>();
    const running = perKey.run('k', () => gate.promise);
    await turns(2);
    expect(perKey.available('k')).toBe(0);
    gate.resolve();
    await running;
    expect(perKey.available('k')).toBe(1);
    await expect(perKey.run('k', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(perKey.size).toBe(0);
  });

  it('never has more than `limit` holders of a key at once, whatever the interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 12 }),
        async (s, limit, keys) => {
          const perKey = new KeyedSemaphore({ limit });
          const inside = new Map<string, number>();
          let worst = 0;
          const runs = keys.map((key) =>
            perKey.run(key, async () => {
              const now = (inside.get(key) ?? 0) + 1;
              inside.set(key, now);
              worst = Math.max(worst, now);
              await s.schedule(Promise.resolve());
              inside.set(key, (inside.get(key) ?? 1) - 1);
            }),
          );
          await s.waitFor(Promise.all(runs));
          expect(worst).toBeLessThanOrEqual(limit);
          expect(perKey.size).toBe(0);
        },
      ),
    );
  });

  it.each([
    [undefined, /options must be an object/],
    [{}, /options.limit must be a positive integer, got undefined/],
    [{ limit: 0 }, /options.limit must be a positive integer, got 0/],
    [{ limit: 2, size: 3 }, /size/],
    [{ limit: 2, rank: -1 }, /options.rank/],
  ])('refuses %j', (options, message) => {
    expect(() => new KeyedSemaphore(options as never)).toThrow(message);
  });
});
