/**
 * Jobs finished per interval over the last minutes, from the running totals that
 * snapshots carry: the dashboard's chart needs no event stream and no host-side state.
 */

/** Options of {@link ThroughputMeter}. */
export interface ThroughputOptions {
  /** Width of one bar, in milliseconds. @default 10000 */
  readonly bucketMs?: number | undefined;
  /** Bars kept (the chart's span is `bucketMs × buckets`). @default 30 */
  readonly buckets?: number | undefined;
}

export class ThroughputMeter {
  readonly #bucketMs: number;
  readonly #buckets: number;
  /** The last total seen in each bucket (bucket index = floor(at / bucketMs)), oldest first. */
  readonly #last = new Map<number, number>();
  /** The last total seen before the oldest bucket kept: the base of its bar. */
  #base: number | undefined;

  constructor({ bucketMs = 10_000, buckets = 30 }: ThroughputOptions = {}) {
    if (!(Number.isInteger(bucketMs) && bucketMs > 0)) {
      throw new RangeError(`bucketMs must be a positive integer, got ${bucketMs}`);
    }
    if (!(Number.isInteger(buckets) && buckets > 0)) {
      throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
    }
    this.#bucketMs = bucketMs;
    this.#buckets = buckets;
  }

  /** Records the running total of finished jobs at time `at` (samples in time order). */
  add(at: number, total: number): void {
    // Jobs finished before the first sample are not this meter's to place in time.
    this.#base ??= total;
    const index = Math.floor(at / this.#bucketMs);
    this.#last.delete(index);
    this.#last.set(index, total);
    for (const [old, value] of this.#last) {
      if (old > index - this.#buckets) break;
      this.#base = value;
      this.#last.delete(old);
    }
  }

  /** Jobs finished in each of the last `buckets` intervals up to `now`, oldest first. */
  series(now: number): number[] {
    const end = Math.floor(now / this.#bucketMs);
    const first = end - this.#buckets + 1;
    const out: number[] = [];
    let previous = this.#base;
    for (const [index, total] of this.#last) {
      if (index >= first) break;
      previous = total;
    }
    for (let index = first; index <= end; index++) {
      const total = this.#last.get(index);
      if (total === undefined) {
        out.push(0);
        continue;
      }
      out.push(Math.max(0, total - (previous ?? total)));
      previous = total;
    }
    return out;
  }
}
