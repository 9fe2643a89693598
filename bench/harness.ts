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
