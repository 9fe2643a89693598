/**
 * Leak checks for tests: after each test, no active handles or timers beyond those
 * present before it, no unhandled rejections, no process warnings (such as
 * MaxListenersExceededWarning). Installed for every test file by `setup.ts`;
 * the functions are exported so a test can check a specific region too.
 */
import { vi } from 'vitest';

/** Counts of `process.getActiveResourcesInfo()` by resource type. */
export type ResourceCounts = Map<string, number>;

export function activeResources(): ResourceCounts {
  const counts: ResourceCounts = new Map();
  for (const type of process.getActiveResourcesInfo())
    counts.set(type, (counts.get(type) ?? 0) + 1);
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

/** Problems found since `baseline` was taken, as messages (empty when clean). */
export async function findLeaks(baseline: ResourceCounts, watch: ProcessWatch): Promise<string[]> {
  vi.useRealTimers();
  await settle();
  const problems: string[] = [];
  const extra = resourcesAbove(baseline);
  if (extra.length > 0) problems.push(`active resources left behind: ${extra.join(', ')}`);
  for (const reason of watch.unhandled) problems.push(`unhandled rejection: ${String(reason)}`);
  for (const warning of watch.warnings)
    problems.push(`process warning: ${warning.name}: ${warning.message}`);
  return problems;
}
