import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Semaphore, isAbortError } from '../../src/index.js';

interface Request {
  readonly weight: number;
  /** Abort the request at a scheduled point. */
  readonly abort: boolean;
}

const scenario = fc.integer({ min: 1, max: 4 }).chain((capacity) =>
  fc.record({
    capacity: fc.constant(capacity),
    requests: fc.array(
      fc.record({ weight: fc.integer({ min: 1, max: capacity }), abort: fc.boolean() }),
      { minLength: 1, maxLength: 12 },
    ),
  }),
);

describe('Semaphore properties', () => {
  it('never exceeds capacity, serves waiters FIFO, and gets every permit back', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), scenario, async (s, { capacity, requests }) => {
        const sem = new Semaphore(capacity);
        let inUse = 0;
        const callOrder: number[] = [];
        const grantOrder: number[] = [];

        const flows = requests.map(async (request: Request, i) => {
          const controller = new AbortController();
          if (request.abort) {
            void s
              .schedule(Promise.resolve(`abort ${i}`))
              .then(() => controller.abort(`abort ${i}`));
          }
          await s.schedule(Promise.resolve(`acquire ${i}`));
          callOrder.push(i);
          let permit;
          try {
            permit = await sem.acquire(request.weight, { signal: controller.signal });
          } catch (error) {
            expect(isAbortError(error)).toBe(true);
            expect(request.abort).toBe(true);
            return;
          }
          grantOrder.push(i);
          inUse += request.weight;
          expect(inUse).toBeLessThanOrEqual(capacity);
          // Grants happen at release time, before their continuations run, so the
          // semaphore may know of more holders than have resumed yet.
          expect(sem.available).toBeLessThanOrEqual(capacity - inUse);
          await s.schedule(Promise.resolve(`release ${i}`));
          inUse -= request.weight;
          permit.release();
          expect(sem.available).toBeGreaterThanOrEqual(0);
        });

        await s.waitFor(Promise.all(flows));

        // FIFO: among the requests that were granted, grants follow call order.
        const granted = new Set(grantOrder);
        expect(grantOrder).toEqual(callOrder.filter((i) => granted.has(i)));
        expect(inUse).toBe(0);
        expect(sem.available).toBe(capacity);
        expect(sem.waiting).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});
