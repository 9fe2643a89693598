import { Heap } from 'heap-js';

/**
 * A queue entry: the two sort keys next to each other, so a sift compares small,
 * densely allocated objects instead of reaching into large job records (a pop over a
 * deep queue is bound by cache misses). One slot may sit in several heaps (a type's
 * queue and the pool's eviction index): it is live while its item still points at it.
 * @internal
 */
export interface Slot<T> {
  readonly rank: number;
  readonly seq: number;
  readonly item: T;
}

/** Higher rank first, then lower sequence number (so equal ranks are FIFO). @internal */
export function highestFirst(a: Slot<unknown>, b: Slot<unknown>): number {
  return b.rank - a.rank || a.seq - b.seq;
}

/** The exact reverse of {@link highestFirst}: the entry dispatched last comes first. @internal */
export function lowestFirst(a: Slot<unknown>, b: Slot<unknown>): number {
  return a.rank - b.rank || b.seq - a.seq;
}

/**
 * A binary heap (heap-js) with lazy deletion: removing an entry only makes it dead
 * (`isLive` turns false), and dead entries are dropped when they reach the top. So a
 * cancel, an eviction or a re-prioritisation is O(1); the heap is rebuilt from its live
 * entries when dead ones outnumber them, so it stays within twice the live count.
 * @internal
 */
export class LazyHeap<T> {
  readonly #heap: Heap<Slot<T>>;
  readonly #isLive: (slot: Slot<T>) => boolean;

  constructor(order: (a: Slot<T>, b: Slot<T>) => number, isLive: (slot: Slot<T>) => boolean) {
    this.#heap = new Heap<Slot<T>>(order);
    this.#isLive = isLive;
  }

  push(slot: Slot<T>): void {
    this.#heap.push(slot);
  }

  /** The first live entry, dropping dead ones from the top. */
  peek(): Slot<T> | undefined {
    let top = this.#heap.peek();
    while (top !== undefined && !this.#isLive(top)) {
      this.#heap.pop();
      top = this.#heap.peek();
    }
    return top;
  }

  /** Removes and returns the first live entry. */
  pop(): Slot<T> | undefined {
    const top = this.peek();
    if (top !== undefined) this.#heap.pop();
    return top;
  }

  /**
   * Called after an entry died, with the number still live: clears the heap when none
   * is, and rebuilds it from the live entries when dead ones outnumber them.
   */
  compact(live: number): void {
    const size = this.#heap.length;
    if (live === 0) this.#heap.clear();
    else if (size > 64 && size > 2 * live) {
      this.#heap.init(this.#heap.heapArray.filter((slot) => this.#isLive(slot)));
    }
  }

  /** The backing array (a binary heap in this heap's order, dead entries included); read only. */
  get slots(): readonly Slot<T>[] {
    return this.#heap.heapArray;
  }
}
