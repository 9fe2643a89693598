/**
 * WorkPool: abort at every step of submit → dispatch → start → finish.
 *
 * A pool with concurrency 1: a blocker job holds the only slot for a few microtask
 * turns, and the job under test is submitted behind it, so it goes through every stage
 * (queued, dispatched when the blocker ends, running, finished). The abort lands after
 * 0, 1, … N+1 turns; it reaches the job either as its `signal` option or as a
 * `job.cancel()` made when the step signal aborts. Whatever the step, the job must end
 * exactly once, `succeeded` or `cancelled` as the moment of the abort dictates, and the
 * pool must lose no slot and keep no listener.
 */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AbortError,
  type Job,
  type JobOptions,
  type JobStatus,
  type PoolEvents,
  type PoolEventSink,
  type TaskContext,
  WorkPool,
  type JobTypeOptions,
} from '../../src/index.js';
import { abortAtEveryStep, turns } from '../helpers/steps.js';

type Settled<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

const TERMINAL: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** Records the pool's events: how many times each job was reported finished, and with what. */
function recorder(): {
  readonly sink: PoolEventSink;
  readonly finished: Map<string, JobStatus[]>;
  readonly started: Map<string, number>;
} {
  const finished = new Map<string, JobStatus[]>();
  const started = new Map<string, number>();
  const sink: PoolEventSink = {
    publish<K extends keyof PoolEvents>(topic: K, payload: PoolEvents[K]): number {
      if (topic === 'job.finished') {
        const view = payload as PoolEvents['job.finished'];
        finished.set(view.id, [...(finished.get(view.id) ?? []), view.status]);
      } else if (topic === 'job.started') {
        const view = payload as PoolEvents['job.started'];
        started.set(view.id, (started.get(view.id) ?? 0) + 1);
      }
      return 0;
    },
  };
  return { sink, finished, started };
}

/** How the abort reaches the job under test. */
type Delivery = 'signal option' | 'job.cancel()';

/** How the task under test treats its own signal. */
type Temper = 'cooperative' | 'stubborn';

/** A task taking three turns; a cooperative one checks its signal at each. */
function taskOf(temper: Temper): (ctx: TaskContext) => Promise<string> {
  return async ({ signal }) => {
    for (let i = 0; i < 3; i++) {
      await Promise.resolve();
      if (temper === 'cooperative') signal.throwIfAborted();
    }
    return 'done';
  };
}

/** Outcomes seen across the runs of one `abortAtEveryStep`, to show every stage was hit. */
interface Seen {
  completed: number;
  cancelled: number;
  /** The job's status at the moment of the abort, per run (`'after'`: the scenario had ended). */
  readonly statusAtAbort: Set<JobStatus | 'after'>;
}

interface Harness {
  readonly pool: WorkPool<Record<'work', JobTypeOptions>>;
  readonly events: ReturnType<typeof recorder>;
  readonly blocker: Job<string>;
}

function harness(): Harness {
  const events = recorder();
  const pool = new WorkPool({
    concurrency: 1,
    types: { work: { concurrency: 1 } },
    bus: events.sink,
    random: () => 0.5,
  });
  // Holds the only slot for a few turns.
  const blocker = pool.submit('work', async () => {
    await turns(3);
    return 'blocker';
  });
  expect(blocker.status).toBe('running');
  return { pool, events, blocker };
}

/**
 * Submits the job under test so that the step signal's abort reaches it by `delivery`,
 * and records the job's status at the moment of the abort. Returns the job and a
 * function that removes the test's own listeners (call it before checking listeners).
 */
function submitUnderTest(
  { pool }: Harness,
  signal: AbortSignal,
  delivery: Delivery,
  task: (ctx: TaskContext) => Promise<string>,
  options: JobOptions,
): {
  readonly job: Job<string>;
  readonly statusAtAbort: () => JobStatus | undefined;
  readonly reason: Error;
  readonly violations: string[];
  readonly detach: () => void;
} {
  // Set once submitted; the listeners below only run after that.
  const ref: { job?: Job<string> } = {};
  let statusAtAbort: JobStatus | undefined;
  const violations: string[] = [];
  // Added before the pool's own listener, so it sees the status the abort found.
  const before = (): void => {
    statusAtAbort = ref.job?.status;
  };
  const reason = new Error('cancelled by the test');
  const cancel = (): void => {
    ref.job?.cancel(reason);
  };
  // Runs after the abort has been handled: a queued or retrying job ends at once.
  const after = (): void => {
    if (statusAtAbort === 'queued' || statusAtAbort === 'retrying') {
      if (ref.job?.status !== 'cancelled') {
        violations.push(`a ${statusAtAbort} job was ${ref.job?.status} right after its abort`);
      }
    }
  };
  signal.addEventListener('abort', before);
  const job = pool.submit(
    'work',
    task,
    delivery === 'signal option' ? { ...options, signal } : options,
  );
  ref.job = job;
  if (delivery === 'job.cancel()') signal.addEventListener('abort', cancel);
  signal.addEventListener('abort', after);
  const detach = (): void => {
    signal.removeEventListener('abort', before);
    signal.removeEventListener('abort', cancel);
    signal.removeEventListener('abort', after);
  };
  return { job, statusAtAbort: () => statusAtAbort, reason, violations, detach };
}

/** Checks the job ended once, as the abort's timing requires, and that the pool is whole. */
async function expectWholeAfter(
  h: Harness,
  signal: AbortSignal,
  under: ReturnType<typeof submitUnderTest>,
  outcome: Settled<string>,
  delivery: Delivery,
  seen: Seen,
): Promise<void> {
  const { pool, events, blocker } = h;
  const { job } = under;
  expect(await blocker.result).toBe('blocker');
  under.detach();
  expect(under.violations).toEqual([]);

  const atAbort = under.statusAtAbort();
  seen.statusAtAbort.add(atAbort ?? 'after');
  const abortedBeforeEnd = atAbort !== undefined && !TERMINAL.has(atAbort);
  if (outcome.ok) {
    seen.completed++;
    expect(abortedBeforeEnd, `succeeded though aborted while ${atAbort}`).toBe(false);
    expect(outcome.value).toBe('done');
    expect(job.status).toBe('succeeded');
  } else {
    seen.cancelled++;
    expect(abortedBeforeEnd, 'cancelled though never aborted before it ended').toBe(true);
    expect(job.status).toBe('cancelled');
    expect(outcome.error).toBeInstanceOf(AbortError);
    const cause = (outcome.error as AbortError).cause;
    if (delivery === 'signal option') expect(cause).toBe(signal.reason);
    else expect(cause).toBe(under.reason);
  }
  // Exactly once: one job.finished event with the final status, and the totals agree.
  expect(events.finished.get(job.id)).toEqual([job.status]);
  expect(events.finished.get(blocker.id)).toEqual(['succeeded']);
  expect(job.view().finishedAt).toBeDefined();

  // No slot lost: nothing counts as running, and the next job starts at once.
  const snap = pool.snapshot();
  expect(snap.counts).toEqual({
    queued: 0,
    running: 0,
    retrying: 0,
    succeeded: outcome.ok ? 2 : 1,
    failed: 0,
    cancelled: outcome.ok ? 0 : 1,
    skipped: 0,
  });
  expect(snap.types).toEqual({
    work: { running: 0, queued: 0, limit: 1, paused: false, heldByRate: false },
  });
  expect(snap.running).toEqual([]);
  expect(snap.history.map((v) => v.id).sort()).toEqual([blocker.id, job.id].sort());
  const probe = pool.submit('work', () => 'probe');
  expect(probe.status).toBe('running');
  expect(pool.snapshot().types.work?.running).toBe(1);
  expect(await probe.result).toBe('probe');
  expect(pool.snapshot().counts.running).toBe(0);

  // The job's listener is gone from the step signal (the test's own were removed above).
  expect(listeners(signal)).toBe(0);
  expect(await pool.close()).toEqual({ completed: 0, cancelled: 0, abandoned: [] });
  expect(pool.state).toBe('closed');
}

function newSeen(): Seen {
  return { completed: 0, cancelled: 0, statusAtAbort: new Set() };
}

const CASES: readonly { readonly delivery: Delivery; readonly temper: Temper }[] = [
  { delivery: 'signal option', temper: 'cooperative' },
  { delivery: 'signal option', temper: 'stubborn' },
  { delivery: 'job.cancel()', temper: 'cooperative' },
  { delivery: 'job.cancel()', temper: 'stubborn' },
];

describe('WorkPool: abort at every step of submit → dispatch → start → finish', () => {
  describe.each(CASES)('aborted by $delivery, $temper task', ({ delivery, temper }) => {
    it('ends succeeded or cancelled exactly once, loses no slot and leaves no listener', async () => {
      const seen = newSeen();
      const steps = await abortAtEveryStep(async (signal) => {
        const h = harness();
        const under = submitUnderTest(h, signal, delivery, taskOf(temper), {});
        expect(under.job.status).toBe('queued');
        const outcome = await settle(under.job.result);
        await expectWholeAfter(h, signal, under, outcome, delivery, seen);
      });
      expect(steps).toBeGreaterThanOrEqual(3);
      // The aborts hit the job while queued, while running and after it had ended.
      expect(seen.statusAtAbort).toEqual(new Set(['queued', 'running', 'succeeded', 'after']));
      expect(seen.completed).toBeGreaterThan(0);
      expect(seen.cancelled).toBeGreaterThan(0);
    });
  });
});

describe('WorkPool: abort at every step of a job that fails once and is retried', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  describe.each(CASES)('aborted by $delivery, $temper task', ({ delivery, temper }) => {
    it('ends succeeded or cancelled exactly once, at once when aborted during its backoff', async () => {
      // The backoff is a timer: fake time advances 1 ms per microtask turn while a
      // scenario runs, so the whole scenario still takes a countable number of turns.
      vi.useFakeTimers();
      const seen = newSeen();
      const attemptsSeen = new Set<number>();
      const steps = await abortAtEveryStep(async (signal) => {
        let running = true;
        const clock = (async () => {
          while (running) {
            await Promise.resolve();
            vi.advanceTimersByTime(1);
          }
        })();
        try {
          const h = harness();
          const inner = taskOf(temper);
          // Attempt 1 fails after a turn; attempt 2 is the task proper. The backoff is
          // floor(0.5 · 4) = 2 ms: two clock turns.
          const task = async (ctx: TaskContext): Promise<string> => {
            if (ctx.attempt === 1) {
              await Promise.resolve();
              throw new Error('first attempt fails');
            }
            return inner(ctx);
          };
          const under = submitUnderTest(h, signal, delivery, task, {
            retry: { attempts: 2, baseMs: 4 },
          });
          expect(under.job.status).toBe('queued');
          const outcome = await settle(under.job.result);
          attemptsSeen.add(under.job.view().attempt);
          await expectWholeAfter(h, signal, under, outcome, delivery, seen);
          // The backoff timer did not outlive the job.
          expect(vi.getTimerCount()).toBe(0);
        } finally {
          running = false;
          await clock;
        }
      });
      expect(steps).toBeGreaterThanOrEqual(3);
      // Aborts landed before the first attempt, during each attempt, during the backoff
      // and after the end.
      expect(seen.statusAtAbort).toEqual(
        new Set(['queued', 'running', 'retrying', 'succeeded', 'after']),
      );
      // Cancelled before its first attempt (0), during or after its first (1), or its second (2).
      expect(attemptsSeen).toEqual(new Set([0, 1, 2]));
      expect(seen.completed).toBeGreaterThan(0);
      expect(seen.cancelled).toBeGreaterThan(0);
    });
  });
});
