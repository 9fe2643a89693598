/**
 * Argument checks shared by every entry point. They fail closed (`!(n >= min)` also
 * rejects NaN) and say which field was wrong, what was expected and what came in.
 * Internal: not part of the public surface.
 */

import { MAX_DURATION_MS } from './internal/timer.js';

function show(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `"${value}" (string)`;
    case 'number':
    case 'boolean':
    case 'undefined':
      return `${String(value)} (${typeof value})`;
    case 'bigint':
      return `${value}n (bigint)`;
    case 'symbol':
      return `${value.toString()} (symbol)`;
    case 'function':
      return 'a function';
    default:
      return value === null ? 'null' : `an object (${Object.prototype.toString.call(value)})`;
  }
}

/** "a positive integer", "an integer from 1 to 8": the range in words, without printing 2^53. */
function integerRange(min: number, max: number): string {
  if (max < Number.MAX_SAFE_INTEGER) return `an integer from ${min} to ${max}`;
  if (min === 0) return 'a non-negative integer';
  if (min === 1) return 'a positive integer';
  return `an integer of at least ${min}`;
}

/** Requires an integer in `[min, max]`; `TypeError` for a non-number, `RangeError` otherwise. */
export function integer(
  field: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${field} must be ${integerRange(min, max)}, got ${show(value)}`);
  }
  if (!Number.isInteger(value) || !(value >= min && value <= max)) {
    throw new RangeError(`${field} must be ${integerRange(min, max)}, got ${show(value)}`);
  }
  return value;
}

/**
 * Requires a duration in milliseconds: a finite number (fractions allowed, as Node's
 * timers take them) of at least `min` and at most {@link MAX_DURATION_MS}. Every
 * duration is armed with `internal/timer.ts`, which honours values past Node's 2^31 ms
 * timer limit, so this is the one rule for every duration option.
 */
export function duration(field: string, value: unknown, min = 0): number {
  // min = Number.MIN_VALUE asks for a positive duration.
  const expected =
    min === 0
      ? 'a non-negative duration in milliseconds'
      : min === Number.MIN_VALUE
        ? 'a positive duration in milliseconds'
        : `a duration in milliseconds of at least ${min}`;
  if (typeof value !== 'number') {
    throw new TypeError(`${field} must be ${expected}, got ${show(value)}`);
  }
  if (!(value >= min && value <= MAX_DURATION_MS)) {
    const limit = value > MAX_DURATION_MS ? ` (at most ${MAX_DURATION_MS})` : '';
    throw new RangeError(`${field} must be ${expected}${limit}, got ${show(value)}`);
  }
  return value;
}

/** Edit distance between two short strings (option names). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      row.push(
        Math.min(
          (previous[j] as number) + 1,
          (row[j - 1] as number) + 1,
          (previous[j - 1] as number) + cost,
        ),
      );
    }
    previous = row;
  }
  return previous[b.length] as number;
}

/** The known key a typo most likely meant: `concurency` → `concurrency`, `grace` → `graceMs`. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  const lower = key.toLowerCase();
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    // A unit left off (`timeout` for `timeoutMs`) is as close as a one-letter slip.
    const score = c.startsWith(lower) || lower.startsWith(c) ? 1 : distance(key, candidate);
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(key.length / 3))
    ? best
    : undefined;
}

/**
 * Requires an options object (`undefined` allowed when `optional`) whose own keys are
 * all `known`, and none of whose values is `null`. Every options object workbus takes
 * goes through here first, so a typo (`concurency`, `timeout`, `grace`) is an error at
 * once instead of a silently ignored option, and `null` never silently means "the
 * default".
 * @returns the object, for reading the options from.
 */
export function options(
  field: string,
  value: unknown,
  known: readonly string[],
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${field} must be an object, got ${show(value)}`);
  }
  const record = value as Record<string, unknown>;
  // for-in over own keys, not Object.keys: no array per call (once per submit).
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    if (!known.includes(key)) {
      const guess = closest(key, known);
      const hint = guess === undefined ? '' : `; did you mean '${guess}'?`;
      const list = known.map((k) => `'${k}'`).join(', ');
      throw new TypeError(
        `${field} has an unknown option '${key}'${hint} (known options: ${list})`,
      );
    }
    if (record[key] === null) {
      throw new TypeError(
        `${field}.${key} must not be null: leave it out (or undefined) for the default`,
      );
    }
  }
  return record;
}

/** Requires a finite number (integers not required). */
export function finite(field: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${field} must be a finite number, got ${show(value)}`);
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`${field} must be a finite number, got ${show(value)}`);
  }
  return value;
}

/** Requires one of the listed string literals. */
export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    const list = allowed.map((a) => `'${a}'`).join(' | ');
    throw new TypeError(`${field} must be one of ${list}, got ${show(value)}`);
  }
  return value as T;
}

/** Requires a non-empty string or undefined. */
export function optionalName(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${field} must be a non-empty string, got ${show(value)}`);
  }
  return value;
}

/** Requires a non-empty string (a name, a path). */
export function nonEmptyString(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${field} must be a non-empty string, got ${show(value)}`);
  }
  return value;
}

/** Requires an `AbortSignal` or undefined. */
export function optionalSignal(field: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) {
    throw new TypeError(`${field} must be an AbortSignal, got ${show(value)}`);
  }
  return value;
}

/** Requires an `AbortSignal`. */
export function requiredSignal(field: string, value: unknown): AbortSignal {
  if (!(value instanceof AbortSignal)) {
    throw new TypeError(`${field} must be an AbortSignal, got ${show(value)}`);
  }
  return value;
}

/** Requires a function. */
export function callable<F>(field: string, value: F): F {
  if (typeof value !== 'function') {
    throw new TypeError(`${field} must be a function, got ${show(value)}`);
  }
  return value;
}
