/**
 * The pool and bus benchmarks at a tiny scale, as a crash check: every case runs, checks
 * that each consumer received everything (the cases throw otherwise), cleans up, and the
 * goals are printed. Nothing about speed is asserted: timings belong in `bench/`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { benchBus } from '../bench/bus.js';
import { benchPool } from '../bench/pool.js';

const SCALE = 0.001;

/** What the benchmark prints, kept instead of shown. */
function printed(): string[] {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  });
  return lines;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe(`benchmarks at BENCH_SCALE ${SCALE} (a crash check)`, () => {
  it('bus: every case runs and the goals are printed with a verdict each', async () => {
    const lines = printed();
    await benchBus(SCALE);
    const goals = lines.slice(lines.findIndex((line) => line.includes('bus goals')));
    expect(goals.filter((line) => /\b(met|MISSED|measured)$/.test(line))).toHaveLength(4);
  }, 120_000);

  it('pool: every case runs and the goals are printed with a verdict each', async () => {
    const lines = printed();
    await benchPool(SCALE);
    const goals = lines.slice(lines.findIndex((line) => line.includes('pool goals')));
    expect(goals.filter((line) => /\b(met|MISSED|measured)$/.test(line))).toHaveLength(13);
  }, 120_000);
});
