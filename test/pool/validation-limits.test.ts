/**
 * Argument checks at their limits: every mistake gets a clear error at once, naming
 * the field as the user wrote it (each test failed before its fix).
 */
import { describe, expect, it } from 'vitest';
import { WorkPool } from '../../src/index.js';

describe('WorkPool options past what the pool can hold', () => {
  it('names history, not the ring buffer behind it', () => {
    expect(
      () => new WorkPool({ concurrency: 1, types: { t: { concurrency: 1 } }, history: 2 ** 33 }),
    ).toThrow(/^history must be an integer from 0 to 4294967295, got 8589934592 \(number\)$/);
  });

  it("names a type's rate.limit, not the ring buffer behind it", () => {
    expect(
      () =>
        new WorkPool({
          concurrency: 1,
          types: { t: { concurrency: 1, rate: { limit: 2 ** 33, intervalMs: 1_000 } } },
        }),
    ).toThrow(/^types\.t\.rate\.limit must be an integer from 1 to 4294967295/);
  });
});

describe('WorkPool.stop(context) checks its context before closing', () => {
  it.each([
    ['null', null, /stop context must be an object, got null/],
    ['a typo', { deadlne: 5 }, /unknown option 'deadlne'; did you mean 'deadline'\?/],
    ['a null deadline', { deadline: null }, /stop context\.deadline must not be null/],
    ['a signal that is not one', { signal: 'stop' }, /signal must be an AbortSignal/],
  ])('refuses %s, and the pool stays open', async (_case, context, message) => {
    const pool = new WorkPool({ concurrency: 1, types: { t: { concurrency: 1 } } });
    expect(() => pool.stop(context as never)).toThrow(message);
    expect(pool.state).toBe('open');
    await pool.close();
  });
});
