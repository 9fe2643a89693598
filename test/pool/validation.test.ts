import { describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  WorkPool,
  type JobOptions,
  type PoolEvents,
  type Task,
  type WorkPoolOptions,
  type JobTypeOptions,
} from '../../src/index.js';
import { countsOf, thrownBy } from './work-pool.helpers.js';

type ErrorClass = typeof TypeError | typeof RangeError;

/** Asserts `fn` throws `kind` with a message naming every one of `parts`. */
function expectInvalid(fn: () => unknown, kind: ErrorClass, ...parts: string[]): void {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(kind);
  for (const part of parts) expect((error as Error).message).toContain(part);
}

const poolOf = (options: unknown): WorkPool => new WorkPool(options as WorkPoolOptions);

describe('WorkPool constructor validation', () => {
  const types = { fetch: { concurrency: 1 } };

  it.each<[string, unknown, ErrorClass, string[]]>([
    ['concurrency 0', { concurrency: 0, types }, RangeError, ['concurrency', '0']],
    ['concurrency 1.5', { concurrency: 1.5, types }, RangeError, ['concurrency', '1.5']],
    ['concurrency "4"', { concurrency: '4', types }, TypeError, ['concurrency', '"4"']],
    ['no types', { concurrency: 1, types: {} }, TypeError, ['types']],
    ['types missing', { concurrency: 1 }, TypeError, ['types']],
    [
      'a type with concurrency 0',
      { concurrency: 1, types: { fetch: { concurrency: 0 } } },
      RangeError,
      ['types.fetch.concurrency', '0'],
    ],
    [
      'a type with rate.limit 0',
      {
        concurrency: 1,
        types: { embed: { concurrency: 1, rate: { limit: 0, intervalMs: 1000 } } },
      },
      RangeError,
      ['types.embed.rate.limit', '0'],
    ],
    [
      'a type with rate.intervalMs -1',
      { concurrency: 1, types: { embed: { concurrency: 1, rate: { limit: 5, intervalMs: -1 } } } },
      RangeError,
      ['types.embed.rate.intervalMs', '-1'],
    ],
    [
      'a type with stallAfterMs 0',
      { concurrency: 1, types: { embed: { concurrency: 1, stallAfterMs: 0 } } },
      RangeError,
      ['types.embed.stallAfterMs', '0'],
    ],
    [
      'a type with cancelGraceMs -1',
      { concurrency: 1, types: { cpu: { concurrency: 1, cancelGraceMs: -1 } } },
      RangeError,
      ['types.cpu.cancelGraceMs', '-1'],
    ],
    [
      'a type with cancelGraceMs "100"',
      { concurrency: 1, types: { cpu: { concurrency: 1, cancelGraceMs: '100' } } },
      TypeError,
      ['types.cpu.cancelGraceMs', '"100"'],
    ],
    [
      'a type that is not an object',
      { concurrency: 1, types: { fetch: 3 } },
      TypeError,
      ['types.fetch'],
    ],
    [
      'a negative queue capacity',
      { concurrency: 1, types, queue: { capacity: -1 } },
      RangeError,
      ['queue.capacity', '-1'],
    ],
    [
      'an unknown whenFull',
      { concurrency: 1, types, queue: { whenFull: 'block' } },
      TypeError,
      ['queue.whenFull', 'block'],
    ],
    ['a negative history', { concurrency: 1, types, history: -1 }, RangeError, ['history', '-1']],
    [
      'aging.by 0',
      { concurrency: 1, types, aging: { everyMs: 100, by: 0 } },
      RangeError,
      ['aging.by', '0'],
    ],
    [
      'aging.everyMs 0',
      { concurrency: 1, types, aging: { everyMs: 0, by: 1 } },
      RangeError,
      ['aging.everyMs', '0'],
    ],
    ['a bus without publish', { concurrency: 1, types, bus: {} }, TypeError, ['bus']],
    ['a signal that is not one', { concurrency: 1, types, signal: 'x' }, TypeError, ['signal']],
    ['random not a function', { concurrency: 1, types, random: 0.5 }, TypeError, ['random']],
  ])('refuses %s', (_label, options, kind, parts) => {
    expectInvalid(() => poolOf(options), kind, ...parts);
  });

  it('does not touch the caller’s options object', async () => {
    const options = { concurrency: 2, types: { fetch: { concurrency: 1 } } };
    const pool = new WorkPool(options);
    expect(options).toEqual({ concurrency: 2, types: { fetch: { concurrency: 1 } } });
    expect(Object.isFrozen(options)).toBe(false);
    await pool.close();
  });
});

describe('WorkPool submit validation', () => {
  const newPool = (
    bus?: EventBus<PoolEvents>,
  ): WorkPool<Record<'fetch' | 'embed', JobTypeOptions>> =>
    new WorkPool({
      concurrency: 1,
      types: { fetch: { concurrency: 1 }, embed: { concurrency: 1 } },
      ...(bus === undefined ? {} : { bus }),
    });
  const task: Task<number> = () => 1;

  it('refuses an unknown type with a TypeError listing the known types', async () => {
    const pool = newPool();
    expectInvalid(
      () => pool.submit('parse' as 'fetch', task),
      TypeError,
      'type',
      "'fetch'",
      "'embed'",
      '"parse"',
    );
    await pool.close();
  });

  it('refuses a task that is not a function', async () => {
    const pool = newPool();
    expectInvalid(
      () => pool.submit('fetch', 'not a task' as unknown as Task<number>),
      TypeError,
      'task',
      '"not a task"',
    );
    expectInvalid(
      () => pool.submit('fetch', undefined as unknown as Task<number>),
      TypeError,
      'task',
    );
    await pool.close();
  });

  it.each<[string, unknown, ErrorClass, string[]]>([
    ['priority NaN', { priority: Number.NaN }, RangeError, ['priority', 'NaN']],
    [
      'priority Infinity',
      { priority: Number.POSITIVE_INFINITY },
      RangeError,
      ['priority', 'Infinity'],
    ],
    [
      'priority -Infinity',
      { priority: Number.NEGATIVE_INFINITY },
      RangeError,
      ['priority', '-Infinity'],
    ],
    ['priority "high"', { priority: 'high' }, TypeError, ['priority', '"high"']],
    ['timeoutMs 0', { timeoutMs: 0 }, RangeError, ['timeoutMs', '0']],
    ['timeoutMs -5', { timeoutMs: -5 }, RangeError, ['timeoutMs', '-5']],
    ['timeoutMs 0', { timeoutMs: 0 }, RangeError, ['timeoutMs', 'positive']],
    ['retry.attempts 0', { retry: { attempts: 0 } }, RangeError, ['retry.attempts', '0']],
    ['retry without attempts', { retry: {} }, TypeError, ['retry.attempts']],
    ['retry.baseMs -1', { retry: { attempts: 2, baseMs: -1 } }, RangeError, ['retry.baseMs', '-1']],
    [
      'retry.maxMs below baseMs',
      { retry: { attempts: 2, baseMs: 100, maxMs: 50 } },
      RangeError,
      ['retry.maxMs', '50'],
    ],
    ['retry null', { retry: null }, TypeError, ['retry']],
    ['an empty key', { key: '' }, TypeError, ['key']],
    ['a signal that is not one', { signal: {} }, TypeError, ['signal']],
    ['non-cloneable meta', { meta: { fn: () => 1 } }, TypeError, ['meta']],
  ])('refuses %s, naming the field and the value', async (_label, options, kind, parts) => {
    const pool = newPool();
    expectInvalid(() => pool.submit('fetch', task, options as JobOptions), kind, ...parts);
    await pool.close();
  });

  it('refuses options that are not an object', async () => {
    const pool = newPool();
    expectInvalid(
      () => pool.submit('fetch', task, null as unknown as JobOptions),
      TypeError,
      'options',
    );
    await pool.close();
  });

  it('bad input changes nothing: no job, no event, counts intact, the pool goes on', async () => {
    const bus = new EventBus<PoolEvents>();
    const events = vi.fn();
    bus.on('*', events);
    const pool = newPool(bus);
    const attempts: (() => unknown)[] = [
      () => pool.submit('nope' as 'fetch', task),
      () => pool.submit('fetch', 42 as unknown as Task<number>),
      () => pool.submit('fetch', task, { priority: Number.NaN }),
      () => pool.submit('fetch', task, { timeoutMs: 0 }),
      () => pool.submit('fetch', task, { retry: { attempts: 0 } }),
      () => pool.submit('fetch', task, { meta: { s: Symbol('x') } }),
    ];
    for (const attempt of attempts) expect(attempt).toThrow();
    expect(events).not.toHaveBeenCalled();
    expect(pool.snapshot().counts).toEqual(countsOf());
    expect(pool.snapshot().types).toEqual({
      fetch: { running: 0, queued: 0, limit: 1, paused: false, heldByRate: false },
      embed: { running: 0, queued: 0, limit: 1, paused: false, heldByRate: false },
    });
    expect(await pool.run('fetch', () => 'fine')).toBe('fine');
    await pool.close();
    bus.close();
  });

  it('run() rejects (never throws) for bad input', async () => {
    const pool = newPool();
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = pool.run('fetch', task, { priority: Number.NaN });
    }).not.toThrow();
    await expect(promise).rejects.toBeInstanceOf(RangeError);
    await pool.close();
  });
});
