/**
 * Argument checks shared by every entry point. They fail closed (`!(n >= min)` also
 * rejects NaN) and say which field was wrong, what was expected and what came in.
 * Internal: not part of the public surface.
 */

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

/** Requires an integer in `[min, max]`; `TypeError` for a non-number, `RangeError` otherwise. */
export function integer(
  field: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${field} must be an integer from ${min} to ${max}, got ${show(value)}`);
  }
  if (!Number.isInteger(value) || !(value >= min && value <= max)) {
    throw new RangeError(`${field} must be an integer from ${min} to ${max}, got ${show(value)}`);
  }
  return value;
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

/** Requires an `AbortSignal` or undefined. */
export function optionalSignal(field: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
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
