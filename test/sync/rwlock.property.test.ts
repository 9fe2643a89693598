import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RWLock, isAbortError, type Permit } from '../../src/index.js';

type Mode = 'read' | 'write';

interface Request {
  readonly mode: Mode;
  /** Abort the request at a scheduled point (which may come before, during or after its wait). */
  readonly abort: boolean;
  /** Scheduled points the flow holds the lock across once it has it. */
  readonly hold: number;
}

const requests = fc.array(
  fc.record({
    mode: fc.constantFrom<Mode>('read', 'write'),
    abort: fc.boolean(),
    hold: fc.integer({ min: 1, max: 3 }),
  }),
  { minLength: 1, maxLength: 10 },
);

/** What happened to one request, as positions in a single event sequence. */
interface Outcome {
  readonly mode: Mode;
  requestedAt?: number;
  grantedAt?: number;
  aborted: boolean;
}

describe('RWLock properties', () => {
  it('excludes writers, keeps writer preference and ends free, whatever the interleaving', async () => {
    let runs = 0;
    // Guards against a vacuous property: the interesting cases must actually occur.
    let preferenceChecks = 0;
    let abortedRequests = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), requests, async (s, reqs: Request[]) => {
        runs++;
        const lock = new RWLock();
        let seq = 0;
        // Flows that have observed their grant and not yet released.
        let activeReaders = 0;
        let activeWriters = 0;
        const outcomes: Outcome[] = reqs.map((r) => ({ mode: r.mode, aborted: false }));

        const checkExclusion = (): void => {
          expect(activeWriters).toBeLessThanOrEqual(1);
          if (activeWriters === 1) expect(activeReaders).toBe(0);
          expect(lock.writing && lock.readers > 0).toBe(false);
          // The lock counts at least the holders the flows know about.
          expect(lock.readers).toBeGreaterThanOrEqual(activeReaders);
          if (activeWriters === 1) expect(lock.writing).toBe(true);
        };

        const flows = reqs.map(async (request, i) => {
          const outcome = outcomes[i];
          if (!outcome) throw new Error('missing outcome');
          const controller = new AbortController();
          if (request.abort) {
            void s
              .schedule(Promise.resolve(`abort ${i}`))
              .then(() => controller.abort(`abort ${i}`));
          }
          await s.schedule(Promise.resolve(`${request.mode} ${i}`));
          outcome.requestedAt = seq++;
          let permit: Permit;
          try {
            permit = await (request.mode === 'read'
              ? lock.acquireRead({ signal: controller.signal })
              : lock.acquireWrite({ signal: controller.signal }));
          } catch (error) {
            expect(isAbortError(error)).toBe(true);
            expect(request.abort).toBe(true);
            outcome.aborted = true;
            abortedRequests++;
            checkExclusion();
            return;
          }
          outcome.grantedAt = seq++;
          if (request.mode === 'read') activeReaders++;
          else activeWriters++;
          checkExclusion();
          for (let h = 0; h < request.hold; h++) {
            await s.schedule(Promise.resolve(`hold ${i}.${h}`));
            checkExclusion();
          }
          if (request.mode === 'read') activeReaders--;
          else activeWriters--;
          permit.release();
          checkExclusion();
        });

        // waitFor (unlike waitAll) keeps releasing points that flows schedule a few
        // microtasks after the previous point ran, e.g. after a lock hand-off.
        await s.waitFor(Promise.all(flows));
        // Abort points still pending belong to flows that already finished.
        await s.waitAll();

        // Writer preference: a read requested while a (non-aborted) writer was waiting
        // is granted after that writer.
        for (const w of outcomes) {
          if (w.mode !== 'write' || w.aborted) continue;
          const wRequested = w.requestedAt;
          const wGranted = w.grantedAt;
          if (wRequested === undefined || wGranted === undefined) {
            throw new Error('a writer that did not abort was never granted');
          }
          for (const r of outcomes) {
            if (r.mode !== 'read' || r.aborted || r.requestedAt === undefined) continue;
            if (r.requestedAt > wRequested && r.requestedAt < wGranted) {
              expect(r.grantedAt).toBeGreaterThan(wGranted);
              preferenceChecks++;
            }
          }
        }
        for (const o of outcomes) expect(o.aborted || o.grantedAt !== undefined).toBe(true);
        expect(activeReaders).toBe(0);
        expect(activeWriters).toBe(0);
        expect(lock.readers).toBe(0);
        expect(lock.writing).toBe(false);
        expect(lock.waiting).toBe(0);
      }),
      { numRuns: 500 },
    );
    expect(runs).toBe(500);
    expect(preferenceChecks).toBeGreaterThan(0);
    expect(abortedRequests).toBeGreaterThan(0);
  });
});
