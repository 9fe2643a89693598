/**
 * What the dashboard shows, worked out from a snapshot as plain data: no DOM, no Node,
 * so it is tested as a function and runs in the page as is.
 */
import type { SubscriberView } from '../../bus/event-bus.js';
import type { JobStatus, JobView } from '../../pool/job.js';
import type { PoolSnapshot } from '../../pool/snapshot.js';
import type { StoreHealth } from '../../store/health.js';
import type { WorkbusSnapshot } from '../protocol.js';

/** The parts of a bridge snapshot the dashboard reads. */
export type DashboardInput = Pick<WorkbusSnapshot, 'pool' | 'failures' | 'store' | 'bus'>;

export interface TypeRow {
  readonly type: string;
  readonly running: number;
  readonly limit: number;
  readonly queued: number;
  readonly paused: boolean;
  readonly heldByRate: boolean;
  /** How long its oldest queued job has waited; undefined when none is queued. */
  readonly oldestQueuedMs: number | undefined;
}

export interface JobRow {
  readonly id: string;
  readonly type: string;
  readonly status: JobStatus;
  /** The job's key ('' when it has none): which feed, which file. */
  readonly key: string;
  readonly priority: number;
  readonly attempt: number;
  /** 0 to 1. */
  readonly progress: number;
  readonly note: string;
  /** Running: since its attempt started; finished: how long it ran; queued: how long it waited. */
  readonly ms: number;
  readonly error: string;
}

export interface FailureRow {
  readonly key: string;
  readonly failures: number;
  readonly lastError: string;
  readonly permanent: boolean;
  /** When it may run again: "the next attempt", or "permanent until". */
  readonly eligibleAt: number;
  /** Milliseconds until then (0 when it is due). */
  readonly inMs: number;
}

export interface DashboardView {
  readonly at: number;
  readonly state: PoolSnapshot['state'];
  readonly paused: boolean;
  readonly counts: PoolSnapshot['counts'];
  readonly types: readonly TypeRow[];
  readonly running: readonly JobRow[];
  /** The first queued jobs in dispatch order, as many as the snapshot carried. */
  readonly queued: readonly JobRow[];
  /** The last finished jobs, newest first. */
  readonly finished: readonly JobRow[];
  readonly failures: { readonly total: number; readonly rows: readonly FailureRow[] } | undefined;
  readonly store: (StoreHealth & { readonly path: string }) | undefined;
  readonly subscribers: readonly SubscriberView[] | undefined;
}

/** Finished jobs shown, newest first. */
const FINISHED_SHOWN = 20;

/** The dashboard's rows for `input`, timed against `now` (the page's clock). */
export function dashboardView(input: DashboardInput, now: number): DashboardView {
  const { pool } = input;
  const oldest = new Map<string, number>();
  for (const job of pool.queued) {
    const seen = oldest.get(job.type);
    if (seen === undefined || job.queuedAt < seen) oldest.set(job.type, job.queuedAt);
  }
  return {
    at: pool.at,
    state: pool.state,
    paused: pool.paused,
    counts: pool.counts,
    types: Object.entries(pool.types).map(([type, load]) => {
      const since = oldest.get(type);
      return {
        type,
        running: load.running,
        limit: load.limit,
        queued: load.queued,
        paused: load.paused,
        heldByRate: load.heldByRate,
        oldestQueuedMs: load.queued === 0 || since === undefined ? undefined : age(now, since),
      };
    }),
    running: pool.running.map((job) => row(job, age(now, job.startedAt ?? job.queuedAt))),
    queued: pool.queued.map((job) => row(job, age(now, job.queuedAt))),
    finished: pool.history
      .slice(-FINISHED_SHOWN)
      .reverse()
      .map((job) =>
        row(job, Math.max(0, (job.finishedAt ?? now) - (job.startedAt ?? job.queuedAt))),
      ),
    failures:
      input.failures === undefined
        ? undefined
        : {
            total: input.failures.total,
            rows: input.failures.first.map((f) => ({
              key: f.key,
              failures: f.failures,
              lastError: errorText(f.lastError),
              permanent: f.permanent,
              eligibleAt: f.eligibleAt,
              inMs: Math.max(0, f.eligibleAt - now),
            })),
          },
    store: input.store,
    subscribers: input.bus?.subscribers,
  };
}

function row(job: JobView, ms: number): JobRow {
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    key: job.key ?? '',
    priority: job.priority,
    attempt: job.attempt,
    progress: job.progress,
    note: job.note ?? '',
    ms,
    error: job.error === undefined ? '' : errorText(job.error),
  };
}

function errorText(error: { readonly name: string; readonly message: string }): string {
  return `${error.name}: ${error.message}`;
}

/** Clocks of two processes disagree a little; an age is never negative. */
function age(now: number, since: number): number {
  return Math.max(0, now - since);
}

/** A duration as people read it on a dashboard: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}
