import { Heap } from 'heap-js';
import { RingBuffer } from '../history/ring-buffer.js';
import type { JobRecord } from './job.js';
import type { NormalizedType } from './options.js';

/** Dispatch order: higher rank first, then submission order (the sequence number keeps equal ranks FIFO). */
export function byDispatchOrder(a: JobRecord, b: JobRecord): number {
  return b.rank - a.rank || a.seq - b.seq;
}

/**
 * A heap entry: the two sort keys next to each other, so a sift compares small, densely
 * allocated objects instead of reaching into large job records (a pop over a deep queue
 * is bound by cache misses).
 */
export interface QueueSlot {
  readonly rank: number;
  readonly seq: number;
  readonly job: JobRecord;
}

function bySlotOrder(a: QueueSlot, b: QueueSlot): number {
  return b.rank - a.rank || a.seq - b.seq;
}

/**
 * One job type's queue, running count and rate window. Cancelled jobs are deleted
 * lazily (skipped when they reach the top) so cancel is O(1); the heap is rebuilt when
 * dead entries outnumber live ones, so its size stays within twice the live count.
 */
export class TypeQueue {
  readonly name: string;
  /** Position among the pool's types. */
  readonly index: number;
  readonly concurrency: number;
  readonly config: NormalizedType;
  running = 0;
  /** Live (still queued) entries in the heap. */
  queued = 0;
  readonly #heap = new Heap<QueueSlot>(bySlotOrder);
  /** Start times of the last `rate.limit` starts. */
  readonly #starts: RingBuffer<number> | undefined;

  constructor(config: NormalizedType, index: number) {
    this.config = config;
    this.index = index;
    this.name = config.name;
    this.concurrency = config.concurrency;
    this.#starts = config.rate ? new RingBuffer<number>(config.rate.limit) : undefined;
  }

  push(job: JobRecord): void {
    job.inQueue = true;
    this.queued++;
    this.#heap.push({ rank: job.rank, seq: job.seq, job });
  }

  /** The next live job, dropping dead entries from the top. */
  peek(): JobRecord | undefined {
    let top = this.#heap.peek();
    while (top !== undefined && !top.job.inQueue) {
      this.#heap.pop();
      top = this.#heap.peek();
    }
    return top?.job;
  }

  /** Removes and returns the next live job. */
  take(): JobRecord | undefined {
    const job = this.peek();
    if (job === undefined) return undefined;
    this.#heap.pop();
    job.inQueue = false;
    if (--this.queued === 0) this.#heap.clear(); // only dead entries can be left
    return job;
  }

  /** Marks a queued job removed (lazy deletion). */
  remove(job: JobRecord): void {
    if (!job.inQueue) return;
    job.inQueue = false;
    if (--this.queued === 0) {
      this.#heap.clear(); // only dead entries can be left
      return;
    }
    const size = this.#heap.length;
    if (size > 64 && size > 2 * this.queued) {
      this.#heap.init(this.#heap.heapArray.filter((slot) => slot.job.inQueue));
    }
  }

  /** The heap's backing array (a binary heap in dispatch order); read only. */
  get heapArray(): readonly QueueSlot[] {
    return this.#heap.heapArray;
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
