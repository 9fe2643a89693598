/** The lowest level a {@link BucketQueue} holds. @internal */
export const MIN_LEVEL = -32;
/** The highest level a {@link BucketQueue} holds. @internal */
export const MAX_LEVEL = 31;

/** Whether `rank` is one of a {@link BucketQueue}'s levels: an integer from −32 to 31. @internal */
export function fitsLevel(rank: number): boolean {
  return Number.isInteger(rank) && rank >= MIN_LEVEL && rank <= MAX_LEVEL;
}

/**
 * One level: its entries in sequence order, from `head` on (the slots before it were
 * taken, and are dropped once they are most of the array).
 */
interface Level<T> {
  items: (T | undefined)[];
  head: number;
}

/**
 * A priority queue for small integer ranks (−32 to 31): an array of levels, each holding
 * its entries in sequence order, and the highest level that holds any. Push and pop are
 * O(1) — no comparisons, no entry objects (the items themselves are stored) — where a
 * binary heap pays O(log n) cache-missing comparisons and an entry per push. An entry
 * whose sequence number is below its level's last one (a retried or re-ranked job keeps
 * its place in submission order) is inserted by binary search instead; an item pushed
 * back to a level where its own dead entry still waits revives that entry.
 *
 * Deletion is lazy, as in {@link LazyHeap}: `isLive(item, level)` says whether an entry
 * still counts (its item was not taken, removed or moved to another level), dead ones
 * are skipped when they reach the front, and every level is filtered when dead entries
 * outnumber live ones, so the queue stays within twice the live count.
 * @internal
 */
export class BucketQueue<T> {
  readonly #levels = new Array<Level<T> | undefined>(MAX_LEVEL - MIN_LEVEL + 1).fill(undefined);
  /** Entries held, dead ones included. */
  #size = 0;
  /** The highest level that may hold an entry (−∞ when none does). */
  #top = Number.NEGATIVE_INFINITY;
  readonly #seqOf: (item: T) => number;
  readonly #isLive: (item: T, level: number) => boolean;

  constructor(seqOf: (item: T) => number, isLive: (item: T, level: number) => boolean) {
    this.#seqOf = seqOf;
    this.#isLive = isLive;
  }

  /** Entries held, dead ones included. */
  get size(): number {
    return this.#size;
  }

  /** Adds `item` at `level` (which must {@link fitsLevel}), after every entry of a lower sequence number. */
  push(level: number, item: T): void {
    const index = level - MIN_LEVEL;
    let l = this.#levels[index];
    if (l === undefined) {
      l = { items: [], head: 0 };
      this.#levels[index] = l;
    }
    const items = l.items;
    const last = items.length === l.head ? undefined : items[items.length - 1];
    const seq = this.#seqOf(item);
    if (last === undefined || this.#seqOf(last) < seq) {
      items.push(item);
    } else {
      let lo = l.head;
      let hi = items.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.#seqOf(items[mid] as T) < seq) lo = mid + 1;
        else hi = mid;
      }
      // Its own dead entry, still in place: it is live again (and already in order).
      if (items[lo] === item) {
        if (level > this.#top) this.#top = level;
        return;
      }
      items.splice(lo, 0, item);
    }
    this.#size++;
    if (level > this.#top) this.#top = level;
  }

  /** The first live entry (highest level, lowest sequence number), dropping dead ones. */
  peek(): T | undefined {
    while (this.#top >= MIN_LEVEL) {
      const level = this.#top;
      const l = this.#levels[level - MIN_LEVEL];
      if (l !== undefined) {
        // Not cached: a drop may replace the array.
        while (l.head < l.items.length) {
          const item = l.items[l.head] as T;
          if (this.#isLive(item, level)) return item;
          this.#drop(l);
        }
        l.items = [];
        l.head = 0;
      }
      this.#top = this.#nextBelow(level);
    }
    return undefined;
  }

  /** Removes and returns the first live entry. */
  pop(): T | undefined {
    const item = this.peek();
    if (item !== undefined) this.#drop(this.#levels[this.#top - MIN_LEVEL] as Level<T>);
    return item;
  }

  /**
   * Called after an entry died, with the number still live: clears the queue when none
   * is, and drops the dead entries when they outnumber the live ones.
   */
  compact(live: number): void {
    if (live === 0) {
      if (this.#size > 0) this.clear();
    } else if (this.#size > 64 && this.#size > 2 * live) {
      this.#size = 0;
      this.#levels.forEach((l, index) => {
        if (l === undefined) return;
        const level = index + MIN_LEVEL;
        l.items = l.items.slice(l.head).filter((item) => this.#isLive(item as T, level));
        l.head = 0;
        this.#size += l.items.length;
      });
    }
  }

  clear(): void {
    this.#levels.fill(undefined);
    this.#size = 0;
    this.#top = Number.NEGATIVE_INFINITY;
  }

  /** The live entries in queue order, with their levels (read lazily: stop early for free). */
  *entries(): Generator<[T, number]> {
    for (let level = this.#top; level >= MIN_LEVEL; level--) {
      const l = this.#levels[level - MIN_LEVEL];
      if (l === undefined) continue;
      for (let i = l.head; i < l.items.length; i++) {
        const item = l.items[i] as T;
        if (this.#isLive(item, level)) yield [item, level];
      }
    }
  }

  /** Drops a level's front entry; the taken part of its array goes once it is most of it. */
  #drop(l: Level<T>): void {
    l.items[l.head++] = undefined;
    this.#size--;
    if (l.head >= 1024 && l.head * 2 >= l.items.length) {
      l.items = l.items.slice(l.head);
      l.head = 0;
    }
  }

  #nextBelow(level: number): number {
    for (let next = level - 1; next >= MIN_LEVEL; next--) {
      const l = this.#levels[next - MIN_LEVEL];
      if (l !== undefined && l.head < l.items.length) return next;
    }
    return Number.NEGATIVE_INFINITY;
  }
}
