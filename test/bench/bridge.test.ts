/**
 * The bridge benchmark runs to its end at a tiny scale and prints its rows: a crash check,
 * nothing about its figures (timings are printed by `npm run bench`, never asserted).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('bench/bridge.ts', () => {
  it('runs the work hosted in a worker and on the main thread at BENCH_SCALE=0.01 and prints a row for each, their ratio and the delay of an idle main thread', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/bridge.ts'],
      { cwd: root, env: { ...process.env, BENCH_SCALE: '0.01' }, timeout: 120_000 },
    );
    expect(stdout).toMatch(/^bridge: 4 CPU jobs of 20 ms and a 200-row write/m);
    expect(stdout).toMatch(
      /hosted in a worker, client over a MessagePort +[\d.]+ s +loop delay p99 +[\d.]+ ms, max +[\d.]+ ms +\d+ events/,
    );
    expect(stdout).toMatch(
      /on the main thread \(no bridge\) +[\d.]+ s +loop delay p99 +[\d.]+ ms, max +[\d.]+ ms +\d+ events/,
    );
    expect(stdout).toMatch(/main-thread work vs hosted: [\d.]+×/);
    expect(stdout).toMatch(
      /an idle main thread meanwhile: loop delay p99 [\d.]+ ms, max [\d.]+ ms/,
    );
  }, 180_000);
});
