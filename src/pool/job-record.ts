import type { Timer } from '../internal/timer.js';
import type { Attempt } from './attempt.js';
import type { ErrorView, Job, JobStatus, Task } from './job.js';
import type { Slot } from './lazy-heap.js';
import type { ProgressCoalescer } from './progress.js';
import type { NormalizedRetry } from './retry.js';
import type { Submission } from './submission.js';
import type { TrackedRun } from './tracking.js';
import type { LevelMark, TypeQueue } from './type-queue.js';

/**
 * Where a record's `queuedAt` counts from: stored relative to it, a time fits a small
 * integer (for 24 days of uptime) instead of a boxed double per queued job.
 */
export const EPOCH = Date.now();

/** A job's outcome, kept by its handle until its result is first read (then the promise holds it). */
export type Outcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/**
 * The fields most jobs never set: per-job options (time limit, retry, meta, key) and
 * what only some runs have (progress, a stall, an error, a backoff, a tracker's run…).
 * A record makes its extras on the first write of a value other than the field's
 * default, so a job that was given no options and runs plainly never holds any (a
 * million queued jobs are a few hundred bytes each, not twice that; a start allocates
 * no extras).
 */
class JobExtras {
  /** Set only when it differs from the priority (with aging, or after a joiner raised it). */
  rank: number | undefined = undefined;
  key: string | undefined = undefined;
  timeoutMs: number | undefined = undefined;
  retry: NormalizedRetry | undefined = undefined;
  meta: Readonly<Record<string, unknown>> | undefined = undefined;
  progress = 0;
  note: string | undefined = undefined;
  stalled = false;
  error: ErrorView | undefined = undefined;
  cancelReason: unknown = undefined;
  cancelRequested = false;
  backoff: Timer | undefined = undefined;
  tracking: Promise<TrackedRun> | undefined = undefined;
  reporter: ProgressCoalescer | undefined = undefined;
  claims = 1;
  detach: (() => void) | undefined = undefined;
}

/**
 * The pool's own record of a job. Only the pool writes it; everyone else reads
 * {@link JobView} copies.
 *
 * | field | valid while | written by |
 * | --- | --- | --- |
 * | `id` (from `seq`), `queue` (`type`, `typeIndex`), `seq`, `key`, `timeoutMs`, `retry`, `meta`, `queuedAt` | always | `submit` (never changed) |
 * | `priority`, `rank` | always | `submit`; raised by a joiner |
 * | `status` | always | the pool at each transition |
 * | `slot` | `queued` (undefined otherwise) | enqueue; cleared on start, cancel, eviction |
 * | `task` | until finished (then a stub) | `submit`, `#finish` |
 * | `attempt`, `startedAt`, `stalled` | from the first start | each start; the stall timer |
 * | `progress`, `note` | `running` (the last attempt's after) | the task's `progress()` |
 * | `current` | `running` | start; cleared when the attempt ends |
 * | `backoff` | `retrying` | a failed attempt; cleared on re-enqueue or cancel |
 * | `tracking` | from its first start until finished, with a tracker | the first start; `#finish` |
 * | `reporter` | while progress events are pending | the progress coalescer |
 * | `error` | `retrying`, `failed`, `cancelled` | the failure, cancel or eviction |
 * | `finishedAt`, `outcome` | finished | `#finish` |
 * | `cancelRequested`, `cancelReason` | once a cancel reached the job | `#cancel`, close |
 * | `claims`, `detach` | until finished | each caller (creator and joiners); its withdrawal |
 * | `handle` | until its result is settled | `submit` (the creator's handle); cleared by `#finish` |
 *
 * `rank` (only when it differs from `priority`) and the fields from `key` on live in a
 * {@link JobExtras} made on first need (accessors below); the id is built when read.
 * @internal
 */
export class JobRecord {
  readonly seq: number;
  /** Its type's queue (whose name and index are the record's `type` and `typeIndex`). */
  readonly queue: TypeQueue;
  priority: number;
  /** Replaced by a stub when the job finishes, so its closure can be collected. */
  task: Task<unknown>;
  status: JobStatus = 'queued';
  /**
   * While queued: its live entry in its type's heap (and the eviction index), or the mark
   * of its level in its type's buckets (see TypeQueue).
   */
  slot: Slot<JobRecord> | LevelMark | undefined = undefined;
  /** Its creator's handle, which holds its result; cleared once the result is settled. */
  handle: Job | undefined = undefined;
  /** 0 until its first start. */
  attempt = 0;
  /** The running attempt. */
  current: Attempt | undefined = undefined;
  /** `queuedAt` − {@link EPOCH}. */
  readonly #queuedAt: number;
  /** `startedAt` and `finishedAt` − {@link EPOCH}, as `queuedAt`. */
  #startedAt: number | undefined = undefined;
  #finishedAt: number | undefined = undefined;
  #x: JobExtras | undefined = undefined;

  /** A new record, queued for its first attempt, with its creator as its one caller. */
  constructor(s: Submission, seq: number, rank: number, task: Task<unknown>, now: number) {
    this.seq = seq;
    this.queue = s.queue;
    this.priority = s.priority;
    this.rank = rank;
    this.task = task;
    this.#queuedAt = now - EPOCH;
    if (s.key !== undefined) this.#extras.key = s.key;
    if (s.timeoutMs !== undefined) this.#extras.timeoutMs = s.timeoutMs;
    if (s.retry !== undefined) this.#extras.retry = s.retry;
    if (s.meta !== undefined) this.#extras.meta = s.meta;
  }

  /** Unique within the pool (`seq` is): built when read, not held by every queued job. */
  get id(): string {
    return `job-${this.seq}`;
  }

  get type(): string {
    return this.queue.name;
  }

  /** Its type's position among the pool's types. */
  get typeIndex(): number {
    return this.queue.index;
  }

  /** Heap order: higher first; with aging, a time-invariant rank (see WorkPool). */
  get rank(): number {
    return this.#x?.rank ?? this.priority;
  }
  set rank(value: number) {
    if (value !== this.priority || this.#x !== undefined) this.#extras.rank = value;
  }

  get queuedAt(): number {
    return this.#queuedAt + EPOCH;
  }

  get #extras(): JobExtras {
    this.#x ??= new JobExtras();
    return this.#x;
  }

  /** The key as the caller gave it. */
  get key(): string | undefined {
    return this.#x?.key;
  }
  get timeoutMs(): number | undefined {
    return this.#x?.timeoutMs;
  }
  get retry(): NormalizedRetry | undefined {
    return this.#x?.retry;
  }
  get meta(): Readonly<Record<string, unknown>> | undefined {
    return this.#x?.meta;
  }

  get startedAt(): number | undefined {
    return this.#startedAt === undefined ? undefined : this.#startedAt + EPOCH;
  }
  set startedAt(value: number | undefined) {
    this.#startedAt = value === undefined ? undefined : value - EPOCH;
  }
  get finishedAt(): number | undefined {
    return this.#finishedAt === undefined ? undefined : this.#finishedAt + EPOCH;
  }
  set finishedAt(value: number | undefined) {
    this.#finishedAt = value === undefined ? undefined : value - EPOCH;
  }
  get progress(): number {
    return this.#x?.progress ?? 0;
  }
  set progress(value: number) {
    if (value !== 0 || this.#x !== undefined) this.#extras.progress = value;
  }
  get note(): string | undefined {
    return this.#x?.note;
  }
  set note(value: string | undefined) {
    if (value !== undefined || this.#x !== undefined) this.#extras.note = value;
  }
  get stalled(): boolean {
    return this.#x?.stalled ?? false;
  }
  set stalled(value: boolean) {
    if (value || this.#x !== undefined) this.#extras.stalled = value;
  }
  get error(): ErrorView | undefined {
    return this.#x?.error;
  }
  set error(value: ErrorView | undefined) {
    if (value !== undefined || this.#x !== undefined) this.#extras.error = value;
  }
  get cancelReason(): unknown {
    return this.#x?.cancelReason;
  }
  set cancelReason(value: unknown) {
    if (value !== undefined || this.#x !== undefined) this.#extras.cancelReason = value;
  }
  get cancelRequested(): boolean {
    return this.#x?.cancelRequested ?? false;
  }
  set cancelRequested(value: boolean) {
    if (value || this.#x !== undefined) this.#extras.cancelRequested = value;
  }
  get backoff(): Timer | undefined {
    return this.#x?.backoff;
  }
  set backoff(value: Timer | undefined) {
    if (value !== undefined || this.#x !== undefined) this.#extras.backoff = value;
  }
  /** Its run in the failure tracker (keyed jobs of a tracked type): begun at its first start. */
  get tracking(): Promise<TrackedRun> | undefined {
    return this.#x?.tracking;
  }
  set tracking(value: Promise<TrackedRun> | undefined) {
    if (value !== undefined || this.#x !== undefined) this.#extras.tracking = value;
  }
  get reporter(): ProgressCoalescer | undefined {
    return this.#x?.reporter;
  }
  set reporter(value: ProgressCoalescer | undefined) {
    if (value !== undefined || this.#x !== undefined) this.#extras.reporter = value;
  }
  /** Callers still waiting on the job: its creator and every joiner that has not withdrawn. */
  get claims(): number {
    return this.#x?.claims ?? 1;
  }
  set claims(value: number) {
    if (value !== 1 || this.#x !== undefined) this.#extras.claims = value;
  }
  /** Removes every caller's signal listener and wait timer. */
  get detach(): (() => void) | undefined {
    return this.#x?.detach;
  }
  set detach(value: (() => void) | undefined) {
    if (value !== undefined || this.#x !== undefined) this.#extras.detach = value;
  }
}
