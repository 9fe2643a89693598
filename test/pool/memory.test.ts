/**
 * WorkPool memory: a million queued jobs fit, the snapshot lists the first ones in
 * dispatch order without walking the queue, and `close()` cancels them all and lets
 * them go. Heap is measured after forced full GCs; the bounds are generous on purpose:
 * this is about fitting and being reclaimed, not about speed (times are printed only).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { AbortError, ClosedError, type Job, WorkPool } from '../../src/index.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Jobs queued behind the saturated type. */
const N = process.env.CI === undefined ? 1_000_000 : 200_000;
/** Most heap a queued job may take (a JobRecord, its id and a heap slot: a few hundred bytes). */
const BYTES_PER_JOB_BOUND = 2_000;
/**
 * Most of the queue's heap that may stay taken once close has cancelled it: the jobs must
 * all be let go, and so must the queue's backing array (8–12 bytes a slot at its peak
 * length, 2–3 % of what the jobs took, if an emptied heap kept it).
 */
const RECLAIM_FRACTION = 0.01;
/** Slack for what the run itself leaves (compiled code, lazily built runtime structures). */
const RECLAIM_SLACK = 512 * 1024;
/** Distinct priorities, 0 … PRIORITIES − 1. */
const PRIORITIES = 10;
/** Every SAMPLE_EVERY-th job's handle is kept, to check how it ended. */
const SAMPLE_EVERY = 1_000;

/** Heap in use after full collections, each after a macrotask turn. */
async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** A small deterministic generator of priorities (an LCG), so every run queues the same jobs. */
function priorities(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return (state >>> 16) % PRIORITIES;
  };
}

const noop = (): void => {};

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

describe(`WorkPool memory: ${N.toLocaleString('en')} queued jobs`, () => {
  it('fit, are listed in dispatch order, and are all cancelled and reclaimed by close', async () => {
    const pool = new WorkPool({ concurrency: 4, types: { work: { concurrency: 1 } } });
    // One long job saturates the only type: everything submitted after it stays queued.
    let release = noop;
    const blocker = pool.submit(
      'work',
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    expect(blocker.status).toBe('running');

    const before = await heapAfterGc();
    const next = priorities(4);
    /** The first 100 ids submitted at each priority: the dispatch order's candidates. */
    const firstIds: string[][] = Array.from({ length: PRIORITIES }, () => []);
    const samples: Job<void>[] = [];
    let startedAt = performance.now();
    for (let i = 0; i < N; i++) {
      const priority = next();
      const job = pool.submit('work', noop, { priority });
      const ids = firstIds[priority] as string[];
      if (ids.length < 100) ids.push(job.id);
      if (i % SAMPLE_EVERY === 0) samples.push(job);
    }
    const submitMs = performance.now() - startedAt;
    const queuedHeap = await heapAfterGc();
    const bytesPerJob = (queuedHeap - before) / N;
    console.log(
      `WorkPool: ${N.toLocaleString('en')} queued jobs take ${mb(queuedHeap - before)} of heap, ` +
        `${Math.round(bytesPerJob)} bytes per queued job (submitted in ${Math.round(submitMs)} ms)`,
    );
    // The measurement does see the queue (so the bound below is not vacuous) …
    expect(bytesPerJob).toBeGreaterThan(32);
    // … and a queued job costs a bounded number of bytes.
    expect(bytesPerJob).toBeLessThan(BYTES_PER_JOB_BOUND);

    const small = pool.snapshot({ limit: 10 });
    expect(small.counts).toEqual({
      queued: N,
      running: 1,
      retrying: 0,
      succeeded: 0,
      failed: 0,
      cancelled: 0,
      skipped: 0,
    });
    expect(small.types).toEqual({
      work: { running: 1, queued: N, limit: 1, paused: false, heldByRate: false },
    });
    expect(small.queued).toHaveLength(10);
    expect(small.running.map((v) => v.id)).toEqual([blocker.id]);

    // The first 100 in dispatch order: highest priority first, then submission order.
    const expected = firstIds.toReversed().flat().slice(0, 100);
    const listed = pool.snapshot({ limit: 100 }).queued;
    expect(listed.map((v) => v.id)).toEqual(expected);
    expect(listed.every((v) => v.status === 'queued')).toBe(true);
    expect(small.queued.map((v) => v.id)).toEqual(expected.slice(0, 10));

    startedAt = performance.now();
    const closing = pool.close({ drain: false });
    // Without drain, every queued job is cancelled at once; the running one may finish.
    expect(pool.snapshot({ limit: 0 }).counts).toEqual({
      queued: 0,
      running: 1,
      retrying: 0,
      succeeded: 0,
      failed: 0,
      cancelled: N,
      skipped: 0,
    });
    release();
    const report = await closing;
    const closeMs = performance.now() - startedAt;
    expect(report).toEqual({ completed: 1, cancelled: N, abandoned: [] });
    expect(blocker.status).toBe('succeeded');
    expect(pool.state).toBe('closed');
    expect(samples).toHaveLength(Math.ceil(N / SAMPLE_EVERY));
    for (const job of samples) {
      expect(job.status).toBe('cancelled');
      const error: unknown = await job.result.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AbortError);
      expect((error as AbortError).cause).toBeInstanceOf(ClosedError);
    }
    await pool.onIdle();
    // Let go of the test's own handles, so that only what the pool holds is measured.
    samples.length = 0;
    for (const ids of firstIds) ids.length = 0;

    const after = await heapAfterGc();
    console.log(
      `WorkPool: after close({ drain: false }) (${Math.round(closeMs)} ms), ` +
        `${mb(after - before)} of heap left of the ${mb(queuedHeap - before)} the queue took ` +
        `(${((after - before) / N).toFixed(1)} bytes per job once queued)`,
    );
    // The pool is still referenced here, yet holds none of the cancelled jobs.
    expect(pool.snapshot({ limit: 10 }).queued).toEqual([]);
    expect(after - before).toBeLessThan(RECLAIM_FRACTION * (queuedHeap - before) + RECLAIM_SLACK);
  });
});
