/**
 * Property: whatever the mix of paths (submit, run, joins, retries, two types) and of
 * keys becoming held and free, no attempt of a keyed job starts while its tracker holds
 * its key, a submit of a held key that joins nothing is skipped at once, and every job
 * ends exactly once with its skips counted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EventBus,
  WorkPool,
  type Job,
  type JobView,
  type KeyTracker,
  type PoolEvents,
} from '../../src/index.js';
import { flush } from './work-pool.helpers.js';

type Op =
  | {
      readonly kind: 'submit' | 'run';
      readonly type: 'a' | 'b';
      readonly key: string | undefined;
      readonly fails: boolean;
    }
  | { readonly kind: 'hold' | 'free'; readonly key: string }
  | { readonly kind: 'tick' };

const KEYS = ['k1', 'k2'];

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('submit' as const, 'run' as const),
    type: fc.constantFrom('a' as const, 'b' as const),
    key: fc.option(fc.constantFrom(...KEYS), { nil: undefined }),
    fails: fc.boolean(),
  }),
  fc.record({
    kind: fc.constantFrom('hold' as const, 'free' as const),
    key: fc.constantFrom(...KEYS),
  }),
  fc.constant({ kind: 'tick' as const }),
);

describe('WorkPool with a failure tracker (property)', () => {
  it('never starts an attempt of a held key, on any path', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const held = new Set<string>();
        const tracker: KeyTracker = {
          check: (key) => (held.has(key) ? { reason: 'backoff', eligibleAt: 1 } : undefined),
          begin: () =>
            Promise.resolve({
              succeeded: () => Promise.resolve(),
              failed: () => Promise.resolve(),
              released: () => Promise.resolve(),
            }),
        };
        const bus = new EventBus<PoolEvents>();
        const startedHeld: JobView[] = [];
        const finished = new Map<string, number>();
        bus.on('job.started', (view) => {
          if (view.key !== undefined && held.has(view.key)) startedHeld.push(view);
        });
        bus.on('job.finished', (view) => finished.set(view.id, (finished.get(view.id) ?? 0) + 1));
        const pool = new WorkPool({
          concurrency: 2,
          types: { a: { concurrency: 1 }, b: { concurrency: 1 } },
          tracker,
          bus,
        });
        const jobs: Job<unknown>[] = [];
        const results: Promise<unknown>[] = [];
        for (const o of ops) {
          if (o.kind === 'hold') held.add(o.key);
          else if (o.kind === 'free') held.delete(o.key);
          else if (o.kind === 'tick') await flush();
          else if (o.kind === 'submit' || o.kind === 'run') {
            const { type, key, fails } = o;
            const task = async (): Promise<string> => {
              await Promise.resolve();
              if (fails) throw new Error('fails');
              return 'ok';
            };
            const options = { key, retry: { attempts: 2, baseMs: 0, maxMs: 0 } };
            if (o.kind === 'run') {
              results.push(pool.run(type, task, options).catch(() => {}));
              continue;
            }
            // A job of the key already queued, running or retrying is joined, held or not.
            const snap = pool.snapshot();
            const joinable = [...snap.queued, ...snap.running, ...snap.retrying].some(
              (v) => v.type === type && v.key === key,
            );
            const job = pool.submit(type, task, options);
            jobs.push(job);
            results.push(job.result.catch(() => {}));
            if (key !== undefined && held.has(key) && !joinable) {
              expect(job.status).toBe('skipped');
            }
          }
        }
        await Promise.all(results);
        await pool.onIdle();
        expect(startedHeld).toEqual([]);
        for (const job of jobs) {
          expect(['succeeded', 'failed', 'skipped']).toContain(job.status);
        }
        expect([...finished.values()].every((n) => n === 1)).toBe(true);
        const snap = pool.snapshot();
        const skipped = snap.history.filter((v) => v.status === 'skipped').length;
        expect(snap.counts.skipped).toBe(skipped);
        await pool.close();
      }),
      { numRuns: 150 },
    );
  });
});
