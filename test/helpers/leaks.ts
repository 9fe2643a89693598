/**
 * Leak checks for tests: after each test, no timers the test created still pending, no
 * other active handles beyond those present before it (`process.getActiveResourcesInfo()`:
 * MessagePorts, worker threads, sockets, files…), no unhandled rejections, no process
 * warnings (such as MaxListenersExceededWarning). Installed for every test file by
 * `setup.ts`; the pieces are exported so a test can check a region of its own.
 */
/** Counts of `process.getActiveResourcesInfo()` by resource type, timers excluded. */
export type ResourceCounts = Map<string, number>;

/**
 * Timers are tracked one by one (see {@link TimerWatch}) rather than counted: the test
 * runner's own timers come and go during a test, so a count could hide a leaked timer.
 */
const TIMER_TYPES = new Set(['Timeout', 'Immediate']);

export function activeResources(): ResourceCounts {
  const counts: ResourceCounts = new Map();
  for (const type of process.getActiveResourcesInfo()) {
    if (!TIMER_TYPES.has(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}

/** Resource types with more instances now than in `baseline`, as `type +n`. */
export function resourcesAbove(baseline: ResourceCounts, now = activeResources()): string[] {
  const extra: string[] = [];
  for (const [type, count] of now) {
    const before = baseline.get(type) ?? 0;
    if (count > before) extra.push(`${type} +${count - before}`);
  }
  return extra;
}

/** Lets pending rejections be reported and closing handles finish closing. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

type Timer = ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate>;

/**
 * Records the timers created through the global `setTimeout`/`setInterval`/
 * `setImmediate` while installed, and forgets each when it fires (once) or is cleared.
 */
export class TimerWatch {
  readonly #live = new Map<Timer, string>();
  readonly #real = {
    setTimeout: globalThis.setTimeout,
    clearTimeout: globalThis.clearTimeout,
    setInterval: globalThis.setInterval,
    clearInterval: globalThis.clearInterval,
    setImmediate: globalThis.setImmediate,
    clearImmediate: globalThis.clearImmediate,
  };

  constructor() {
    const real = this.#real;
    const live = this.#live;
    const forget = (timer: unknown): void => {
      live.delete(timer as Timer);
    };
    const patched = {
      setTimeout: (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
        const timer = real.setTimeout(
          (...a: unknown[]) => {
            live.delete(timer);
            fn(...a);
          },
          ms,
          ...args,
        );
        live.set(timer, `setTimeout(${ms ?? 0} ms)`);
        return timer;
      },
      setInterval: (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
        const timer = real.setInterval(fn, ms, ...args);
        live.set(timer, `setInterval(${ms ?? 0} ms)`);
        return timer;
      },
      setImmediate: (fn: (...args: unknown[]) => void, ...args: unknown[]) => {
        const timer = real.setImmediate(
          (...a: unknown[]) => {
            live.delete(timer);
            fn(...a);
          },
          ...args,
        );
        live.set(timer, 'setImmediate');
        return timer;
      },
      clearTimeout: (timer?: unknown) => {
        forget(timer);
        real.clearTimeout(timer as ReturnType<typeof setTimeout>);
      },
      clearInterval: (timer?: unknown) => {
        forget(timer);
        real.clearInterval(timer as ReturnType<typeof setInterval>);
      },
      clearImmediate: (timer?: unknown) => {
        forget(timer);
        real.clearImmediate(timer as ReturnType<typeof setImmediate>);
      },
    };
    Object.assign(globalThis, patched);
  }

  /** Descriptions of the timers still pending. */
  pending(): string[] {
    return [...this.#live.values()];
  }

  /** Restores the real timer functions. */
  stop(): void {
    Object.assign(globalThis, this.#real);
    this.#live.clear();
  }
}

/** Watches the process for unhandled rejections and warnings until `stop()`. */
export class ProcessWatch {
  readonly unhandled: unknown[] = [];
  readonly warnings: Error[] = [];
  readonly #onRejection = (reason: unknown): void => {
    this.unhandled.push(reason);
  };
  readonly #onWarning = (warning: Error): void => {
    this.warnings.push(warning);
  };

  constructor() {
    process.on('unhandledRejection', this.#onRejection);
    process.on('warning', this.#onWarning);
  }

  stop(): void {
    process.off('unhandledRejection', this.#onRejection);
    process.off('warning', this.#onWarning);
  }
}

/**
 * Problems found since `baseline` was taken, as messages (empty when clean). Call it with
 * real timers in place (`vi.useRealTimers()` first, as setup.ts does).
 */
export async function findLeaks(
  baseline: ResourceCounts,
  watch: ProcessWatch,
  timers?: TimerWatch,
): Promise<string[]> {
  await settle();
  // A worker thread torn down by an abort finishes exiting (and closes its ports) on its
  // own schedule: give handles that are closing a moment, then report what is left.
  for (let i = 0; i < 50 && resourcesAbove(baseline).length > 0; i++) {
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
  }
  const problems: string[] = [];
  const pendingTimers = timers?.pending() ?? [];
  if (pendingTimers.length > 0) problems.push(`timers left pending: ${pendingTimers.join(', ')}`);
  const extra = resourcesAbove(baseline);
  if (extra.length > 0) problems.push(`active resources left behind: ${extra.join(', ')}`);
  for (const reason of watch.unhandled) problems.push(`unhandled rejection: ${String(reason)}`);
  for (const warning of watch.warnings) {
    problems.push(`process warning: ${warning.name}: ${warning.message}`);
  }
  return problems;
}
