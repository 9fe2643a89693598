import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TaskError, WorkerError, WorkPool } from '../../src/index.js';
import { activeResources, resourcesAbove } from '../helpers/leaks.js';
import type { CpuInput } from './fixtures/cpu.worker.js';
import type { FaultyInput } from './fixtures/faulty.worker.js';

const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);
const cpuModule = fixture('cpu.worker.mjs');
const faultyModule = fixture('faulty.worker.mjs');

/** Generous bound for "does not hang": a failing job must settle long before it. */
const NO_HANG = { timeout: 30_000 };

/** A pool whose `bad` type runs `module` on one thread, next to a good worker type and an in-process type. */
function poolWith(module: URL) {
  return new WorkPool({
    concurrency: 4,
    types: {
      bad: { concurrency: 1, worker: module, cancelGraceMs: 100 },
      cpu: { concurrency: 1, worker: cpuModule, cancelGraceMs: 100 },
      io: { concurrency: 1 },
    },
    abortGraceMs: 1_000,
  });
}

/** The pool still runs jobs of the other types. */
async function expectOtherTypesServed(pool: ReturnType<typeof poolWith>): Promise<void> {
  const cpu = pool.submit('cpu', { mode: 'echo', value: 'still here' } satisfies CpuInput);
  await expect(cpu.result).resolves.toMatchObject({ value: 'still here' });
  await expect(pool.submit('io', () => 'io too').result).resolves.toBe('io too');
}

describe('a worker module that cannot run fails its job with WorkerError, not the process', () => {
  it.each([
    ['is missing', 'missing.worker.mjs', /Cannot find module/],
    ['fails to parse', 'broken-syntax.worker.mjs', /SyntaxError/],
    ['throws at import', 'throws-at-import.worker.mjs', /WORKER_CONFIG is not set/],
    ['has no default export', 'no-default.worker.mjs', /No handler function "default"/],
  ])('a module that %s', NO_HANG, async (_case, file, cause) => {
    const module = fixture(file);
    const pool = poolWith(module);
    const job = pool.submit('bad', { mode: 'echo', value: 1 });
    const error: unknown = await job.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerError);
    expect(error).toMatchObject({ code: 'WORKER_FAILED', type: 'bad', module: module.href });
    expect((error as WorkerError).message).toMatch(/failed to load/);
    expect(String((error as WorkerError).cause)).toMatch(cause);
    expect(job.status).toBe('failed');
    await expectOtherTypesServed(pool);
    await pool.close();
  });

  it('a module whose default export is not wrapped with workerTask', NO_HANG, async () => {
    const module = fixture('unwrapped.worker.mjs');
    const pool = poolWith(module);
    const job = pool.submit('bad', { mode: 'echo', value: 1 });
    await expect(job.result).rejects.toMatchObject({
      code: 'WORKER_FAILED',
      type: 'bad',
      module: module.href,
      message: expect.stringMatching(/is not wrapped with workerTask/) as unknown,
    });
    await expectOtherTypesServed(pool);
    await pool.close();
  });

  it('fails later jobs of the type too, until the module loads', NO_HANG, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'workbus-worker-'));
    try {
      const file = join(dir, 'late.worker.mjs');
      writeFileSync(file, "throw new Error('not configured yet');\n");
      const pool = poolWith(pathToFileURL(file));
      for (const attempt of [1, 2]) {
        const job = pool.submit('bad', { mode: 'echo', value: attempt } satisfies CpuInput);
        await expect(job.result).rejects.toMatchObject({ code: 'WORKER_FAILED' });
      }
      // Fixed on disk: the next job loads it afresh (no thread keeps the failed import).
      writeFileSync(file, `export { default } from ${JSON.stringify(cpuModule.href)};\n`);
      const job = pool.submit('bad', { mode: 'echo', value: 'loaded' } satisfies CpuInput);
      await expect(job.result).resolves.toMatchObject({ value: 'loaded' });
      await pool.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a worker task that misbehaves fails its job with WorkerError and frees its thread', () => {
  it.each([
    ['calls process.exit()', 'exit', /thread exited while running the job/],
    ['crashes its thread', 'crash', /thread crashed while running the job: Error: thread blew up/],
    [
      'returns a result that cannot be cloned',
      'uncloneable-result',
      /returned a result that cannot be cloned/,
    ],
    [
      'reports a progress note that cannot be cloned',
      'uncloneable-note',
      /progress the pool cannot take: TypeError: progress note must be a string/,
    ],
    [
      'reports bad progress and catches the error',
      'bad-progress-caught',
      /progress the pool cannot take: RangeError/,
    ],
    [
      'throws an error that cannot be cloned',
      'uncloneable-error',
      /threw a value that cannot be cloned.*: Error: failed with a handle attached/,
    ],
    [
      'throws a non-Error that cannot be cloned',
      'uncloneable-value',
      /threw a value that cannot be cloned/,
    ],
  ] as const)('a task that %s', NO_HANG, async (_case, mode, message) => {
    const pool = poolWith(faultyModule);
    const job = pool.submit('bad', { mode } satisfies FaultyInput);
    await expect(job.result).rejects.toMatchObject({
      code: 'WORKER_FAILED',
      type: 'bad',
      module: faultyModule.href,
      message: expect.stringMatching(message) as unknown,
    });
    expect(job.status).toBe('failed');
    // The type runs one job at a time: this one runs only if the failed job let go of it.
    const next = pool.submit('bad', { mode: 'echo', value: 'next' } satisfies FaultyInput);
    await expect(next.result).resolves.toBe('next');
    await expectOtherTypesServed(pool);
    await pool.close();
  });

  it('a thrown non-Error that clones fails the job with TaskError, as in process', async () => {
    const pool = poolWith(faultyModule);
    const job = pool.submit('bad', { mode: 'throw-value' } satisfies FaultyInput);
    const error: unknown = await job.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).cause).toEqual({ reason: 'quota' });
    await pool.close();
  });
});

describe('worker modules and close', () => {
  it('runs a TypeScript worker module through the documented tsx shim', async () => {
    const pool = poolWith(faultyModule);
    await expect(
      pool.submit('bad', { mode: 'echo', value: [1, 2] } satisfies FaultyInput).result,
    ).resolves.toEqual([1, 2]);
    await pool.close();
  });

  it('close resolves once every thread and port of the failed jobs is gone', NO_HANG, async () => {
    const baseline = activeResources();
    const pool = poolWith(faultyModule);
    const exited = pool.submit('bad', { mode: 'exit' } satisfies FaultyInput);
    const crashed = pool.submit('bad', { mode: 'crash' } satisfies FaultyInput);
    const spinning = pool.submit('cpu', { mode: 'spin' } satisfies CpuInput);
    await expect(exited.result).rejects.toBeInstanceOf(WorkerError);
    await expect(crashed.result).rejects.toBeInstanceOf(WorkerError);
    await pool.close({ graceMs: 0 });
    expect(spinning.status).toBe('cancelled');
    expect(resourcesAbove(baseline)).toEqual([]);
  });
});
