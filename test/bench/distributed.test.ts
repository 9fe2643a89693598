/**
 * The distributed benchmark runs to its end at a tiny scale against the tests' Redis and
 * prints its rows: a crash check, nothing about its figures (timings are printed by
 * `npm run bench`, never asserted).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { redisUrl } from '../helpers/redis.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('bench/distributed.ts', () => {
  it('runs the pool with 1, 2 and 4 worker processes against plain BullMQ, and the bus latencies, at BENCH_SCALE=0.01, printing a row for each', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/distributed.ts'],
      {
        cwd: root,
        env: { ...process.env, BENCH_SCALE: '0.01', WORKBUS_REDIS_URL: redisUrl() },
        timeout: 120_000,
      },
    );
    expect(stdout).toMatch(/^distributed: 100 no-op jobs through workers of concurrency 8/m);
    for (const workers of [1, 2, 4]) {
      expect(stdout).toMatch(new RegExp(`^ +${workers} +\\d+ +\\d+ +[\\d.]+×$`, 'm'));
    }
    expect(stdout).toMatch(/publish → delivery, 100 events: p50 [\d.]+ ms, p99 [\d.]+ ms/);
    expect(stdout).toMatch(/no subscriber +[\d.]+ \/ [\d.]+ +p99 1\.00× alone/);
    expect(stdout).toMatch(
      /beside a subscriber that never reads \(dropped \d+\) +[\d.]+ \/ [\d.]+/,
    );
    expect(stdout).toMatch(/beside a subscriber process stopped with SIGSTOP +[\d.]+ \/ [\d.]+/);
  }, 180_000);
});
