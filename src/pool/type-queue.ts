import { Heap } from 'heap-js';
import { RingBuffer } from '../history/ring-buffer.js';
import { BucketQueue, MAX_LEVEL, MIN_LEVEL, fitsLevel } from './bucket-queue.js';
import type { JobHost } from './job.js';
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

/** What a job queued in a {@link BucketQueue} holds as its `slot`: the mark of its level. @internal */
export interface LevelMark {
  readonly level: number;
}

const MARKS: readonly LevelMark[] = Array.from({ length: MAX_LEVEL - MIN_LEVEL + 1 }, (_, i) =>
  Object.freeze({ level: i + MIN_LEVEL }),
);

function markOf(level: number): LevelMark {
  return MARKS[level - MIN_LEVEL] as LevelMark;
}

/** A bucket entry is live while its job holds the mark of the entry's level. */
function isLiveAt(job: JobRecord, level: number): boolean {
  return job.slot === markOf(level);
}

/**
 * One job type's queue, its keyed jobs, running count, limit, pause flag and rate window.
 *
 * The queue is a {@link BucketQueue} while every rank it was given is a small integer
 * (priorities such as 0–9: O(1) push and pop, no entry object per job) and a lazy-deletion
 * heap otherwise: the first rank that fits no level (a fractional or large priority, any
 * rank under aging) moves the queued jobs to the heap for good. A pool that evicts
 * (`'drop-lowest'`) needs every job's slot in its eviction index, so its queues start as heaps.
 * @internal
 */
export class TypeQueue {
  readonly name: string;
  /** Position among the pool's types. */
  readonly index: number;
  readonly config: NormalizedType;
  /** The pool, as its jobs' handles reach it (through their record's queue, not a field each). */
  readonly host: JobHost;
  /** Jobs of this type that may run at once (changed by `setConcurrency`). */
  concurrency: number;
  paused = false;
  running = 0;
  /** Live (still queued) entries in the heap. */
  queued = 0;
  /** Queued, running and retrying jobs by the key their caller gave (keys are per type). */
  readonly keys = new Map<string, JobRecord>();
  /** The queue while in bucket mode; undefined once (or from the start if) it is a heap. */
  #buckets: BucketQueue<JobRecord> | undefined;
  #heap: LazyHeap<JobRecord> | undefined;
  /** Start times of the last `rate.limit` starts. */
  readonly #starts: RingBuffer<number> | undefined;

  /** `buckets`: whether the queue may start as a {@link BucketQueue} (see the class). */
  constructor(config: NormalizedType, index: number, buckets: boolean, host: JobHost) {
    this.config = config;
    this.host = host;
    this.index = index;
    this.name = config.name;
    this.concurrency = config.concurrency;
    this.#starts = config.rate ? new RingBuffer<number>(config.rate.limit) : undefined;
    if (buckets) this.#buckets = new BucketQueue<JobRecord>((job) => job.seq, isLiveAt);
    else this.#heap = new LazyHeap<JobRecord>(highestFirst, isLive);
  }

  /** Queues `job`; returns its new live slot in heap mode (for the eviction index). */
  push(job: JobRecord): Slot<JobRecord> | undefined {
    this.queued++;
    return this.#place(job);
  }

  /** Moves a queued job to its new rank (its old entry dies); returns its slot in heap mode. */
  rerank(job: JobRecord): Slot<JobRecord> | undefined {
    const slot = this.#place(job);
    this.#compact();
    return slot;
  }

  /** The next live job. */
  peek(): JobRecord | undefined {
    return this.#buckets === undefined ? this.#heap?.peek()?.item : this.#buckets.peek();
  }

  /** Removes and returns the next live job. */
  take(): JobRecord | undefined {
    const job = this.#buckets === undefined ? this.#heap?.pop()?.item : this.#buckets.pop();
    if (job === undefined) return undefined;
    job.slot = undefined;
    this.queued--;
    this.#compact();
    return job;
  }

  /** Takes a queued job out (lazy deletion: its entry dies). */
  remove(job: JobRecord): void {
    if (job.slot === undefined) return;
    job.slot = undefined;
    this.queued--;
    this.#compact();
  }

  /**
   * The live queued jobs in dispatch order, read lazily (so the first few cost little
   * however many are queued): O(1) each from the buckets; from the heap, a walk from its
   * root with a frontier in heap order, O(log) each (a dead slot of a re-ranked job keeps
   * its old rank, so every node's children still come after it).
   */
  *inOrder(): Generator<JobRecord> {
    if (this.#buckets !== undefined) {
      for (const [job] of this.#buckets.entries()) yield job;
      return;
    }
    const slots = this.#heap?.slots ?? [];
    const frontier = new Heap<number>((a, b) =>
      highestFirst(slots[a] as Slot<JobRecord>, slots[b] as Slot<JobRecord>),
    );
    if (slots.length > 0) frontier.push(0);
    for (let i = frontier.pop(); i !== undefined; i = frontier.pop()) {
      const slot = slots[i] as Slot<JobRecord>;
      if (isLive(slot)) yield slot.item;
      if (2 * i + 1 < slots.length) frontier.push(2 * i + 1);
      if (2 * i + 2 < slots.length) frontier.push(2 * i + 2);
    }
  }

  #place(job: JobRecord): Slot<JobRecord> | undefined {
    const rank = job.rank;
    const buckets = this.#buckets;
    if (buckets !== undefined) {
      if (fitsLevel(rank)) {
        job.slot = markOf(rank);
        buckets.push(rank, job);
        return undefined;
      }
      this.#toHeap(buckets);
    }
    const slot = { rank, seq: job.seq, item: job };
    job.slot = slot;
    this.#heap?.push(slot);
    return slot;
  }

  /** Leaves bucket mode for good: the live queued jobs move to a heap, each under a slot. */
  #toHeap(buckets: BucketQueue<JobRecord>): void {
    const heap = new LazyHeap<JobRecord>(highestFirst, isLive);
    for (const [job, rank] of buckets.entries()) {
      const slot = { rank, seq: job.seq, item: job };
      job.slot = slot;
      heap.push(slot);
    }
    this.#buckets = undefined;
    this.#heap = heap;
  }

  #compact(): void {
    if (this.#buckets === undefined) this.#heap?.compact(this.queued);
    else this.#buckets.compact(this.queued);
  }

  /** Whether this type may start a job now (not paused, a free slot, something queued). */
  get ready(): boolean {
    return !this.paused && this.running < this.concurrency && this.queued > 0;
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
