const PAGE = 1024;

/** One run of {@link PAGE} consecutive sequence numbers, and how many of them are held. */
interface Page<T> {
  readonly items: (T | undefined)[];
  held: number;
}

/**
 * Items by sequence number, for numbers handed out in increasing order and mostly
 * removed in about that order: the pool's unfinished jobs, which `cancel(id)` looks up.
 *
 * They are kept in pages of 1,024 consecutive numbers, so adding and removing one is an
 * array write (and a lookup in a map of a few pages); a page goes with its last item. A
 * Map keyed by every sequence number rehashes as it grows and shrinks: 100,000 adds and
 * removes took 55–95 ms there against 1–2 ms here (measured on the CI machine), a tenth
 * of a deep queue's whole run. The cost: an item held far longer than its neighbours
 * keeps its page (4 KiB) alive.
 * @internal
 */
export class SeqIndex<T> {
  readonly #pages = new Map<number, Page<T>>();
  /** The page new numbers go to, not looked up for every add. */
  #newest: Page<T> | undefined = undefined;
  #newestNumber = -1;

  /** Holds `item` under `seq`, a non-negative integer not held already. */
  add(seq: number, item: T): void {
    const number = Math.floor(seq / PAGE);
    let page = number === this.#newestNumber ? this.#newest : this.#pages.get(number);
    if (page === undefined) {
      page = { items: new Array<T | undefined>(PAGE).fill(undefined), held: 0 };
      this.#pages.set(number, page);
    }
    if (number >= this.#newestNumber) {
      this.#newest = page;
      this.#newestNumber = number;
    }
    page.items[seq % PAGE] = item;
    page.held++;
  }

  get(seq: number): T | undefined {
    if (!Number.isSafeInteger(seq) || seq < 0) return undefined;
    return this.#pages.get(Math.floor(seq / PAGE))?.items[seq % PAGE];
  }

  /** Removes what `seq` holds, if anything. */
  delete(seq: number): void {
    const number = Math.floor(seq / PAGE);
    const page = number === this.#newestNumber ? this.#newest : this.#pages.get(number);
    const index = seq % PAGE;
    if (page === undefined || page.items[index] === undefined) return;
    page.items[index] = undefined;
    if (--page.held > 0) return;
    this.#pages.delete(number);
    if (page === this.#newest) {
      this.#newest = undefined;
      this.#newestNumber = -1;
    }
  }
}
