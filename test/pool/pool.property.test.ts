/**
 * WorkPool properties under fast-check's scheduler.
 *
 * Every run builds a pool with 2–3 job types (random per-type limits) and a random
 * global limit, and schedules: submits with random priorities; tasks whose every
 * attempt ends at a scheduled point (succeeding, failing, or failing once and then
 * succeeding under `retry: { attempts: 2, baseMs: 0 }`), some with a short `timeoutMs`,
 * some honouring their signal and some ignoring it; `job.cancel()` at scheduled points;
 * and one `close()` (random `drain`, small `graceMs`) at a scheduled point. Time is
 * fake: a clock actor advances it from scheduled steps, so timeouts, backoffs and
 * close's grace periods fire at scheduled points too, deterministically.
 *
 * Checked continuously, before every scheduled step and inside every task as it starts,
 * then once more at the end:
 * - global running ≤ concurrency, per-type running ≤ its limit, with the test's own
 *   counts of executing tasks equal to `snapshot()`'s;
 * - `snapshot()` agrees with the jobs' own statuses: counts by status, per type, the
 *   queued list in dispatch order (priority, then submission), the running and
 *   retrying lists, and the history (each finished job once, in finishing order);
 * - the pool is work-conserving, and the job a dispatch starts is the best-ranked one
 *   among the types with a free slot (no head-of-line blocking);
 * - every job settles exactly once (one `job.finished` event, one history entry), with a
 *   terminal status matching how its `result` settled and what happened to it;
 * - nothing starts once close has resolved (nor at all during a close without drain);
 * - at the end `close()` has resolved with a report matching the jobs, `onIdle()`
 *   resolves, the pool is 'closed', and no timer is left.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AbortError,
  ClosedError,
  type CloseReport,
  type Job,
  type JobStatus,
  type JobView,
  type PoolEvents,
  type PoolEventSink,
  type PoolSnapshot,
  type TaskContext,
  TimeoutError,
  WorkPool,
  type JobTypeOptions,
} from '../../src/index.js';

// ---------------------------------------------------------------------------------------
// Scenario
// ---------------------------------------------------------------------------------------

/**
 * What a job's task does on each attempt: 'abort-own' rejects with an abort error of its
 * own (not its signal's), which is a failure the pool must never retry.
 */
type Behaviour = 'succeed' | 'fail' | 'fail-once' | 'abort-own';

/** How a task reacts to its signal: not at all, by throwing the reason, or by throwing an AbortError. */
type Reaction = 'ignore' | 'throw-reason' | 'throw-abort-error';

interface JobSpec {
  readonly type: number;
  readonly priority: number;
  readonly behaviour: Behaviour;
  /** `retry: { attempts: 2, baseMs: 0 }` (always for 'fail-once'). */
  readonly retry: boolean;
  readonly timeoutMs: number | undefined;
  /** Scheduled steps each attempt takes to end (more steps: more chance to time out). */
  readonly steps: number;
  readonly reaction: Reaction;
  /** Call `job.cancel()` at a scheduled point after the submit. */
  readonly cancel: boolean;
}

interface Scenario {
  readonly concurrency: number;
  readonly limits: readonly number[];
  readonly jobs: readonly JobSpec[];
  /** Close after this many scheduled steps of its own, with these options. */
  readonly close: { readonly after: number; readonly drain: boolean; readonly graceMs: number };
  readonly abortGraceMs: number;
  /** Milliseconds the clock advances at its successive ticks (1 ms each once exhausted). */
  readonly ticks: readonly number[];
}

const TYPE_NAMES = ['alpha', 'beta', 'gamma'] as const;

const scenarioArb: fc.Arbitrary<Scenario> = fc.integer({ min: 2, max: 3 }).chain((typeCount) =>
  fc.record({
    concurrency: fc.integer({ min: 1, max: 3 }),
    limits: fc.array(fc.integer({ min: 1, max: 3 }), {
      minLength: typeCount,
      maxLength: typeCount,
    }),
    jobs: fc.array(
      fc
        .record({
          type: fc.integer({ min: 0, max: typeCount - 1 }),
          priority: fc.integer({ min: 0, max: 3 }),
          behaviour: fc.constantFrom<Behaviour>('succeed', 'fail', 'fail-once', 'abort-own'),
          retry: fc.boolean(),
          timeoutMs: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
          steps: fc.integer({ min: 1, max: 3 }),
          reaction: fc.constantFrom<Reaction>('ignore', 'throw-reason', 'throw-abort-error'),
          cancel: fc.boolean(),
        })
        .map((spec) => (spec.behaviour === 'fail-once' ? { ...spec, retry: true } : spec)),
      { minLength: 1, maxLength: 10 },
    ),
    close: fc.record({
      after: fc.integer({ min: 0, max: 12 }),
      drain: fc.boolean(),
      graceMs: fc.integer({ min: 0, max: 6 }),
    }),
    abortGraceMs: fc.integer({ min: 0, max: 4 }),
    ticks: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 30 }),
  }),
);

/** A task's own failure, naming the job and attempt. */
class TaskFailure extends Error {
  constructor(
    readonly job: number,
    readonly attempt: number,
  ) {
    super(`job ${job} attempt ${attempt} failed`);
  }
}

/**
 * What a task's own abort carries as its `cause` (a plain `AbortError`: a subclass would
 * have another `name`, which `isAbortError` goes by).
 */
class OwnAbort {
  constructor(
    readonly job: number,
    readonly attempt: number,
  ) {}
}

const ownAbort = (error: unknown): OwnAbort | undefined =>
  error instanceof AbortError && error.cause instanceof OwnAbort ? error.cause : undefined;

const TERMINAL: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);
const STATUSES: readonly JobStatus[] = [
  'queued',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'cancelled',
  'skipped',
];

/** Ticks after which a pool that has not settled is reported as hung. */
const MAX_TICKS = 1_000;

// ---------------------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------------------

interface Options {
  /**
   * Also require that a close without drain never leaves a job queued or waiting out a
   * retry backoff: such a job can never start, yet holds the close up for `graceMs`.
   */
  readonly strictClose: boolean;
}

/** Per submitted job: what the test saw happen to it. */
interface Tracked {
  readonly index: number;
  readonly spec: JobSpec;
  readonly job: Job<string>;
  /** Place in submission order (the pool's FIFO tiebreak; a retry keeps it). */
  readonly order: number;
  readonly reason: Error;
  settled?: { readonly ok: boolean; readonly value: unknown; readonly status: JobStatus };
  /** Status found by `job.cancel()`, and whether close had been called by then. */
  cancelled?: { readonly statusBefore: JobStatus; readonly closeCalledBefore: boolean };
  /** Whether `close()` found it unfinished. */
  closeFoundUnfinished: boolean;
}

async function runScenario(s: fc.Scheduler, sc: Scenario, opts: Options): Promise<void> {
  const names = sc.limits.map((_, t) => TYPE_NAMES[t] ?? `type${t}`);
  const violations: string[] = [];
  const violate = (message: string): void => {
    violations.push(message);
  };
  /** Runs checks where a throw would be swallowed (inside tasks and event sinks). */
  const guard = (where: string, check: () => void): void => {
    try {
      check();
    } catch (error) {
      violate(`${where}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  // Events, as the pool publishes them.
  const finishedEvents = new Map<string, JobStatus[]>();
  const finishOrder: string[] = [];
  const startedEvents = new Map<string, number>();
  const closedEvents: CloseReport[] = [];
  const sink: PoolEventSink = {
    publish<K extends keyof PoolEvents>(topic: K, payload: PoolEvents[K]): number {
      guard(`event ${topic}`, () => {
        // Job views are frozen copies. (The job.retrying and pool.idle payloads are not
        // frozen; see the report that came with these tests.)
        if (topic === 'job.queued' || topic === 'job.started' || topic === 'job.finished') {
          expect(Object.isFrozen(payload)).toBe(true);
        }
        if (closedEvents.length > 0) throw new Error(`${topic} published after pool.closed`);
      });
      if (topic === 'job.finished') {
        const view = payload as JobView;
        finishedEvents.set(view.id, [...(finishedEvents.get(view.id) ?? []), view.status]);
        finishOrder.push(view.id);
      } else if (topic === 'job.started') {
        const view = payload as JobView;
        startedEvents.set(view.id, (startedEvents.get(view.id) ?? 0) + 1);
      } else if (topic === 'pool.closed') {
        closedEvents.push(payload as CloseReport);
      }
      return 0;
    },
  };

  const pool = new WorkPool<Record<string, JobTypeOptions>>({
    concurrency: sc.concurrency,
    types: Object.fromEntries(names.map((name, t) => [name, { concurrency: sc.limits[t] ?? 1 }])),
    abortGraceMs: sc.abortGraceMs,
    bus: sink,
    random: () => 0.5,
  });

  const tracked: Tracked[] = [];
  const byId = new Map<string, Tracked>();
  let submits = 0;
  /** The job being submitted, before `submit` returns (its task may start inside it). */
  let submitting: { readonly index: number; readonly order: number } | undefined;

  // What the test sees executing: tasks called and not yet settled.
  let executing = 0;
  const executingByType = names.map(() => 0);
  const attempts = sc.jobs.map(() => 0);
  const noRetry = sc.jobs.map((): boolean[] => []);
  /** Per job, per attempt: whether its signal had timed out when the task settled. */
  const timedOut = sc.jobs.map((): boolean[] => []);
  /** Per job: its last attempt's context. */
  const lastContext: (TaskContext | undefined)[] = sc.jobs.map(() => undefined);
  const taskEnds: Promise<void>[] = [];
  /** Tasks still executing. One whose attempt the pool has ended (its time limit passed after a cancel) no longer counts. */
  const live = new Set<{ readonly index: number; readonly attempt: number; release(): void }>();
  const sweep = (): void => {
    for (const e of live) {
      const job = tracked.find((t) => t.index === e.index)?.job;
      if (job !== undefined && (job.status !== 'running' || job.view().attempt !== e.attempt))
        e.release();
    }
  };

  let closeCalled = false;
  let closeResolved = false;
  let report: CloseReport | undefined;

  const rankOf = (view: JobView): [number, number] => {
    const t = byId.get(view.id);
    const order = t?.order ?? submitting?.order ?? Number.NaN;
    return [view.priority, order];
  };
  /** True when `a` must be dispatched before `b`. */
  const before = (a: [number, number], b: [number, number]): boolean =>
    a[0] > b[0] || (a[0] === b[0] && a[1] < b[1]);

  // -------------------------------------------------------------------------------------
  // Invariants
  // -------------------------------------------------------------------------------------

  const limitsHold = (snap: PoolSnapshot): void => {
    expect(snap.counts.running).toBeLessThanOrEqual(sc.concurrency);
    expect(executing).toBeLessThanOrEqual(sc.concurrency);
    names.forEach((name, t) => {
      const type = snap.types[name];
      expect(type?.limit).toBe(sc.limits[t]);
      expect(type?.running).toBeLessThanOrEqual(sc.limits[t] ?? 0);
      expect(executingByType[t]).toBeLessThanOrEqual(sc.limits[t] ?? 0);
    });
  };

  /** Between steps: the pool is quiescent, so everything must agree exactly. */
  const checkBetweenSteps = (where: string): void => {
    if (violations.length > 0) throw new Error(`${where}:\n${violations.join('\n')}`);
    sweep();
    const snap = pool.snapshot({ limit: 1_000 });
    limitsHold(snap);

    // Counts agree with the jobs' own statuses.
    const counts = Object.fromEntries(STATUSES.map((st) => [st, 0])) as Record<JobStatus, number>;
    for (const t of tracked) counts[t.job.status]++;
    expect(snap.counts, `${where}: counts`).toEqual(counts);
    names.forEach((name, ti) => {
      const mine = tracked.filter((t) => t.spec.type === ti);
      const load = snap.types[name];
      expect(
        { running: load?.running, queued: load?.queued, limit: load?.limit },
        `${where}: types.${name}`,
      ).toEqual({
        running: mine.filter((t) => t.job.status === 'running').length,
        queued: mine.filter((t) => t.job.status === 'queued').length,
        limit: sc.limits[ti],
      });
    });
    // The test's executing tasks are exactly the pool's running jobs, until close
    // abandons those that ignore their abort.
    if (pool.state !== 'closed') {
      expect(executing, `${where}: executing tasks`).toBe(snap.counts.running);
      names.forEach((name, ti) => {
        expect(executingByType[ti], `${where}: executing ${name} tasks`).toBe(
          snap.types[name]?.running,
        );
      });
    }

    // The lists agree too; queued ones in dispatch order.
    const queued = tracked
      .filter((t) => t.job.status === 'queued')
      .sort((a, b) => b.spec.priority - a.spec.priority || a.order - b.order)
      .map((t) => t.job.id);
    expect(
      snap.queued.map((v) => v.id),
      `${where}: queued in dispatch order`,
    ).toEqual(queued);
    const idsWith = (status: JobStatus): string[] =>
      tracked
        .filter((t) => t.job.status === status)
        .map((t) => t.job.id)
        .sort();
    expect(snap.running.map((v) => v.id).sort(), `${where}: running`).toEqual(idsWith('running'));
    expect(snap.retrying.map((v) => v.id).sort(), `${where}: retrying`).toEqual(
      idsWith('retrying'),
    );
    for (const view of [...snap.queued, ...snap.running, ...snap.retrying]) {
      expect(view.status, `${where}: view of ${view.id}`).toBe(byId.get(view.id)?.job.status);
    }
    // Each finished job once in the history, in finishing order, and reported once.
    expect(
      snap.history.map((v) => v.id),
      `${where}: history`,
    ).toEqual(finishOrder);
    for (const t of tracked) {
      const events = finishedEvents.get(t.job.id) ?? [];
      expect(events, `${where}: job.finished events of ${t.job.id}`).toEqual(
        TERMINAL.has(t.job.status) ? [t.job.status] : [],
      );
      expect(startedEvents.get(t.job.id) ?? 0, `${where}: starts of ${t.job.id}`).toBe(
        attempts[t.index],
      );
      expect(t.job.view().attempt).toBe(attempts[t.index]);
    }

    // Work-conserving: a queued job waits only for a full pool or a full type.
    if (pool.state === 'open' || (pool.state === 'closing' && sc.close.drain)) {
      names.forEach((name, ti) => {
        if ((snap.types[name]?.queued ?? 0) > 0) {
          const full =
            snap.counts.running === sc.concurrency || snap.types[name]?.running === sc.limits[ti];
          expect(full, `${where}: a ${name} job waits though a slot is free`).toBe(true);
        }
      });
    }
    if (closeCalled) expect(pool.state).not.toBe('open');
    if (opts.strictClose && pool.state === 'closing' && !sc.close.drain) {
      expect(
        { queued: snap.counts.queued, retrying: snap.counts.retrying },
        `${where}: jobs waiting to start during a close without drain`,
      ).toEqual({ queued: 0, retrying: 0 });
    }
  };

  /** Inside a task as it starts: limits, and that the dispatch picked the best job it could. */
  const checkAtStart = (index: number, ctx: TaskContext): void => {
    sweep();
    const spec = sc.jobs[index] as JobSpec;
    const name = names[spec.type] as string;
    expect(pool.state, 'started after close resolved').not.toBe('closed');
    expect(closeResolved).toBe(false);
    if (closeCalled && !sc.close.drain) throw new Error('started during a close without drain');
    const snap = pool.snapshot({ limit: 1_000 });
    limitsHold(snap);
    expect(snap.running.map((v) => v.id)).toContain(ctx.id);
    expect(executing).toBeLessThanOrEqual(snap.counts.running);
    expect(executingByType[spec.type]).toBeLessThanOrEqual(snap.types[name]?.running ?? 0);
    // Fairness: no job still queued in this type, or in a type that had a free slot
    // when this one was picked, ranks before it.
    const mine: [number, number] = [
      spec.priority,
      byId.get(ctx.id)?.order ?? submitting?.order ?? Number.NaN,
    ];
    for (const view of snap.queued) {
      const ti = names.indexOf(view.type);
      const hadRoom =
        view.type === name || (snap.types[view.type]?.running ?? 0) < (sc.limits[ti] ?? 0);
      if (hadRoom && before(rankOf(view), mine)) {
        throw new Error(
          `${ctx.id} (priority ${spec.priority}) started before ${view.id} (${view.type}, priority ${view.priority})`,
        );
      }
    }
  };

  // -------------------------------------------------------------------------------------
  // Tasks
  // -------------------------------------------------------------------------------------

  const taskFor =
    (index: number) =>
    (ctx: TaskContext): Promise<string> => {
      const spec = sc.jobs[index] as JobSpec;
      const attempt = (attempts[index] ?? 0) + 1;
      attempts[index] = attempt;
      lastContext[index] = ctx;
      executing++;
      executingByType[spec.type] = (executingByType[spec.type] ?? 0) + 1;
      // The pool ends an attempt at its time limit, whether or not the task has settled:
      // from then on the task no longer counts as running, and the pool decides about a
      // retry then (the task's later settlement is ignored).
      let released = false;
      const execution = { index, attempt, release: (): void => {} };
      const release = (): void => {
        if (released) return;
        released = true;
        live.delete(execution);
        executing--;
        executingByType[spec.type] = (executingByType[spec.type] ?? 0) - 1;
      };
      execution.release = release;
      live.add(execution);
      ctx.signal.addEventListener(
        'abort',
        () => {
          if (!(ctx.signal.reason instanceof TimeoutError)) return;
          (noRetry[index] as boolean[])[attempt] = pool.state !== 'open' && !sc.close.drain;
          release();
        },
        { once: true },
      );
      guard(`start of job ${index} attempt ${attempt}`, () => {
        expect(ctx.attempt).toBe(attempt);
        checkAtStart(index, ctx);
      });
      const outcome = new Promise<string>((resolve, reject) => {
        const end = (): void => {
          ctx.signal.removeEventListener('abort', onAbort);
          const fails =
            spec.behaviour === 'fail' || (spec.behaviour === 'fail-once' && attempt === 1);
          if (spec.behaviour === 'abort-own') {
            reject(
              new AbortError('the task aborted itself', { cause: new OwnAbort(index, attempt) }),
            );
          } else if (fails) reject(new TaskFailure(index, attempt));
          else resolve(`ok ${index}.${attempt}`);
        };
        const onAbort = (): void => {
          // Reacting to the abort takes a scheduled step of its own.
          void s.schedule(Promise.resolve(`abort seen ${index}.${attempt}`)).then(() => {
            const reason: unknown = ctx.signal.reason;
            if (spec.reaction === 'throw-reason') reject(reason);
            else reject(new AbortError('task saw its abort', { cause: reason }));
          });
        };
        if (spec.reaction !== 'ignore') {
          if (ctx.signal.aborted) onAbort();
          else ctx.signal.addEventListener('abort', onAbort, { once: true });
        }
        void (async () => {
          for (let step = 1; step <= spec.steps; step++) {
            await s.schedule(Promise.resolve(`job ${index}.${attempt} step ${step}/${spec.steps}`));
          }
          end();
        })();
      });
      const ended = outcome.then(
        () => undefined,
        () => undefined,
      );
      void ended.then(() => {
        (timedOut[index] as boolean[])[attempt] = ctx.signal.reason instanceof TimeoutError;
      });
      taskEnds.push(ended.then(release));
      // The pool sees the task settle after the counters are down. A failure it sees while
      // closing without drain is not retried: nothing may start any more.
      return ended.then(() => {
        if (!released || !(ctx.signal.reason instanceof TimeoutError)) {
          (noRetry[index] as boolean[])[attempt] = pool.state !== 'open' && !sc.close.drain;
        }
        return outcome;
      });
    };

  // -------------------------------------------------------------------------------------
  // Actors
  // -------------------------------------------------------------------------------------

  const submitFlow = async (index: number): Promise<void> => {
    const spec = sc.jobs[index] as JobSpec;
    const type = names[spec.type] as string;
    await s.schedule(Promise.resolve(`submit ${index}`));
    const options = {
      priority: spec.priority,
      ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
      ...(spec.retry ? { retry: { attempts: 2, baseMs: 0 } } : {}),
    };
    if (pool.state !== 'open') {
      expect(() => pool.submit(type, taskFor(index), options)).toThrow(ClosedError);
      expect(attempts[index]).toBe(0);
      return;
    }
    const order = ++submits;
    submitting = { index, order };
    const job = pool.submit(type, taskFor(index), options);
    submitting = undefined;
    const t: Tracked = {
      index,
      spec,
      job,
      order,
      reason: new Error(`cancel ${index}`),
      closeFoundUnfinished: false,
    };
    tracked.push(t);
    byId.set(job.id, t);
    expect(['queued', 'running']).toContain(job.status);

    const cancelFlow = spec.cancel
      ? (async () => {
          await s.schedule(Promise.resolve(`cancel ${index}`));
          const statusBefore = job.status;
          t.cancelled = { statusBefore, closeCalledBefore: closeCalled };
          job.cancel(t.reason);
          // A queued or retrying job ends at once; a running one when its task settles.
          const expected =
            statusBefore === 'queued' || statusBefore === 'retrying' ? 'cancelled' : statusBefore;
          expect(job.status, `job ${index} right after cancel()`).toBe(expected);
        })()
      : Promise.resolve();

    try {
      const value = await job.result;
      t.settled = { ok: true, value, status: job.status };
    } catch (error) {
      t.settled = { ok: false, value: error, status: job.status };
    }
    await cancelFlow;
  };

  const closeFlow = async (): Promise<void> => {
    for (let step = 0; step <= sc.close.after; step++) {
      await s.schedule(Promise.resolve(`close step ${step}/${sc.close.after}`));
    }
    for (const t of tracked) t.closeFoundUnfinished = !TERMINAL.has(t.job.status);
    const waiting = tracked.filter((t) => ['queued', 'retrying'].includes(t.job.status));
    closeCalled = true;
    const closing = pool.close({ drain: sc.close.drain, graceMs: sc.close.graceMs });
    expect(pool.state).toBe('closing');
    expect(pool.close({ drain: !sc.close.drain, graceMs: 1 })).toBe(closing);
    if (!sc.close.drain) {
      for (const t of waiting) expect(t.job.status).toBe('cancelled');
    }
    report = await closing;
    closeResolved = true;
    expect(pool.state).toBe('closed');
    for (const t of tracked) {
      expect(TERMINAL.has(t.job.status), `${t.job.id} still ${t.job.status} after close`).toBe(
        true,
      );
    }
  };

  const clock = async (): Promise<never> => {
    for (let tick = 0; ; tick++) {
      await s.schedule(Promise.resolve(`tick ${tick}`));
      if (tick >= MAX_TICKS) {
        const stuck = tracked.map((t) => `${t.job.id}: ${t.job.status}`).join(', ');
        throw new Error(`not settled after ${tick} ticks (${pool.state}; ${stuck})`);
      }
      vi.advanceTimersByTime(sc.ticks[tick] ?? 1);
    }
  };

  // -------------------------------------------------------------------------------------
  // Run
  // -------------------------------------------------------------------------------------

  const everything = (async () => {
    await Promise.all([...sc.jobs.map((_, i) => submitFlow(i)), closeFlow()]);
    await Promise.all(taskEnds);
  })();
  await s.waitFor(Promise.race([everything, clock()]), async (step) => {
    checkBetweenSteps('before a step');
    await step();
  });
  checkBetweenSteps('at the end');

  // -------------------------------------------------------------------------------------
  // Final checks
  // -------------------------------------------------------------------------------------

  expect(pool.state).toBe('closed');
  await pool.onIdle();
  expect(vi.getTimerCount(), 'timers left').toBe(0);
  expect(executing).toBe(0);
  expect(closedEvents).toEqual([report]);
  if (report === undefined) throw new Error('close did not resolve');

  // The report counts the jobs close found unfinished, by how they ended.
  const atClose = tracked.filter((t) => t.closeFoundUnfinished);
  // An abandoned job is reported by id, not counted again as cancelled.
  expect(report.completed + report.cancelled + report.abandoned.length).toBe(atClose.length);
  expect(report.cancelled + report.abandoned.length).toBe(
    atClose.filter((t) => t.job.status === 'cancelled').length,
  );
  for (const id of report.abandoned) {
    const t = byId.get(id);
    expect(t?.closeFoundUnfinished).toBe(true);
    expect(t?.job.status).toBe('cancelled');
    // Abandoned only after its abort: the running attempt's signal was aborted first.
    expect(lastContext[t?.index ?? -1]?.signal.aborted, `${id} abandoned unaborted`).toBe(true);
  }

  for (const t of tracked) {
    const { spec, job, settled } = t;
    const label = `job ${t.index} (${job.id}, ${JSON.stringify(spec)})`;
    if (settled === undefined) throw new Error(`${label}: result never settled`);
    expect(settled.status, `${label}: status when its result settled`).toBe(job.status);
    const tries = attempts[t.index] ?? 0;
    const cancelledByTest = t.cancelled !== undefined && !TERMINAL.has(t.cancelled.statusBefore);
    switch (job.status) {
      case 'succeeded':
        expect(settled.ok, label).toBe(true);
        expect(settled.value, label).toBe(`ok ${t.index}.${tries}`);
        expect(['succeed', 'fail-once'], label).toContain(spec.behaviour);
        expect(cancelledByTest, `${label}: succeeded though cancelled`).toBe(false);
        if (spec.behaviour === 'fail-once') expect(tries, `${label}: attempts`).toBe(2);
        // A second attempt of a task that succeeds means the first one timed out.
        else if (tries === 2) expect(timedOut[t.index]?.[1], `${label}: retried`).toBe(true);
        break;
      case 'failed': {
        expect(settled.ok, label).toBe(false);
        expect(cancelledByTest, `${label}: failed though cancelled`).toBe(false);
        const error = settled.value;
        const own = ownAbort(error);
        if (own !== undefined) {
          // Never retried: an earlier attempt can only have failed by timing out.
          expect([own.job, own.attempt], label).toEqual([t.index, tries]);
          if (tries === 2) expect(timedOut[t.index]?.[1], `${label}: retried`).toBe(true);
        } else {
          if (error instanceof TaskFailure) {
            expect([error.job, error.attempt], label).toEqual([t.index, tries]);
          } else {
            expect(error, label).toBeInstanceOf(TimeoutError);
            expect((error as TimeoutError).timeoutMs, label).toBe(spec.timeoutMs);
          }
          // Retryable: a job with retry fails only on its last attempt, unless it failed
          // while the pool was closing without drain.
          const cutShort = spec.retry === true && tries === 1 && noRetry[t.index]?.[1] === true;
          expect(tries, `${label}: attempts`).toBe(spec.retry && !cutShort ? 2 : 1);
        }
        break;
      }
      case 'cancelled': {
        expect(settled.ok, label).toBe(false);
        expect(settled.value, label).toBeInstanceOf(AbortError);
        const cause = (settled.value as AbortError).cause;
        if (cause === t.reason) {
          expect(cancelledByTest, label).toBe(true);
        } else {
          expect(cause, label).toBeInstanceOf(ClosedError);
          expect(t.closeFoundUnfinished, `${label}: cancelled by a close it had ended before`).toBe(
            true,
          );
        }
        if (cancelledByTest && cause !== t.reason) {
          // Only a close that had already aborted it can have got there first, or a close
          // that abandoned it for ignoring the test's abort.
          const abandoned = report.abandoned.includes(job.id);
          expect(t.cancelled?.closeCalledBefore === true || abandoned, label).toBe(true);
        }
        break;
      }
      default:
        throw new Error(`${label}: ended ${job.status}`);
    }
    if (tries > 0 && spec.retry) expect(tries).toBeLessThanOrEqual(2);
    if (!spec.retry) expect(tries).toBeLessThanOrEqual(1);
    // Left alone, with no timeout to race, a job's fate is its behaviour's.
    if (!cancelledByTest && !t.closeFoundUnfinished && spec.timeoutMs === undefined) {
      const expected = {
        succeed: ['succeeded', 1],
        fail: ['failed', spec.retry ? 2 : 1],
        'fail-once': ['succeeded', 2],
        'abort-own': ['failed', 1],
      }[spec.behaviour];
      expect([job.status, tries], label).toEqual(expected);
    }
  }
}

// ---------------------------------------------------------------------------------------

/** Runs `body` with fake timers, restoring real ones however it ends. */
async function withFakeTimers(body: () => Promise<void>): Promise<void> {
  vi.useFakeTimers();
  try {
    await body();
  } finally {
    vi.useRealTimers();
  }
}

describe('WorkPool properties', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps its limits, settles every job exactly once, and its snapshot always agrees with the jobs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), scenarioArb, (s, sc) =>
        withFakeTimers(() => runScenario(s, sc, { strictClose: false })),
      ),
      { numRuns: 300 },
    );
  });

  it('a close without drain leaves nothing queued or waiting to retry (a job that could never start)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), scenarioArb, (s, sc) =>
        withFakeTimers(() => runScenario(s, sc, { strictClose: true })),
      ),
      { numRuns: 300 },
    );
  });
});
