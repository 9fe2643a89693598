import { integer } from '../validate.js';

/**
 * A fixed-capacity FIFO ring. `push` is O(1) and, when full, evicts the oldest item.
 * Reads hand out copies (`toArray`), so nothing a caller holds changes when the ring
 * moves on. Removed slots are cleared so evicted items can be garbage-collected.
 */
export class RingBuffer<T> {
  /** Maximum number of items kept. */
  readonly capacity: number;
  readonly #slots: (T | undefined)[];
  #head = 0;
  #size = 0;

  /** @throws TypeError/RangeError if `capacity` is not a positive integer. */
  constructor(capacity: number) {
    this.capacity = integer('capacity', capacity, 1, 2 ** 32 - 1);
    this.#slots = new Array<T | undefined>(this.capacity);
  }

  /** Number of items held. */
  get size(): number {
    return this.#size;
  }

  /** Whether `size === capacity` (the next `push` evicts). */
  get full(): boolean {
    return this.#size === this.capacity;
  }

  /**
   * Appends `item`. When full, the oldest item is evicted first and handed to `onEvict`
   * (a callback rather than a returned wrapper, so a push allocates nothing: a pool's
   * history and a drop-oldest channel push once per job or event).
   * @returns whether an item was evicted.
   */
  push(item: T, onEvict?: (evicted: T) => void): boolean {
    const tail = this.#index(this.#size);
    if (this.#size < this.capacity) {
      this.#slots[tail] = item;
      this.#size++;
      return false;
    }
    const evicted = this.#slots[tail] as T;
    this.#slots[tail] = item;
    this.#head = this.#index(1);
    onEvict?.(evicted);
    return true;
  }

  /** Removes and returns the oldest item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#slots[this.#head];
    this.#slots[this.#head] = undefined;
    this.#head = this.#index(1);
    this.#size--;
    return item;
  }

  /** The item at `index` (0 = oldest; negative counts from the newest), or `undefined`. */
  at(index: number): T | undefined {
    const i = index < 0 ? this.#size + index : index;
    if (!Number.isInteger(i) || i < 0 || i >= this.#size) return undefined;
    return this.#slots[this.#index(i)];
  }

  /** A new array of the items, oldest first. O(size). */
  toArray(): T[] {
    const out = new Array<T>(this.#size);
    for (let i = 0; i < this.#size; i++) out[i] = this.#slots[this.#index(i)] as T;
    return out;
  }

  /** Removes every item and returns them, oldest first. O(size). */
  drain(): T[] {
    const out = new Array<T>(this.#size);
    for (let i = 0; i < out.length; i++) {
      const at = this.#index(i);
      out[i] = this.#slots[at] as T;
      this.#slots[at] = undefined;
    }
    this.#head = 0;
    this.#size = 0;
    return out;
  }

  /** Removes every item. */
  clear(): void {
    this.#slots.fill(undefined);
    this.#head = 0;
    this.#size = 0;
  }

  #index(offset: number): number {
    const i = this.#head + offset;
    return i >= this.capacity ? i - this.capacity : i;
  }
}
