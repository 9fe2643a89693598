import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { SingleFlight, isAbortError } from '../../src/index.js';
import { ProcessWatch, settle } from '../helpers/leaks.js';
import { turns } from '../helpers/steps.js';
import { deferred, type Deferred } from '../helpers/deferred.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/** The error `promise` rejects with; fails the test if it fulfils. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** A shared call that waits for `result` and remembers the signal it was given. */
function flight(result: Deferred<number>): {
  readonly fn: (signal: AbortSignal) => Promise<number>;
  readonly calls: () => number;
  readonly signal: () => AbortSignal;
} {
  const signals: AbortSignal[] = [];
  return {
    fn: (signal) => {
      signals.push(signal);
      return result.promise;
    },
    calls: () => signals.length,
    signal: () => {
      const signal = signals[0];
      if (!signal) throw new Error('fn has not been called');
      return signal;
    },
  };
}

describe('SingleFlight sharing', () => {
  it('runs fn once for concurrent callers of one key and gives each its value', async () => {
    const sf = new SingleFlight<string, number>();
    const result = deferred<number>();
    const fn = vi.fn((_signal: AbortSignal) => result.promise);
    const callers = [sf.run('k', fn), sf.run('k', fn), sf.run('k', fn)];
    expect(sf.size).toBe(1);
    result.resolve(42);
    expect(await Promise.all(callers)).toEqual([42, 42, 42]);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('shares the result with callers that pass signals too', async () => {
    const sf = new SingleFlight<string, number>();
    const result = deferred<number>();
    const shared = flight(result);
    const callers = [
      sf.run('k', shared.fn, { signal: new AbortController().signal }),
      sf.run('k', shared.fn),
      sf.run('k', shared.fn, { signal: new AbortController().signal }),
    ];
    result.resolve(7);
    expect(await Promise.all(callers)).toEqual([7, 7, 7]);
    expect(shared.calls()).toBe(1);
  });

  it('shares a rejection: every caller gets the same error', async () => {
    const sf = new SingleFlight<string, number>();
    const result = deferred<number>();
    const shared = flight(result);
    const callers = [
      sf.run('k', shared.fn),
      sf.run('k', shared.fn, { signal: new AbortController().signal }),
    ];
    const failure = new Error('fetch failed');
    result.reject(failure);
    for (const caller of callers) expect(await rejectionOf(caller)).toBe(failure);
    expect(shared.calls()).toBe(1);
    expect(sf.size).toBe(0);
  });

  it('runs a separate call for each key', async () => {
    const sf = new SingleFlight<string, string>();
    const fnA = vi.fn((_signal: AbortSignal) => 'a');
    const fnB = vi.fn((_signal: AbortSignal) => 'b');
    const a = sf.run('a', fnA);
    const b = sf.run('b', fnB);
    expect(sf.size).toBe(2);
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
    expect(fnA).toHaveBeenCalledTimes(1);
    expect(fnB).toHaveBeenCalledTimes(1);
  });

  it('starts a new call for a key once its flight has settled', async () => {
    const sf = new SingleFlight<string, number>();
    let n = 0;
    const fn = (): number => ++n;
    expect(await sf.run('k', fn)).toBe(1);
    expect(sf.size).toBe(0);
    expect(await sf.run('k', fn)).toBe(2);
  });

  it('forget makes the next caller start a new call; earlier callers keep the old result', async () => {
    const sf = new SingleFlight<string, number>();
    const oldResult = deferred<number>();
    const newResult = deferred<number>();
    const oldFlight = flight(oldResult);
    const newFlight = flight(newResult);
    const early = sf.run('k', oldFlight.fn);
    sf.forget('k');
    expect(sf.size).toBe(0);
    const late = sf.run('k', newFlight.fn);
    await turns(2);
    expect(oldFlight.calls()).toBe(1);
    expect(newFlight.calls()).toBe(1);
    newResult.resolve(2);
    oldResult.resolve(1);
    expect(await early).toBe(1);
    expect(await late).toBe(2);
    expect(sf.size).toBe(0);
  });

  it('the forgotten flight settling does not remove the new flight for that key', async () => {
    const sf = new SingleFlight<string, number>();
    const oldResult = deferred<number>();
    const newResult = deferred<number>();
    const early = sf.run('k', flight(oldResult).fn);
    sf.forget('k');
    const newFlight = flight(newResult);
    const late = sf.run('k', newFlight.fn);
    oldResult.resolve(1);
    expect(await early).toBe(1);
    expect(sf.size).toBe(1);
    const joiner = sf.run('k', newFlight.fn);
    newResult.resolve(2);
    expect(await Promise.all([late, joiner])).toEqual([2, 2]);
    expect(newFlight.calls()).toBe(1);
  });
});

describe('SingleFlight errors from fn', () => {
  it('turns a synchronous throw from fn into a rejection of every caller', async () => {
    const sf = new SingleFlight<string, number>();
    const failure = new Error('sync throw');
    const fn = (): number => {
      throw failure;
    };
    const callers = [sf.run('k', fn), sf.run('k', fn, { signal: new AbortController().signal })];
    for (const caller of callers) expect(await rejectionOf(caller)).toBe(failure);
    expect(sf.size).toBe(0);
  });
});

describe('SingleFlight cancellation', () => {
  it("a caller's abort rejects only that caller", async () => {
    const sf = new SingleFlight<string, number>();
    const result = deferred<number>();
    const shared = flight(result);
    const quitter = new AbortController();
    const stayer = new AbortController();
    const quitting = sf.run('k', shared.fn, { signal: quitter.signal });
    const staying = sf.run('k', shared.fn, { signal: stayer.signal });
    await turns(2);
    const reason = new Error('not interested');
    quitter.abort(reason);
    const error = await rejectionOf(quitting);
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe(reason);
    expect(listeners(quitter.signal)).toBe(0);
    expect(shared.signal().aborted).toBe(false);
    expect(sf.size).toBe(1);
    result.resolve(5);
    expect(await staying).toBe(5);
    expect(listeners(stayer.signal)).toBe(0);
  });

  it("aborts fn's signal and drops the flight when every caller has aborted", async () => {
    const sf = new SingleFlight<string, number>();
    const result = deferred<number>();
    const shared = flight(result);
    const a = new AbortController();
    const b = new AbortController();
    const callers = [
      sf.run('k', shared.fn, { signal: a.signal }),
      sf.run('k', shared.fn, { signal: b.signal }),
    ];
    await turns(2);
    a.abort('a left');
    expect(shared.signal().aborted).toBe(false);
    b.abort('b left');
    expect(shared.signal().aborted).toBe(true);
    expect(isAbortError(shared.signal().reason)).toBe(true);
    expect(sf.size).toBe(0);
    for (const caller of callers) expect(isAbortError(await rejectionOf(caller))).toBe(true);
    result.resolve(0);
  });

  it('starts a new call for a caller arriving after everyone gave up', async () => {
    const sf = new SingleFlight<string, number>();
    const abandoned = deferred<number>();
    const controller = new AbortController();
    const first = sf.run('k', flight(abandoned).fn, { signal: controller.signal });
    controller.abort('gone');
    expect(isAbortError(await rejectionOf(first))).toBe(true);
    const fresh = vi.fn((_signal: AbortSignal) => 9);
    expect(await sf.run('k', fresh)).toBe(9);
    expect(fresh).toHaveBeenCalledTimes(1);
    abandoned.resolve(0);
  });

  it("a caller without a signal pins the flight: fn's signal never aborts", async () => {
    const sf = new SingleFlight<string, number>();
    const result = deferred<number>();
    const shared = flight(result);
    const controller = new AbortController();
    const withSignal = sf.run('k', shared.fn, { signal: controller.signal });
    const pinning = sf.run('k', shared.fn);
    await turns(2);
    controller.abort('bye');
    expect(isAbortError(await rejectionOf(withSignal))).toBe(true);
    expect(shared.signal().aborted).toBe(false);
    expect(sf.size).toBe(1);
    result.resolve(3);
    expect(await pinning).toBe(3);
    expect(shared.signal().aborted).toBe(false);
    expect(sf.size).toBe(0);
  });

  it('rejects at once for an already aborted signal without calling fn', async () => {
    const sf = new SingleFlight<string, number>();
    const fn = vi.fn((_signal: AbortSignal) => 1);
    const error = await rejectionOf(sf.run('k', fn, { signal: AbortSignal.abort('early') }));
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe('early');
    await turns(2);
    expect(fn).not.toHaveBeenCalled();
    expect(sf.size).toBe(0);
  });

  it('reports no unhandled rejection when fn rejects after every caller gave up', async () => {
    const watch = new ProcessWatch();
    try {
      const sf = new SingleFlight<string, number>();
      const result = deferred<number>();
      const shared = flight(result);
      const a = new AbortController();
      const b = new AbortController();
      const callers = [
        sf.run('k', shared.fn, { signal: a.signal }),
        sf.run('k', shared.fn, { signal: b.signal }),
      ];
      await turns(2);
      a.abort('a left');
      b.abort('b left');
      for (const caller of callers) expect(isAbortError(await rejectionOf(caller))).toBe(true);
      result.reject(new Error('failed after everyone left'));
      await settle();
      expect(watch.unhandled).toEqual([]);
      expect(shared.calls()).toBe(1);
    } finally {
      watch.stop();
    }
  });
});

describe('SingleFlight argument errors', () => {
  it('rejects (never throws synchronously) for a bad fn or signal', async () => {
    const flights = new SingleFlight<string, number>();
    const badFn = flights.run('k', 'nope' as never);
    const badSignal = flights.run('k', () => 1, { signal: {} as AbortSignal });
    await expect(badFn).rejects.toThrow(/fn must be a function/);
    await expect(badSignal).rejects.toThrow(/options\.signal must be an AbortSignal/);
    expect(flights.size).toBe(0);
  });
});
