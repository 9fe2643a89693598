import { describe, expect, it } from 'vitest';
import {
  EventBus,
  WorkPool,
  isAbortError,
  NonRetryableError,
  TimeoutError,
  type JobView,
  type PoolEvents,
} from '../../src/index.js';
import type { CpuInput } from './fixtures/cpu.worker.js';

const workerModule = new URL('./fixtures/cpu.worker.mjs', import.meta.url);

function newPool(bus?: EventBus<PoolEvents>) {
  return new WorkPool({
    concurrency: 4,
    types: {
      cpu: { concurrency: 2, worker: workerModule, cancelGraceMs: 200 },
      io: { concurrency: 2 },
    },
    abortGraceMs: 200,
    ...(bus ? { bus, progressIntervalMs: 0 } : {}),
  });
}

describe('worker-thread job types', () => {
  it('runs structured-cloned input in a thread and returns the result', async () => {
    const pool = newPool();
    const input: CpuInput = { mode: 'echo', value: { n: 1, list: [1, 2], when: new Date(0) } };
    const job = pool.submit('cpu', input);
    await expect(job.result).resolves.toEqual({
      value: { n: 1, list: [1, 2], when: new Date(0) },
      id: job.id,
      attempt: 1,
    });
    await pool.close();
  });

  it('copies the input at submit, so later changes by the caller do not reach the thread', async () => {
    const pool = newPool();
    const value = { n: 1 };
    const job = pool.submit('cpu', { mode: 'echo', value } satisfies CpuInput);
    value.n = 2;
    await expect(job.result).resolves.toMatchObject({ value: { n: 1 } });
    await pool.close();
  });

  it('refuses a function, or input that cannot be cloned, with a TypeError', async () => {
    const pool = newPool();
    // The runtime check is for callers the compiler cannot see (plain JavaScript, casts).
    // @ts-expect-error a worker type takes input, not a function
    expect(() => pool.submit('cpu', () => 1)).toThrow(
      /worker threads: submit structured-cloneable input/,
    );
    expect(() => pool.submit('cpu', { mode: 'echo', value: () => 1 })).toThrow(
      /must be structured-cloneable/,
    );
    await pool.close();
  });

  it('tears down a CPU-bound task that never checks its signal, and the pool goes on', async () => {
    const pool = newPool();
    const spinning = pool.submit('cpu', { mode: 'spin' } satisfies CpuInput);
    await waitFor(() => spinning.status === 'running');
    spinning.cancel('enough');
    await expect(spinning.result).rejects.toSatisfy(isAbortError);
    expect(spinning.status).toBe('cancelled');
    const next = pool.submit('cpu', { mode: 'echo', value: 'after' } satisfies CpuInput);
    await expect(next.result).resolves.toMatchObject({ value: 'after' });
    await pool.close();
  });

  it('a timed-out worker job fails with TimeoutError at its deadline, and its thread serves the next job', async () => {
    const pool = newPool();
    // Warm the thread first, so the abort does not arrive while the module still loads.
    await pool.submit('cpu', { mode: 'echo', value: 'warm' } satisfies CpuInput).result;
    const job = pool.submit('cpu', { mode: 'cooperative' } satisfies CpuInput, { timeoutMs: 50 });
    await expect(job.result).rejects.toBeInstanceOf(TimeoutError);
    expect(job.status).toBe('failed');
    const next = pool.submit('cpu', { mode: 'echo', value: 'after' } satisfies CpuInput);
    await expect(next.result).resolves.toMatchObject({ value: 'after' });
    await pool.close();
  });

  it('a cancelled cooperative task ends cancelled', async () => {
    const pool = newPool();
    const job = pool.submit('cpu', { mode: 'cooperative' } satisfies CpuInput);
    await waitFor(() => job.status === 'running');
    job.cancel('stop please');
    await expect(job.result).rejects.toSatisfy(isAbortError);
    expect(job.status).toBe('cancelled');
    await pool.close();
  });

  it('times out a worker job with TimeoutError', async () => {
    const pool = newPool();
    const job = pool.submit('cpu', { mode: 'spin' } satisfies CpuInput, { timeoutMs: 50 });
    await expect(job.result).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(job.status).toBe('failed');
    await pool.close();
  });

  it('reports a thrown error from the thread as the job failure', async () => {
    const pool = newPool();
    const job = pool.submit('cpu', { mode: 'throw', message: 'bad input' } satisfies CpuInput);
    await expect(job.result).rejects.toThrow('bad input');
    expect(job.view().error).toMatchObject({ message: 'bad input' });
    await pool.close();
  });

  it('a NonRetryableError thrown in the thread fails the job at once, keeping its class and cause', async () => {
    const pool = newPool();
    const job = pool.submit(
      'cpu',
      { mode: 'nonRetryable', message: 'not found', cause: '404' } satisfies CpuInput,
      { retry: { attempts: 3, baseMs: 0 } },
    );
    const error = await job.result.catch((e: unknown) => e);
    // Cloning across the thread boundary keeps only a plain Error: the class is restored.
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error).toMatchObject({ code: 'NON_RETRYABLE', message: 'not found' });
    expect((error as Error).cause).toMatchObject({ message: '404' });
    expect(job.view()).toMatchObject({ status: 'failed', attempt: 1 });
    await pool.close();
  });

  it('keeps a NonRetryableError’s permanent flag across the thread boundary', async () => {
    const pool = newPool();
    const permanent = pool.submit('cpu', { mode: 'permanent', message: '410' } satisfies CpuInput);
    const plain = pool.submit('cpu', { mode: 'nonRetryable', message: '404', cause: 'x' });
    expect(await permanent.result.catch((e: unknown) => e)).toMatchObject({ permanent: true });
    expect(await plain.result.catch((e: unknown) => e)).toMatchObject({ permanent: false });
    await pool.close();
  });

  it('forwards progress from the thread to the pool', async () => {
    const bus = new EventBus<PoolEvents>();
    const progress: JobView[] = [];
    bus.on('job.progress', (view) => progress.push(view));
    const pool = newPool(bus);
    const job = pool.submit('cpu', { mode: 'progress' } satisfies CpuInput);
    await expect(job.result).resolves.toBe('reported');
    expect(progress.map((v) => [v.progress, v.note])).toContainEqual([0.5, 'half']);
    await pool.close();
    bus.close();
  });

  it('close tears down threads still running and reports them abandoned', async () => {
    const pool = newPool();
    const job = pool.submit('cpu', { mode: 'spin' } satisfies CpuInput);
    await waitFor(() => job.status === 'running');
    const report = await pool.close({ graceMs: 0 });
    // The abort reaches the thread, which ignores it; after cancelGraceMs it is torn down,
    // within the pool's abort grace, so the job ends cancelled rather than abandoned.
    expect(report.cancelled + report.abandoned.length).toBe(1);
    await expect(job.result).rejects.toSatisfy(isAbortError);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!condition()) throw new Error('condition not reached');
}
