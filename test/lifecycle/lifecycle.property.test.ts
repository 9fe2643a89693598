/**
 * Lifecycle under random component graphs, start behaviours and stop() timings: whatever
 * the interleaving, no component is left running, dependents stop before what they use,
 * and both start() and stop() settle. fast-check's scheduler orders every start, stop
 * and passing of (fake) time.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Lifecycle } from '../../src/index.js';

/**
 * - `cooperative`: starts when scheduled, or rejects at once when its signal aborts;
 * - `ignores-abort`: starts when scheduled, abort or not;
 * - `fails`: rejects when scheduled;
 * - `hangs`: never settles and ignores its abort.
 */
type StartKind = 'cooperative' | 'ignores-abort' | 'fails' | 'hangs';

const GRACE_MS = 50;
const ABORT_GRACE_MS = 50;
const TICK_MS = 30;

const graph = fc.integer({ min: 1, max: 6 }).chain((n) =>
  fc.tuple(
    ...Array.from({ length: n }, (_, i) =>
      fc.record({
        deps: fc.subarray(Array.from({ length: i }, (_, j) => j)),
        start: fc.constantFrom<StartKind>('cooperative', 'ignores-abort', 'fails', 'hangs'),
      }),
    ),
  ),
);

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Lifecycle, whatever the interleaving', () => {
  it('stops every component that started, dependents first, and settles start() and stop()', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        graph,
        fc.integer({ min: 0, max: 4 }),
        async (s, specs, ticks) => {
          let clock = 0;
          const startedAt = new Map<number, number>();
          const stopCalledAt = new Map<number, number>();
          const stopCalls = new Map<number, number>();
          const app = new Lifecycle({ graceMs: GRACE_MS, abortGraceMs: ABORT_GRACE_MS });
          specs.forEach((spec, i) => {
            app.add(
              `c${i}`,
              {
                start: ({ signal }) => {
                  if (spec.start === 'hangs') return new Promise(() => {});
                  const scheduled = s.schedule(Promise.resolve(`start c${i}`)).then(() => {
                    if (spec.start === 'fails') throw new Error(`c${i} failed`);
                  });
                  const settles =
                    spec.start === 'cooperative'
                      ? new Promise<void>((resolve, reject) => {
                          signal.addEventListener('abort', () => reject(new Error('aborted')), {
                            once: true,
                          });
                          scheduled.then(resolve, reject);
                        })
                      : scheduled;
                  // Recorded as the Lifecycle sees it: when the start it was given resolves.
                  return settles.then(() => void startedAt.set(i, ++clock));
                },
                stop: () => {
                  stopCalledAt.set(i, ++clock);
                  stopCalls.set(i, (stopCalls.get(i) ?? 0) + 1);
                  return s.schedule(Promise.resolve(`stop c${i}`));
                },
              },
              { dependsOn: spec.deps.map((d) => `c${d}`) },
            );
          });

          let startSettled = false;
          const starting = app.start().then(
            () => (startSettled = true),
            () => (startSettled = true),
          );
          let stopped = false;
          let unstoppedAtResolve: number[] = [];
          const stopping = s
            .schedule(Promise.resolve('stop()'))
            .then(() => app.stop())
            .then(() => {
              stopped = true;
              // A component that started by now must have been stopped by now.
              unstoppedAtResolve = [...startedAt.keys()].filter((i) => !stopCalledAt.has(i));
            });
          for (let t = 0; t < ticks; t++) {
            void s
              .schedule(Promise.resolve(`${TICK_MS} ms pass`))
              .then(() => vi.advanceTimersByTimeAsync(TICK_MS));
          }

          // Drain: run what is scheduled, let time pass for graces, until both settle.
          for (let round = 0; round < 20 && !(stopped && startSettled); round++) {
            await s.waitAll();
            await vi.advanceTimersByTimeAsync(GRACE_MS + ABORT_GRACE_MS);
          }
          await s.waitAll();
          await vi.advanceTimersByTimeAsync(GRACE_MS + ABORT_GRACE_MS);
          await s.waitAll();
          await Promise.all([starting, stopping]);

          expect(stopped).toBe(true);
          expect(startSettled).toBe(true);
          expect(unstoppedAtResolve).toEqual([]);
          // Every component that started was stopped exactly once; no other was stopped.
          expect([...stopCalls.keys()].sort()).toEqual([...startedAt.keys()].sort());
          for (const calls of stopCalls.values()) expect(calls).toBe(1);
          // A dependent that was up when its dependency began to stop was stopped first.
          specs.forEach((spec, x) => {
            for (const d of spec.deps) {
              const dStop = stopCalledAt.get(d);
              const xStart = startedAt.get(x);
              if (dStop === undefined || xStart === undefined || xStart > dStop) continue;
              expect(stopCalledAt.get(x)).toBeLessThan(dStop);
            }
          });
          expect(vi.getTimerCount()).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
