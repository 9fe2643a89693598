import { RingBuffer } from '../history/ring-buffer.js';
import type { JobRecord } from './job-record.js';
import { LazyHeap, highestFirst, type Slot } from './lazy-heap.js';
import type { NormalizedType } from './options.js';

/** Dispatch order between two jobs: higher rank first, then submission order. @internal */
export function byDispatchOrder(a: JobRecord, b: JobRecord): number {
  return b.rank - a.rank || a.seq - b.seq;
}

/** A slot is live while its job still points at it (it was not started, cancelled or re-ranked). @internal */
export function isLive(slot: Slot<JobRecord>): boolean {
  return slot.item.slot === slot;
}

/**
 * One job type's queue (a lazy-deletion heap), its keyed jobs, running count, limit,
 * pause flag and rate window.
 * @internal
 */
export class TypeQueue {
  readonly name: string;
  /** Position among the pool's types. */
  readonly index: number;
  readonly config: NormalizedType;
  /** Jobs of this type that may run at once (changed by `setConcurrency`). */
  concurrency: number;
  paused = false;
  running = 0;
  /** Live (still queued) entries in the heap. */
  queued = 0;
  /** Queued, running and retrying jobs by the key their caller gave (keys are per type). */
  readonly keys = new Map<string, JobRecord>();
  readonly #heap = new LazyHeap<JobRecord>(highestFirst, isLive);
  /** Start times of the last `rate.limit` starts. */
  readonly #starts: RingBuffer<number> | undefined;

  constructor(config: NormalizedType, index: number) {
    this.config = config;
    this.index = index;
    this.name = config.name;
    this.concurrency = config.concurrency;
    this.#starts = config.rate ? new RingBuffer<number>(config.rate.limit) : undefined;
  }

  /** Queues `job` under a new live slot, which it returns (for the eviction index). */
  push(job: JobRecord): Slot<JobRecord> {
    const slot = { rank: job.rank, seq: job.seq, item: job };
    job.slot = slot;
    this.queued++;
    this.#heap.push(slot);
    return slot;
  }

  /** Moves a queued job to a new slot at its new rank (the old one dies). */
  rerank(job: JobRecord): Slot<JobRecord> {
    const slot = { rank: job.rank, seq: job.seq, item: job };
    job.slot = slot;
    this.#heap.push(slot);
    this.#heap.compact(this.queued);
    return slot;
  }

  /** The next live job. */
  peek(): JobRecord | undefined {
    return this.#heap.peek()?.item;
  }

  /** Removes and returns the next live job. */
  take(): JobRecord | undefined {
    const job = this.#heap.pop()?.item;
    if (job === undefined) return undefined;
    job.slot = undefined;
    this.#heap.compact(--this.queued);
    return job;
  }

  /** Takes a queued job out (lazy deletion: its slot dies). */
  remove(job: JobRecord): void {
    if (job.slot === undefined) return;
    job.slot = undefined;
    this.#heap.compact(--this.queued);
  }

  /** Whether this type may start a job now (not paused, a free slot, something queued). */
  get ready(): boolean {
    return !this.paused && this.running < this.concurrency && this.queued > 0;
  }

  /** The heap's slots (a binary heap in dispatch order, dead entries included); read only. */
  get slots(): readonly Slot<JobRecord>[] {
    return this.#heap.slots;
  }

  /** Whether the rate window allows a start at `now`. */
  rateAllows(now: number): boolean {
    const starts = this.#starts;
    const rate = this.config.rate;
    if (starts === undefined || rate === undefined || !starts.full) return true;
    return (starts.at(0) as number) + rate.intervalMs <= now;
  }

  /** When the rate window next allows a start (only meaningful when `rateAllows` is false). */
  rateOpensAt(): number {
    return (this.#starts?.at(0) ?? 0) + (this.config.rate?.intervalMs ?? 0);
  }

  recordStart(now: number): void {
    this.#starts?.push(now);
  }
}
