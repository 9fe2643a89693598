/**
 * The right to hold (part of) a lock. Release it exactly when done: `release()` is
 * idempotent, so a `finally` and a `using` declaration may both call it safely.
 */
export interface Permit extends Disposable {
  /** How much of the lock's capacity this permit holds. */
  readonly weight: number;
  /** Whether `release()` has been called. */
  readonly released: boolean;
  /** Gives the capacity back and wakes whoever it unblocks. A second call does nothing. */
  release(): void;
}

/** The one `Permit` implementation; `onRelease` runs once, on the first release. */
export class Grant implements Permit {
  readonly weight: number;
  #onRelease: ((weight: number) => void) | undefined;

  constructor(weight: number, onRelease: (weight: number) => void) {
    this.weight = weight;
    this.#onRelease = onRelease;
  }

  get released(): boolean {
    return this.#onRelease === undefined;
  }

  release(): void {
    const onRelease = this.#onRelease;
    if (onRelease === undefined) return;
    this.#onRelease = undefined;
    onRelease(this.weight);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
