/**
 * WorkPool with a failure tracker (a real FailureTracker on a SQLite file, with an
 * injected clock and random): every path that runs a keyed job meets it; a held key's job
 * ends as skipped without a slot; a success clears the key; a failure after the job's own
 * retries counts once; cancellation does not; a tracker that fails to record leaves the
 * job's result as it was.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventBus,
  FailureTracker,
  JobSkippedError,
  NonRetryableError,
  TimeoutError,
  WorkPool,
  type Job,
  type JobView,
  type KeyTracker,
  type PoolEvents,
  type WorkPoolOptions,
} from '../../src/index.js';
import type { Database } from '../../src/store/database.js';
import { open, signal, stop, tempFile } from '../store/helpers.js';
import type { CpuInput } from './fixtures/cpu.worker.js';
import { deferred, flush } from './work-pool.helpers.js';

const cpuWorker = new URL('./fixtures/cpu.worker.mjs', import.meta.url);
const T0 = 1_000_000;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  readonly db: Database;
  readonly tracker: FailureTracker;
  /** Moves the tracker's clock. */
  readonly at: (ms: number) => void;
}

async function setup(): Promise<Setup> {
  const db = await open(tempFile());
  cleanups.push(() => stop(db));
  let now = T0;
  const tracker = await FailureTracker.open(db, {
    signal,
    baseMs: 1000,
    maxMs: 60_000,
    permanentTtlMs: 86_400_000,
    now: () => now,
    random: () => 0.5,
  });
  return { db, tracker, at: (ms) => (now = ms) };
}

type Types = {
  fetch: { concurrency: number };
  cpu: { concurrency: number; worker: URL };
};

function pool(
  tracker: KeyTracker,
  extra: Partial<WorkPoolOptions<Types>> = {},
): { pool: WorkPool<Types>; events: JobView[] } {
  const bus = new EventBus<PoolEvents>();
  const events: JobView[] = [];
  bus.on('job.finished', (view) => events.push(view));
  const p = new WorkPool<Types>({
    concurrency: 1,
    types: { fetch: { concurrency: 1 }, cpu: { concurrency: 1, worker: cpuWorker } },
    tracker,
    bus,
    ...extra,
  });
  cleanups.push(() => p.close({ graceMs: 0 }));
  return { pool: p, events };
}

async function skipOf(job: Job<unknown>): Promise<JobSkippedError> {
  const error = await job.result.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(JobSkippedError);
  return error as JobSkippedError;
}

const never = (): Promise<never> => new Promise(() => {});

describe('WorkPool with a failure tracker', () => {
  it('skips a held key’s job at submit: no slot, no start, a final status everywhere', async () => {
    const { tracker } = await setup();
    await tracker.recordFailure('feed', new Error('503'), { signal });
    const { pool: p, events } = pool(tracker);
    const blocker = deferred();
    p.submit('fetch', () => blocker.promise); // takes the only slot
    let started = false;
    const job = p.submit(
      'fetch',
      () => {
        started = true;
      },
      { key: 'feed' },
    );
    // Ends at once, though the only slot is taken: it used none.
    expect(job.status).toBe('skipped');
    const error = await skipOf(job);
    expect(error).toMatchObject({
      code: 'JOB_SKIPPED',
      key: 'feed',
      reason: 'backoff',
      eligibleAt: T0 + 500,
    });
    expect(error.message).toContain('"feed" is backing off until');
    expect(started).toBe(false);
    const snap = p.snapshot();
    expect(snap.counts).toMatchObject({ running: 1, queued: 0, skipped: 1 });
    expect(snap.history.map((v) => [v.id, v.status, v.attempt, v.error?.code])).toEqual([
      [job.id, 'skipped', 0, 'JOB_SKIPPED'],
    ]);
    expect(events.map((v) => v.status)).toEqual(['skipped']);
    // A job without a key is never checked.
    blocker.resolve();
    await expect(p.run('fetch', () => 'unkeyed')).resolves.toBe('unkeyed');
  });

  it.each([
    ['submit', (p: WorkPool<Types>) => p.submit('fetch', () => 'ran', { key: 'k' }).result],
    ['run', (p: WorkPool<Types>) => p.run('fetch', () => 'ran', { key: 'k' })],
    [
      'a worker type',
      (p: WorkPool<Types>) => p.run('cpu', { mode: 'echo', value: 1 }, { key: 'k' }),
    ],
  ])('every path meets it: %s of a held key is skipped', async (_path, start) => {
    const { tracker } = await setup();
    await tracker.recordFailure('k', new NonRetryableError('410', { permanent: true }), {
      signal,
    });
    const { pool: p } = pool(tracker);
    const error = await start(p).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'permanent', eligibleAt: T0 + 86_400_000 });
  });

  it('run() of a held key is skipped at once instead of waiting for queue room', async () => {
    const { tracker } = await setup();
    await tracker.recordFailure('k', new Error('x'), { signal });
    const { pool: p } = pool(tracker, { queue: { capacity: 1 } });
    const blocker = deferred();
    p.submit('fetch', () => blocker.promise);
    p.submit('fetch', () => 'queued'); // the queue is full
    await expect(p.run('fetch', () => 'ran', { key: 'k' })).rejects.toBeInstanceOf(JobSkippedError);
    blocker.resolve();
  });

  it('checks again at dispatch: a key that fails while its job waits is skipped, joiners too', async () => {
    const { tracker } = await setup();
    const { pool: p } = pool(tracker);
    const blocker = deferred();
    p.submit('fetch', () => blocker.promise);
    let runs = 0;
    const creator = p.submit('fetch', () => ++runs, { key: 'k' });
    const joiner = p.submit('fetch', () => ++runs, { key: 'k' });
    expect(creator.status).toBe('queued');
    // Meanwhile another path (another type, another process) records a failure.
    await tracker.recordFailure('k', new Error('x'), { signal });
    blocker.resolve();
    await skipOf(creator);
    await skipOf(joiner);
    expect(runs).toBe(0);
    // Nothing was begun for it, so nothing is left in flight.
    expect(tracker.get('k')?.failures).toBe(1);
  });

  it('checks before a retry: a retrying job whose key became held ends skipped, counting nothing itself', async () => {
    const { db, tracker } = await setup();
    // The key becomes held while the job waits out its backoff (as when another path
    // records a failure then).
    let held = false;
    const gate: KeyTracker = {
      check: (key) => (held ? { reason: 'backoff', eligibleAt: T0 } : tracker.check(key)),
      begin: (key, options) => tracker.begin(key, options),
    };
    const { pool: p } = pool(gate);
    const job = p.submit(
      'fetch',
      () => {
        held = true;
        throw new Error('first attempt fails');
      },
      { key: 'k', retry: { attempts: 2, baseMs: 1, maxMs: 1 } },
    );
    expect(await skipOf(job)).toMatchObject({ key: 'k', eligibleAt: T0 });
    expect(job.view().attempt).toBe(1);
    await p.onIdle();
    // Its run was released: no failure of its own, nothing left in flight.
    expect(tracker.get('k')).toBeUndefined();
    expect(await db.all('SELECT * FROM workbus_failure_runs', [], { signal })).toEqual([]);
  });

  it('a type’s own tracker replaces the pool’s for that type', async () => {
    const a = await setup();
    const b = await setup();
    await b.tracker.recordFailure('k', new Error('x'), { signal });
    const { pool: p } = pool(a.tracker, {
      types: {
        fetch: { concurrency: 1 },
        cpu: { concurrency: 1, worker: cpuWorker, tracker: b.tracker },
      },
    });
    await expect(p.run('fetch', () => 'ran', { key: 'k' })).resolves.toBe('ran');
    await expect(
      p.run('cpu', { mode: 'echo', value: 1 } satisfies CpuInput, { key: 'k' }),
    ).rejects.toBeInstanceOf(JobSkippedError);
  });

  it('records a failure once, after the job’s own retries, before its result rejects', async () => {
    const { tracker, at } = await setup();
    const { pool: p } = pool(tracker);
    let attempts = 0;
    const error = await p
      .run(
        'fetch',
        () => {
          attempts++;
          throw new Error(`attempt ${attempts}`);
        },
        { key: 'k', retry: { attempts: 3, baseMs: 1, maxMs: 1 } },
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'attempt 3' });
    expect(attempts).toBe(3);
    // Recorded by the time the result rejected.
    expect(tracker.get('k')).toMatchObject({
      failures: 1,
      lastError: { name: 'Error', message: 'attempt 3' },
    });
    // So a caller who tries again at once is held back.
    await expect(p.run('fetch', () => 'again', { key: 'k' })).rejects.toBeInstanceOf(
      JobSkippedError,
    );
    // Once eligible, a success clears the key, by the time its result resolves.
    at(T0 + 500);
    await expect(p.run('fetch', () => 'ok', { key: 'k' })).resolves.toBe('ok');
    expect(tracker.get('k')).toBeUndefined();
  });

  it('counts a timeout and a NonRetryableError; a permanent one holds the key for its TTL, also from a worker thread', async () => {
    const { tracker } = await setup();
    const { pool: p } = pool(tracker);
    await expect(p.run('fetch', never, { key: 'slow', timeoutMs: 1 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    await expect(
      p.run('fetch', () => Promise.reject(new NonRetryableError('404')), { key: 'missing' }),
    ).rejects.toBeInstanceOf(NonRetryableError);
    await expect(
      p.run('cpu', { mode: 'permanent', message: '410' } satisfies CpuInput, { key: 'gone' }),
    ).rejects.toBeInstanceOf(NonRetryableError);
    expect(tracker.list().map((r) => [r.key, r.failures, r.permanent, r.lastError.code])).toEqual([
      ['gone', 1, true, 'NON_RETRYABLE'],
      ['missing', 1, false, 'NON_RETRYABLE'],
      ['slow', 1, false, 'TIMEOUT'],
    ]);
    expect(tracker.check('gone')).toEqual({
      reason: 'permanent',
      eligibleAt: T0 + 86_400_000,
    });
  });

  it('counts nothing for a cancelled job, and leaves no run in flight', async () => {
    const { db, tracker } = await setup();
    const { pool: p } = pool(tracker);
    const started = deferred();
    const job = p.submit(
      'fetch',
      ({ signal: jobSignal }) => {
        started.resolve();
        return new Promise((_resolve, reject) =>
          jobSignal.addEventListener('abort', () => reject(jobSignal.reason as Error)),
        );
      },
      { key: 'k' },
    );
    await started.promise;
    job.cancel();
    await job.result.catch(() => {});
    await p.onIdle();
    expect(job.status).toBe('cancelled');
    expect(tracker.get('k')).toBeUndefined();
    expect(await db.all('SELECT * FROM workbus_failure_runs', [], { signal })).toEqual([]);
  });

  it('records the run before the task starts, and fails the attempt if that record fails', async () => {
    const { tracker } = await setup();
    const order: string[] = [];
    let failBegin = true;
    const gate: KeyTracker = {
      check: (key) => tracker.check(key),
      begin: async (key, options) => {
        order.push('begin');
        if (failBegin) throw new Error('disk full');
        const run = await tracker.begin(key, options);
        order.push('begun');
        return run;
      },
    };
    const { pool: p } = pool(gate);
    await expect(p.run('fetch', () => 'x', { key: 'k' })).rejects.toThrow('disk full');
    expect(tracker.get('k')).toBeUndefined(); // the key is not to blame
    failBegin = false;
    order.length = 0;
    await p.run('fetch', () => order.push('task'), { key: 'k', retry: { attempts: 2 } });
    expect(order).toEqual(['begin', 'begun', 'task']);
  });

  it('a record that fails leaves the job’s result as it was, and is reported on the bus', async () => {
    const bus = new EventBus<PoolEvents>();
    const reported: PoolEvents['tracker.failed'][] = [];
    bus.on('tracker.failed', (event) => reported.push(event));
    const broken: KeyTracker = {
      check: () => undefined,
      begin: () =>
        Promise.resolve({
          succeeded: () => Promise.reject(new Error('store gone')),
          failed: () => Promise.reject(new Error('store gone')),
          released: () => Promise.resolve(),
        }),
    };
    const p = new WorkPool({
      concurrency: 1,
      types: { fetch: { concurrency: 1 } },
      tracker: broken,
      bus,
    });
    await expect(p.run('fetch', () => 'value', { key: 'a' })).resolves.toBe('value');
    await expect(
      p.run('fetch', () => Promise.reject(new Error('own error')), { key: 'b' }),
    ).rejects.toThrow('own error');
    expect(reported).toEqual([
      { id: 'job-1', type: 'fetch', key: 'a', error: { name: 'Error', message: 'store gone' } },
      { id: 'job-2', type: 'fetch', key: 'b', error: { name: 'Error', message: 'store gone' } },
    ]);
    await p.close();
  });

  it('close() waits for the outcomes being recorded', async () => {
    const { db, tracker } = await setup();
    const { pool: p } = pool(tracker);
    const job = p.submit('fetch', () => Promise.reject(new Error('x')), { key: 'k' });
    await flush();
    await p.close();
    expect(job.status).toBe('failed');
    expect(tracker.get('k')?.failures).toBe(1);
    expect(await db.all('SELECT * FROM workbus_failure_runs', [], { signal })).toEqual([]);
  });

  it('names a hold that ends past the last date a Date can hold by its number', async () => {
    const forever: KeyTracker = {
      check: () => ({ reason: 'permanent', eligibleAt: Number.MAX_SAFE_INTEGER }),
      begin: () => Promise.reject(new Error('not reached')),
    };
    const p = new WorkPool({
      concurrency: 1,
      types: { fetch: { concurrency: 1 } },
      tracker: forever,
    });
    const error = await skipOf(p.submit('fetch', () => 1, { key: 'k' }));
    expect(error.message).toContain(`failed permanently until ${Number.MAX_SAFE_INTEGER} ms`);
    await p.close();
  });

  it('refuses a tracker option that is not a tracker, naming it', () => {
    const types = { fetch: { concurrency: 1 } };
    expect(() => new WorkPool({ concurrency: 1, types, tracker: {} as KeyTracker })).toThrow(
      /^tracker must be a failure tracker/,
    );
    expect(
      () =>
        new WorkPool({
          concurrency: 1,
          types: { fetch: { concurrency: 1, tracker: 5 as unknown as KeyTracker } },
        }),
    ).toThrow(/^types\.fetch\.tracker must be a failure tracker/);
  });
});
