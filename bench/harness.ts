import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * A tiny benchmark harness: each case runs a warm-up, then `rounds` timed rounds in
 * the same process; the median is reported and every case is shown as a ratio to the
 * first (workbus) case of its table. No thresholds: these machines are shared and noisy.
 */
export interface Case {
  readonly name: string;
  /** Runs `ops` operations; resolves when they are all done. */
  readonly run: (ops: number) => Promise<void>;
}

export interface Row {
  readonly name: string;
  readonly opsPerSec: number;
  readonly ratio: number;
}

export async function measure(cases: readonly Case[], ops: number, rounds = 5): Promise<Row[]> {
  const medians: number[] = [];
  for (const c of cases) {
    await c.run(Math.min(ops, 10_000));
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const start = process.hrtime.bigint();
      await c.run(ops);
      times.push(Number(process.hrtime.bigint() - start) / 1e9);
    }
    times.sort((a, b) => a - b);
    medians.push(ops / (times[Math.floor(times.length / 2)] ?? Number.NaN));
  }
  const base = medians[0] ?? Number.NaN;
  return cases.map((c, i) => ({
    name: c.name,
    opsPerSec: medians[i] ?? 0,
    ratio: (medians[i] ?? 0) / base,
  }));
}

export function printTable(title: string, rows: readonly Row[], unit = 'ops/s'): void {
  console.log(`\n${title}`);
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    const rate = Math.round(r.opsPerSec).toLocaleString('en-US').padStart(12);
    console.log(`  ${r.name.padEnd(width)}  ${rate} ${unit}  ${r.ratio.toFixed(2)}× workbus`);
  }
}

/** How long `fn` took, and how long the event loop was held meanwhile. */
export interface LoopSample {
  readonly seconds: number;
  /** The event loop's delay (`monitorEventLoopDelay`, 1 ms resolution), p99 and max, in ms. */
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Runs `fn`, timing it and recording the event loop's delay meanwhile. */
export async function withLoopDelay(fn: () => Promise<void>): Promise<LoopSample> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // The monitor measures from its first tick: let that tick happen before the work.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const start = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  // Likewise, a stretch is recorded at the tick after it: a blocking call shows up then.
  await new Promise((resolve) => setTimeout(resolve, 5));
  delay.disable();
  return { seconds, p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 };
}
