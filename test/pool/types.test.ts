/**
 * Compile-time contracts of WorkPool's types. `tsc` checks this file: each
 * `@ts-expect-error` line must fail to compile, every other line must compile. The
 * checks sit in functions that are never called, because submitting to the worker type
 * would start a thread; the runtime part only builds and closes a pool.
 */
import { describe, expectTypeOf, it } from 'vitest';
import { WorkPool, type Job } from '../../src/index.js';

const workerModule = new URL('./fixtures/cpu.worker.mjs', import.meta.url);

function newPool() {
  return new WorkPool({
    concurrency: 2,
    types: {
      fetch: { concurrency: 1 },
      parse: { concurrency: 1, worker: workerModule },
    },
  });
}

type Specific = ReturnType<typeof newPool>;

describe('WorkPool types', () => {
  it('a task type takes a function and types the job by its result', async () => {
    const check = (pool: Specific): void => {
      expectTypeOf(pool.submit('fetch', () => 1)).toEqualTypeOf<Job<number>>();
      expectTypeOf(pool.run('fetch', () => Promise.resolve('text'))).toEqualTypeOf<
        Promise<string>
      >();
    };
    expectTypeOf(check).toBeFunction();
    await newPool().close();
  });

  it('a task type refuses input', async () => {
    const check = (pool: Specific): void => {
      // @ts-expect-error a task type takes a function, not input
      pool.submit('fetch', { some: 'input' });
      // @ts-expect-error the same for run()
      void pool.run('fetch', 'input');
    };
    expectTypeOf(check).toBeFunction();
    await newPool().close();
  });

  it('a worker type takes structured-cloneable input, with submit and run', async () => {
    const check = (pool: Specific): void => {
      expectTypeOf(pool.submit('parse', { text: 'x' })).toEqualTypeOf<Job<unknown>>();
      expectTypeOf(pool.submit<number>('parse', { text: 'x' })).toEqualTypeOf<Job<number>>();
      interface ParseInput {
        readonly text: string;
      }
      const input: ParseInput = { text: 'x' };
      expectTypeOf(pool.run('parse', input)).toEqualTypeOf<Promise<unknown>>();
      pool.submit('parse', [new Date(0), new Map([['k', 1]])]);
      pool.submit('parse', 'plain text');
    };
    expectTypeOf(check).toBeFunction();
    await newPool().close();
  });

  it('a worker type refuses a function', async () => {
    const check = (pool: Specific): void => {
      // @ts-expect-error a worker type takes input, not a function
      pool.submit('parse', () => 1);
      // @ts-expect-error the same for run()
      void pool.run('parse', () => Promise.resolve(1));
    };
    expectTypeOf(check).toBeFunction();
    await newPool().close();
  });

  it('an unknown type name does not compile', async () => {
    const check = (pool: Specific): void => {
      // @ts-expect-error the pool has no embed type
      pool.submit('embed', () => 1);
      // @ts-expect-error nor do its controls
      pool.pause('embed');
    };
    expectTypeOf(check).toBeFunction();
    await newPool().close();
  });

  it('a pool typed with the bare WorkPool accepts both forms for any type name', async () => {
    const check = (pool: WorkPool): void => {
      expectTypeOf(pool.submit('anything', () => 1)).toEqualTypeOf<Job<number>>();
      pool.submit('anything', { text: 'x' });
      void pool.run('anything', { text: 'x' });
    };
    expectTypeOf(check).toBeFunction();
    await newPool().close();
  });

  it('a specific pool is assignable to the bare WorkPool', async () => {
    const pool = newPool();
    const general: WorkPool = pool;
    expectTypeOf(pool).toExtend<WorkPool>();
    await general.close();
  });
});
