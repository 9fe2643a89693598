/**
 * Every options object the pool takes is checked against its known keys, so a typo is an
 * error at once instead of an option silently ignored, and `null` never silently means
 * "the default".
 */
import { describe, expect, it } from 'vitest';
import {
  WorkPool,
  type CloseOptions,
  type JobOptions,
  type SnapshotOptions,
  type WorkPoolOptions,
} from '../../src/index.js';
import { countsOf, thrownBy } from './work-pool.helpers.js';

type Pool = WorkPool<{ readonly x: { readonly concurrency: number } }>;

const newPool = (): Pool => new WorkPool({ concurrency: 1, types: { x: { concurrency: 1 } } });
const poolOf = (options: unknown): WorkPool => new WorkPool(options as WorkPoolOptions);
const withType = (type: unknown): unknown => ({ concurrency: 1, types: { x: type } });
const submitWith = (pool: Pool, options: unknown) =>
  pool.submit('x', () => 1, options as JobOptions);

/** Each way into the pool with an options object: the object's name and how to pass it one. */
const ENTRY_POINTS: readonly [string, (pool: Pool, options: unknown) => unknown][] = [
  [
    'WorkPool options',
    (_, o) => poolOf({ concurrency: 1, types: { x: { concurrency: 1 } }, ...(o as object) }),
  ],
  ['types.x', (_, o) => poolOf(withType({ concurrency: 1, ...(o as object) }))],
  [
    'types.x.rate',
    (_, o) =>
      poolOf(withType({ concurrency: 1, rate: { limit: 1, intervalMs: 10, ...(o as object) } })),
  ],
  ['types.x.defaults', (_, o) => poolOf(withType({ concurrency: 1, defaults: o }))],
  [
    'types.x.defaults.retry',
    (_, o) =>
      poolOf(withType({ concurrency: 1, defaults: { retry: { attempts: 2, ...(o as object) } } })),
  ],
  ['queue', (_, o) => poolOf({ concurrency: 1, types: { x: { concurrency: 1 } }, queue: o })],
  [
    'aging',
    (_, o) =>
      poolOf({
        concurrency: 1,
        types: { x: { concurrency: 1 } },
        aging: { everyMs: 10, by: 1, ...(o as object) },
      }),
  ],
  ['job options', (pool, o) => submitWith(pool, o)],
  ['retry', (pool, o) => submitWith(pool, { retry: { attempts: 2, ...(o as object) } })],
  ['close options', (pool, o) => pool.close(o as CloseOptions)],
  ['snapshot options', (pool, o) => pool.snapshot(o as SnapshotOptions)],
];
const entry = (name: string) =>
  ENTRY_POINTS.find(([n]) => n === name)?.[1] as (pool: Pool, options: unknown) => unknown;

describe('WorkPool options: unknown keys', () => {
  it.each<[object: string, typo: string, meant: string]>([
    ['WorkPool options', 'concurency', 'concurrency'],
    ['types.x', 'concurrancy', 'concurrency'],
    ['types.x.rate', 'limt', 'limit'],
    ['types.x.defaults', 'timeout', 'timeoutMs'],
    ['types.x.defaults.retry', 'attempt', 'attempts'],
    ['queue', 'capasity', 'capacity'],
    ['aging', 'every', 'everyMs'],
    ['job options', 'timeout', 'timeoutMs'],
    ['job options', 'prio', 'priority'],
    ['retry', 'attempt', 'attempts'],
    ['close options', 'grace', 'graceMs'],
    ['snapshot options', 'limt', 'limit'],
  ])('%s refuses %s with a TypeError suggesting %s', async (object, typo, meant) => {
    const pool = newPool();
    const error = thrownBy(() => entry(object)(pool, { [typo]: 1 }));
    expect(error).toBeInstanceOf(TypeError);
    const message = (error as Error).message;
    expect(message).toContain(`${object} has an unknown option '${typo}'`);
    expect(message).toContain(`did you mean '${meant}'?`);
    await pool.close();
  });

  it('submit refuses an unknown key even without a typo to suggest, listing the known ones', async () => {
    const pool = newPool();
    const error = thrownBy(() => submitWith(pool, { callback: () => 1 }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).not.toContain('did you mean');
    expect((error as Error).message).toContain("'timeoutMs'");
    await pool.close();
  });

  it('run() rejects with the same TypeError', async () => {
    const pool = newPool();
    await expect(pool.run('x', () => 1, { prio: 1 } as JobOptions)).rejects.toThrow(
      /job options has an unknown option 'prio'; did you mean 'priority'\?/,
    );
    await pool.close();
  });
});

describe('WorkPool options: null values', () => {
  it.each<[object: string, key: string]>([
    ['WorkPool options', 'history'],
    ['types.x', 'rate'],
    ['types.x.rate', 'limit'],
    ['types.x.defaults', 'priority'],
    ['types.x.defaults.retry', 'baseMs'],
    ['queue', 'capacity'],
    ['aging', 'by'],
    ['job options', 'priority'],
    ['retry', 'baseMs'],
    ['close options', 'graceMs'],
    ['snapshot options', 'limit'],
  ])('%s refuses %s: null with a TypeError naming it', async (object, key) => {
    const pool = newPool();
    const error = thrownBy(() => entry(object)(pool, { [key]: null }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain(`${object}.${key} must not be null`);
    await pool.close();
  });
});

describe('WorkPool options: a refused call changes nothing', () => {
  it('a refused submit queues no job, leaves the counts and claims no key', async () => {
    const pool = newPool();
    let ran = false;
    expect(() =>
      submitWith(pool, {
        key: 'k',
        timeout: 5,
      }),
    ).toThrow(TypeError);
    expect(pool.snapshot().counts).toEqual(countsOf());
    expect(pool.size + pool.pending).toBe(0);
    // A job with the same key is a new job, not a join onto a phantom one.
    const job = pool.submit(
      'x',
      () => {
        ran = true;
        return 'fresh';
      },
      { key: 'k' },
    );
    await expect(job.result).resolves.toBe('fresh');
    expect(ran).toBe(true);
    await pool.close();
  });

  it('a refused close leaves the pool open', async () => {
    const pool = newPool();
    expect(() => pool.close({ grace: 0 } as CloseOptions)).toThrow(TypeError);
    expect(pool.state).toBe('open');
    expect(await pool.run('x', () => 'still open')).toBe('still open');
    await pool.close();
  });
});

describe('WorkPool options: queue capacity', () => {
  it('refuses capacity 0 with a RangeError naming queue.capacity (no run() could ever get room)', () => {
    const error = thrownBy(() =>
      poolOf({ concurrency: 1, types: { x: { concurrency: 1 } }, queue: { capacity: 0 } }),
    );
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toContain('queue.capacity');
    expect((error as Error).message).toContain('0');
  });
});
