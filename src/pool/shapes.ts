import { Attempt } from './attempt.js';
import { Job } from './job.js';
import { EPOCH, JobRecord } from './job-record.js';
import type { TypeQueue } from './type-queue.js';

/**
 * One instance of each per-job class, kept for the process's life. V8 holds the hidden
 * class that a class's instances end up with only weakly, through the transitions that
 * built it: a full GC that finds no live instance collects it and discards the optimized
 * code that relied on it. Between bursts of work a pool holds no job, so without these
 * the next burst ran unoptimized (measured, one long-lived pool and a forced full GC
 * every 5,000 jobs: 641k jobs/s with no GC, 45k/s with them, 78k/s keeping a record).
 * @internal
 */
function shapes(): readonly object[] {
  const host = {
    ended: noop,
    stalled: noop,
    progress: noop,
    withdraw: () => false,
    view: () => {
      throw new Error('a shape has no view');
    },
  };
  const record = new JobRecord(
    {
      queue: { name: '', index: 0, host } as unknown as TypeQueue,
      task: undefined,
      input: undefined,
      priority: 0,
      key: undefined,
      timeoutMs: undefined,
      waitMs: undefined,
      retry: undefined,
      signal: undefined,
      meta: undefined,
    },
    0,
    0,
    noop,
    EPOCH,
  );
  record.attempt = 1;
  return [record, new Attempt(record, host, undefined), new Job(record, undefined, undefined)];
}

const kept: object[] = [];

/**
 * Makes the kept instances, once per process (every pool's constructor calls it):
 * the per-job ones, and an idle pool made by `makePool` (one type, never used), whose
 * queue, heaps and admission keep the pool's own classes' shapes (a program that makes
 * a pool per burst of work would otherwise lose them at each full GC, as the per-job
 * ones: measured, a pool per 1,000 jobs and a forced full GC every 5,000, 27–43k jobs/s
 * without it, 190–260k/s with it).
 * @internal
 */
export function keepShapes(makePool: () => object): void {
  if (kept.length > 0) return;
  kept.push(...shapes()); // first, so the pool made next does not come back here
  kept.push(makePool());
}

function noop(): void {}
