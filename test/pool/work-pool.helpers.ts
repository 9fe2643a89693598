/**
 * Helpers shared by the WorkPool unit tests (test/pool/*.test.ts). Everything is
 * deterministic: tasks finish when the test says so (deferreds), time moves only with
 * fake timers, and `flush()` lets every queued microtask run.
 */
import { expect, vi } from 'vitest';
import type { PoolSnapshot, Task, TaskContext, WorkPool } from '../../src/index.js';
import { deferred, type Deferred } from '../helpers/deferred.js';

export { deferred, type Deferred };

/**
 * Runs every queued microtask (and every one those queue). With fake timers it also
 * fires the timers due now, without moving the clock.
 */
export async function flush(): Promise<void> {
  if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(0);
  else await new Promise<void>((resolve) => setImmediate(resolve));
}

export type Outcome<T> =
  | { readonly status: 'pending' }
  | { readonly status: 'fulfilled'; readonly value: T }
  | { readonly status: 'rejected'; readonly error: unknown };

/** Watches a promise without awaiting it: call the result to see how it stands now. */
export function observe<T>(promise: Promise<T>): () => Outcome<T> {
  let outcome: Outcome<T> = { status: 'pending' };
  promise.then(
    (value) => {
      outcome = { status: 'fulfilled', value };
    },
    (error: unknown) => {
      outcome = { status: 'rejected', error };
    },
  );
  return () => outcome;
}

/** The error `promise` rejects with; fails the test if it fulfils. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it fulfilled');
}

/** Resolves when `promise` settles, either way. */
export function settled(promise: Promise<unknown>): Promise<void> {
  return promise.then(
    () => undefined,
    () => undefined,
  );
}

/** The error `fn` throws; fails the test if it returns. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw, but it returned');
}

export interface TasksOptions {
  /** Reject with the signal's reason when the attempt's signal aborts. @default true */
  readonly cooperative?: boolean;
}

/**
 * Tasks the test finishes by name. `task(name)` returns a task that records its start
 * (and context) and settles when the test calls `finish(name)` or `fail(name, error)`.
 * A cooperative task (the default) also rejects with its signal's reason on abort.
 */
export class Tasks {
  /** Names in the order their attempts started (a retried task appears once per attempt). */
  readonly started: string[] = [];
  readonly #contexts = new Map<string, TaskContext>();
  readonly #pending = new Map<string, Deferred<string>>();
  readonly #cooperative: boolean;

  constructor(options: TasksOptions = {}) {
    this.#cooperative = options.cooperative ?? true;
  }

  task(name: string): Task<string> {
    return (ctx) => {
      this.started.push(name);
      this.#contexts.set(name, ctx);
      const done = deferred<string>();
      this.#pending.set(name, done);
      if (this.#cooperative) {
        ctx.signal.addEventListener('abort', () => done.reject(ctx.signal.reason), {
          once: true,
        });
      }
      return done.promise;
    };
  }

  /** The context of the latest attempt of `name`. */
  ctx(name: string): TaskContext {
    const ctx = this.#contexts.get(name);
    if (ctx === undefined) throw new Error(`task ${name} has not started`);
    return ctx;
  }

  finish(name: string, value = name): void {
    this.#settle(name).resolve(value);
  }

  fail(name: string, error: unknown): void {
    this.#settle(name).reject(error);
  }

  #settle(name: string): Deferred<string> {
    const done = this.#pending.get(name);
    if (done === undefined) throw new Error(`task ${name} is not running`);
    this.#pending.delete(name);
    return done;
  }
}

/** A task that records `name` in `order` and returns it at once. */
export function recorder(order: string[], name: string): Task<string> {
  return () => {
    order.push(name);
    return name;
  };
}

export type Counts = PoolSnapshot['counts'];

/** Counts with every status not named at 0. */
export function countsOf(expected: Partial<Counts> = {}): Counts {
  return {
    queued: 0,
    running: 0,
    retrying: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    skipped: 0,
    ...expected,
  };
}

/** Asserts the pool's counts equal `expected` (every status not named is 0). */
export function expectCounts(pool: WorkPool, expected: Partial<Counts>): void {
  expect(pool.snapshot().counts).toEqual(countsOf(expected));
}

/**
 * Closes the pool. With fake timers, runs every pending timer until the close settles
 * (tasks still running must honour their signal, or they are abandoned).
 */
export async function closePool(
  pool: WorkPool,
  options: { graceMs?: number; drain?: boolean } = { graceMs: 0 },
): Promise<void> {
  const closing = pool.close(options);
  if (vi.isFakeTimers()) await vi.runAllTimersAsync();
  await closing;
}

/** Every object reachable from `value` that is not frozen, by path. */
export function unfrozenPaths(value: unknown, path = '$'): string[] {
  if (typeof value !== 'object' || value === null) return [];
  const out = Object.isFrozen(value) ? [] : [path];
  for (const key of Object.keys(value)) {
    out.push(...unfrozenPaths((value as Record<string, unknown>)[key], `${path}.${key}`));
  }
  return out;
}
