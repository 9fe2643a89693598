import { after, type Timer } from '../internal/timer.js';

/**
 * Coalesces one job's progress events: the first report goes out at once, later ones at
 * most once per `intervalMs`, and the latest value always goes out last (`flush` sends a
 * pending one before the job's end). Created only for a job that reports progress while
 * someone listens.
 * @internal
 */
export class ProgressCoalescer {
  readonly #intervalMs: number;
  readonly #send: () => void;
  #timer: Timer | undefined;
  #dirty = false;

  constructor(intervalMs: number, send: () => void) {
    this.#intervalMs = intervalMs;
    this.#send = send;
  }

  report(): void {
    if (this.#timer !== undefined) {
      this.#dirty = true;
      return;
    }
    this.#send();
    this.#timer = after(this.#intervalMs, this.#tick);
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (!this.#dirty) return;
    this.#dirty = false;
    this.report();
  };

  /** Sends a pending report now. */
  flush(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    this.#send();
  }

  /** Drops the timer (the job ended). */
  stop(): void {
    this.#timer?.clear();
    this.#timer = undefined;
    this.#dirty = false;
  }
}
