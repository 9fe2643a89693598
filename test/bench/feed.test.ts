/**
 * The feed benchmark runs to its end at a tiny scale and prints its rows: a crash check,
 * nothing about its figures (timings are printed by `npm run bench`, never asserted).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('bench/feed.ts', () => {
  it('completes one cycle per parse mode at BENCH_SCALE=0.01 and prints a row for each, and their ratio', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/feed.ts'],
      { cwd: root, env: { ...process.env, BENCH_SCALE: '0.01' }, timeout: 120_000 },
    );
    expect(stdout).toMatch(/^feed: one fetch cycle over 27 feeds/m);
    expect(stdout).toMatch(
      /parse on 2 worker threads +[\d.]+ feeds\/s +[\d,]+ items\/s +loop stall max/,
    );
    expect(stdout).toMatch(
      /parse on the main thread +[\d.]+ feeds\/s +[\d,]+ items\/s +loop stall max/,
    );
    expect(stdout).toMatch(/worker vs main: [\d.]+× feeds\/s/);
  }, 180_000);
});
