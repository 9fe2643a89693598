import { describe, expect, it } from 'vitest';
import { MAX_DURATION_MS } from '../src/internal/timer.js';
import { duration, integer, options } from '../src/validate.js';

describe('options()', () => {
  it('returns the object when every key is known', () => {
    const given = { concurrency: 2 };
    expect(options('WorkPool options', given, ['concurrency', 'timeoutMs'])).toBe(given);
  });

  it.each([
    ['concurency', ['concurrency', 'timeoutMs'], 'concurrency'],
    ['timeout', ['concurrency', 'timeoutMs'], 'timeoutMs'],
    ['grace', ['graceMs', 'drain'], 'graceMs'],
  ])("suggests the option '%s' was meant to be", (key, known, meant) => {
    expect(() => options('some options', { [key]: 1 }, known)).toThrow(
      new TypeError(
        `some options has an unknown option '${key}'; did you mean '${meant}'? (known options: ${known.map((k) => `'${k}'`).join(', ')})`,
      ),
    );
  });

  it('makes no guess for a key far from every known one', () => {
    expect(() => options('EventBus options', { colour: 'red' }, ['maxSubscribers'])).toThrow(
      new TypeError(
        "EventBus options has an unknown option 'colour' (known options: 'maxSubscribers')",
      ),
    );
  });

  it('refuses a null value, naming the field as written', () => {
    expect(() => options('subscribe options', { buffer: null }, ['buffer'])).toThrow(
      new TypeError(
        'subscribe options.buffer must not be null: leave it out (or undefined) for the default',
      ),
    );
  });

  it('allows an undefined value (the default)', () => {
    expect(() => options('o', { buffer: undefined }, ['buffer'])).not.toThrow();
  });

  it.each([null, undefined, 5, 'x', [1]])('refuses %o instead of an object', (value) => {
    expect(() => options('Lifecycle options', value, ['graceMs'])).toThrow(
      /^Lifecycle options must be an object, got /,
    );
  });
});

describe('duration()', () => {
  it.each([0, 1, 1.5, 2 ** 31, MAX_DURATION_MS])('accepts %s ms', (ms) => {
    expect(duration('graceMs', ms)).toBe(ms);
  });

  it.each([-1, -0.5, Number.NaN, Number.NEGATIVE_INFINITY])(
    'refuses %s with a RangeError naming the field',
    (ms) => {
      expect(() => duration('graceMs', ms)).toThrow(
        new RangeError(
          `graceMs must be a non-negative duration in milliseconds, got ${String(ms)} (number)`,
        ),
      );
    },
  );

  it.each([Number.POSITIVE_INFINITY, MAX_DURATION_MS + 2])(
    'refuses %s with a RangeError naming the field and the limit',
    (ms) => {
      expect(() => duration('timeoutMs', ms, 1)).toThrow(
        new RangeError(
          `timeoutMs must be a duration in milliseconds of at least 1 (at most ${MAX_DURATION_MS}), got ${String(ms)} (number)`,
        ),
      );
    },
  );

  it('refuses a value under its minimum', () => {
    expect(() => duration('timeoutMs', 0.5, 1)).toThrow(RangeError);
  });

  it('refuses a non-number with a TypeError', () => {
    expect(() => duration('graceMs', '5')).toThrow(
      new TypeError('graceMs must be a non-negative duration in milliseconds, got "5" (string)'),
    );
  });
});

describe('integer()', () => {
  it('says "a positive integer" rather than printing 2^53', () => {
    expect(() => integer('capacity', 0, 1)).toThrow(
      new RangeError('capacity must be a positive integer, got 0 (number)'),
    );
  });

  it('names a bounded range', () => {
    expect(() => integer('buffer', 0, 1, 8)).toThrow(
      new RangeError('buffer must be an integer from 1 to 8, got 0 (number)'),
    );
  });
});
