import { abortErrorOf, throwIfAborted } from '../abort.js';
import { ClosedError, QueueFullError } from '../errors.js';
import { WaitList } from '../internal/wait-list.js';
import type { JobRecord } from './job-record.js';
import { LazyHeap, highestFirst, lowestFirst, type Slot } from './lazy-heap.js';

/**
 * The queue's room: how many jobs are queued, the `run()` callers waiting for room, and
 * (with `whenFull: 'drop-lowest'`) the index of the lowest-ranked queued job to evict.
 *
 * Room is handed over, not announced: when a queued job leaves, the room it frees is
 * *reserved* for the longest-waiting `run()` caller in the same synchronous step, and
 * `submit` sees a reserved place as taken. So waiters are served strictly in arrival
 * order (a `submit` landing in the tick between a grant and the waiter's resumption
 * cannot take its place), and a waiter that gives up after its grant — its signal
 * aborted in that very tick — hands its reservation to the next waiter instead of
 * losing the wake-up.
 * @internal
 */
export class Admission {
  readonly capacity: number;
  /** Jobs in the queues now. */
  queued = 0;
  /** Places granted to `run()` callers that have not resumed yet. */
  #reserved = 0;
  readonly #waiters = new WaitList<undefined, undefined>();
  readonly #lowest: LazyHeap<JobRecord> | undefined;

  constructor(capacity: number, whenFull: 'reject' | 'drop-lowest') {
    this.capacity = capacity;
    this.#lowest =
      whenFull === 'drop-lowest'
        ? new LazyHeap<JobRecord>(lowestFirst, (slot) => slot.item.slot === slot)
        : undefined;
  }

  /** Whether a job can be queued now without waiting (and without evicting). */
  get hasRoom(): boolean {
    return this.queued + this.#reserved < this.capacity && this.#waiters.size === 0;
  }

  /**
   * Waits for a reserved place (FIFO). Resolves once one is reserved for the caller, who
   * must then {@link Admission.take} it or {@link Admission.giveBack} it synchronously.
   * @throws an abort error if `signal` aborts first (or in the tick of the grant, when the
   * place goes to the next waiter); ClosedError if the queue closes.
   */
  async reserve(signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    await this.#waiters.park(undefined, signal);
    if (signal?.aborted) {
      this.giveBack();
      throw abortErrorOf(signal);
    }
  }

  /** The caller queues a job in its reserved place. */
  take(): void {
    this.#reserved--;
  }

  /** The caller did not use its reserved place: it goes to the next waiter. */
  giveBack(): void {
    this.#reserved--;
    this.#handOver();
  }

  /** A job entered the queue (its slot is live; a pool that evicts always has one). */
  entered(slot: Slot<JobRecord> | undefined): void {
    this.queued++;
    const lowest = this.#lowest;
    if (lowest === undefined || slot === undefined) return;
    lowest.push(slot);
    lowest.compact(this.queued);
  }

  /** A job left the queue (started, cancelled or evicted; its slot is dead). */
  left(): void {
    this.queued--;
    this.#lowest?.compact(this.queued);
    this.#handOver();
  }

  /** A queued job was re-ranked: its new slot replaces the old one in the eviction index. */
  reranked(slot: Slot<JobRecord> | undefined): void {
    if (slot !== undefined) this.#lowest?.push(slot);
  }

  /**
   * Makes room for `incoming` in a full queue: the lowest-ranked queued job, to evict
   * (`'drop-lowest'`), or QueueFullError.
   */
  victimFor(incoming: Slot<JobRecord>): JobRecord {
    const lowest = this.#lowest;
    if (lowest === undefined) {
      throw new QueueFullError(
        `WorkPool queue is full (capacity ${this.capacity}, whenFull 'reject'); use run() to wait for room`,
      );
    }
    const victim = lowest.peek();
    // Only a newcomer that would be dispatched before the victim may take its place.
    if (victim === undefined || highestFirst(incoming, victim) >= 0) {
      throw new QueueFullError(
        `WorkPool queue is full (capacity ${this.capacity}) and holds nothing ranked below priority ${incoming.item.priority}`,
      );
    }
    return victim.item;
  }

  /** Refuses every waiter (the pool is closing). */
  close(): void {
    this.#waiters.refuseAll(() => new ClosedError('WorkPool closed while waiting for queue room'));
  }

  #handOver(): void {
    while (this.queued + this.#reserved < this.capacity) {
      const waiter = this.#waiters.peek();
      if (waiter === undefined) return;
      this.#reserved++;
      this.#waiters.grant(waiter, undefined);
    }
  }
}
