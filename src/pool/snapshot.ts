import type { JobStatus, JobView } from './job.js';

/** Counts of jobs by status. */
export type StatusCounts = { readonly [S in JobStatus]: number };

/** Options of `WorkPool.snapshot`. */
export interface SnapshotOptions {
  /** Most queued (and retrying) jobs listed: the first ones in dispatch order. @default 100 */
  readonly limit?: number | undefined;
}

/** One job type's load: what `WorkPool.load(type)` returns and the snapshot lists per type. */
export interface TypeLoad {
  readonly running: number;
  readonly queued: number;
  /** Its concurrency limit now. */
  readonly limit: number;
  readonly paused: boolean;
  /**
   * Jobs are queued, a slot is free and the type is not paused, but its rate allows no
   * start now (a paused type says so in `paused` instead).
   */
  readonly heldByRate: boolean;
}

/** A deeply frozen copy of the pool's state (copy-on-read). */
export interface PoolSnapshot {
  readonly at: number;
  readonly state: 'open' | 'closing' | 'closed';
  /** The whole pool is paused. */
  readonly paused: boolean;
  /**
   * Jobs by status now (`queued`, `running`, `retrying`) and in total (`succeeded`,
   * `failed`, `cancelled`, `skipped`).
   */
  readonly counts: StatusCounts;
  readonly types: { readonly [type: string]: TypeLoad };
  /** The first `limit` queued jobs in dispatch order (priority, then submission). */
  readonly queued: readonly JobView[];
  /** The running jobs, in submission order. */
  readonly running: readonly JobView[];
  /** Jobs waiting out a retry backoff (first `limit`). */
  readonly retrying: readonly JobView[];
  /** The last `history` finished jobs, oldest first. */
  readonly history: readonly JobView[];
}

/** Options of `WorkPool.close`. */
export interface CloseOptions {
  /**
   * How long queued (with `drain`) and running jobs get before they are cancelled and
   * aborted, in milliseconds. @default 10000
   */
  readonly graceMs?: number | undefined;
  /**
   * Run the queued and retrying jobs within the grace (`true`), or cancel them at once
   * (`false`). @default true
   */
  readonly drain?: boolean | undefined;
}
