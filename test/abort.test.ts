import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AbortError,
  LinkedSignal,
  Semaphore,
  TimeoutError,
  abortErrorOf,
  isAbortError,
  sleep,
  throwIfAborted,
  waitForAbort,
} from '../src/index.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

afterEach(() => {
  vi.useRealTimers();
});

describe('abortErrorOf', () => {
  it('wraps a plain reason in an AbortError with the reason as cause', () => {
    const controller = new AbortController();
    controller.abort('stop');
    const error = abortErrorOf(controller.signal);
    expect(error).toBeInstanceOf(AbortError);
    expect(isAbortError(error)).toBe(true);
    expect(error.cause).toBe('stop');
  });

  it('turns a timeout reason into a TimeoutError', () => {
    const controller = new AbortController();
    const reason = new TimeoutError('late', { timeoutMs: 10 });
    controller.abort(reason);
    const error = abortErrorOf(controller.signal);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.cause).toBe(reason);
    expect((error as TimeoutError).timeoutMs).toBe(10);
  });

  it("turns the platform's TimeoutError DOMException into a TimeoutError", () => {
    const controller = new AbortController();
    controller.abort(new DOMException('timed out', 'TimeoutError'));
    expect(abortErrorOf(controller.signal)).toBeInstanceOf(TimeoutError);
  });
});

describe('throwIfAborted', () => {
  it('does nothing for a live or missing signal, throws for an aborted one', () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal)).not.toThrow();
    expect(() => throwIfAborted(AbortSignal.abort('x'))).toThrow(AbortError);
  });

  it('throwIfAborted and abortErrorOf refuse what is not an AbortSignal', () => {
    expect(() => throwIfAborted({ aborted: true } as AbortSignal)).toThrow(
      /^signal must be an AbortSignal, got an object/,
    );
    expect(() => abortErrorOf({} as AbortSignal)).toThrow(/^signal must be an AbortSignal/);
    expect(() => abortErrorOf(undefined as unknown as AbortSignal)).toThrow(
      /^signal must be an AbortSignal, got undefined \(undefined\)/,
    );
  });
});

describe('LinkedSignal', () => {
  it('aborts when the parent aborts, with the same reason, and detaches', () => {
    const parent = new AbortController();
    const linked = new LinkedSignal(parent.signal);
    expect(listeners(parent.signal)).toBe(1);
    parent.abort('parent reason');
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe('parent reason');
    expect(listeners(parent.signal)).toBe(0);
  });

  it('starts aborted when the parent already is', () => {
    const linked = new LinkedSignal(AbortSignal.abort('early'));
    expect(linked.signal.reason).toBe('early');
  });

  it('aborts itself without aborting the parent', () => {
    const parent = new AbortController();
    const linked = new LinkedSignal(parent.signal);
    linked.abort('child only');
    expect(linked.signal.aborted).toBe(true);
    expect(parent.signal.aborted).toBe(false);
    expect(listeners(parent.signal)).toBe(0);
  });

  it('times out with a TimeoutError', () => {
    vi.useFakeTimers();
    const linked = new LinkedSignal(undefined, { timeoutMs: 100 });
    vi.advanceTimersByTime(99);
    expect(linked.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(linked.signal.reason).toBeInstanceOf(TimeoutError);
    expect(abortErrorOf(linked.signal)).toBeInstanceOf(TimeoutError);
  });

  it('dispose clears the timer and the parent listener without aborting', () => {
    vi.useFakeTimers();
    const parent = new AbortController();
    {
      using linked = new LinkedSignal(parent.signal, { timeoutMs: 100 });
      expect(vi.getTimerCount()).toBe(1);
      expect(linked.signal.aborted).toBe(false);
    }
    expect(vi.getTimerCount()).toBe(0);
    expect(listeners(parent.signal)).toBe(0);
  });

  it.each([0, 0.5, -1, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects timeoutMs %s',
    (timeoutMs) => {
      expect(() => new LinkedSignal(undefined, { timeoutMs })).toThrow(RangeError);
      expect(() => new LinkedSignal(undefined, { timeoutMs })).toThrow(/^timeoutMs must be/);
    },
  );

  it('takes a fractional timeoutMs', () => {
    vi.useFakeTimers();
    const linked = new LinkedSignal(undefined, { timeoutMs: 1.5 });
    vi.advanceTimersByTime(2);
    expect(linked.signal.reason).toBeInstanceOf(TimeoutError);
  });

  it('does not time out early when timeoutMs is 2^31 ms or more', () => {
    vi.useFakeTimers();
    const linked = new LinkedSignal(undefined, { timeoutMs: 2 ** 31 });
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(linked.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(linked.signal.reason).toMatchObject({ name: 'TimeoutError', timeoutMs: 2 ** 31 });
  });

  it('refuses an unknown option with a did-you-mean, and a null one', () => {
    expect(() => new LinkedSignal(undefined, { timeout: 5 } as never)).toThrow(
      /^LinkedSignal options has an unknown option 'timeout'; did you mean 'timeoutMs'\?/,
    );
    expect(() => new LinkedSignal(undefined, { timeoutMs: null } as never)).toThrow(
      /^LinkedSignal options\.timeoutMs must not be null/,
    );
    expect(() => new LinkedSignal(undefined, 5 as never)).toThrow(
      /^LinkedSignal options must be an object/,
    );
  });

  it('rejects a parent that is not an AbortSignal', () => {
    expect(() => new LinkedSignal({} as AbortSignal)).toThrow(/parent must be an AbortSignal/);
  });
});

describe('waitForAbort', () => {
  it('resolves with the reason when the signal aborts', async () => {
    const controller = new AbortController();
    const waiting = waitForAbort(controller.signal);
    controller.abort('done');
    await expect(waiting).resolves.toBe('done');
    expect(listeners(controller.signal)).toBe(0);
  });

  it('rejects when its own signal aborts first, removing both listeners', async () => {
    const watched = new AbortController();
    const cancel = new AbortController();
    const waiting = waitForAbort(watched.signal, { signal: cancel.signal });
    cancel.abort('bored');
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED', cause: 'bored' });
    expect(listeners(watched.signal)).toBe(0);
    expect(listeners(cancel.signal)).toBe(0);
  });

  it('rejects a first argument that is not an AbortSignal', async () => {
    await expect(waitForAbort({} as AbortSignal)).rejects.toThrow(
      /^signal must be an AbortSignal, got an object/,
    );
    await expect(waitForAbort(undefined as unknown as AbortSignal)).rejects.toThrow(
      /^signal must be an AbortSignal/,
    );
  });

  it('rejects an unknown option, a null one, and a signal option that is not an AbortSignal', async () => {
    const { signal } = new AbortController();
    await expect(waitForAbort(signal, { singal: signal } as never)).rejects.toThrow(
      /^waitForAbort options has an unknown option 'singal'; did you mean 'signal'\?/,
    );
    await expect(waitForAbort(signal, { signal: null } as never)).rejects.toThrow(
      /^waitForAbort options\.signal must not be null/,
    );
    await expect(waitForAbort(signal, { signal: 'x' } as never)).rejects.toThrow(
      /^waitForAbort options\.signal must be an AbortSignal/,
    );
    expect(listeners(signal)).toBe(0);
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    vi.useFakeTimers();
    let done = false;
    const sleeping = sleep(50).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(49);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(done).toBe(true);
  });

  it('rejects with an AbortError carrying the reason, and clears its timer', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const sleeping = sleep(1000, { signal: controller.signal });
    controller.abort('wake');
    await expect(sleeping).rejects.toMatchObject({ code: 'ABORTED', cause: 'wake' });
    expect(vi.getTimerCount()).toBe(0);
    expect(listeners(controller.signal)).toBe(0);
  });

  it('rejects at once for an aborted signal', async () => {
    await expect(sleep(10, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects ms %s', async (ms) => {
    await expect(sleep(ms)).rejects.toThrow(/^ms must be a non-negative duration in milliseconds/);
  });

  it('rejects an unknown option and a null one', async () => {
    await expect(sleep(1, { sigal: undefined } as never)).rejects.toThrow(
      /^sleep options has an unknown option 'sigal'; did you mean 'signal'\?/,
    );
    await expect(sleep(1, { signal: null } as never)).rejects.toThrow(
      /^sleep options\.signal must not be null/,
    );
  });

  it('sleeps a fractional delay', async () => {
    vi.useFakeTimers();
    const sleeping = sleep(1.5);
    await vi.advanceTimersByTimeAsync(2);
    await expect(sleeping).resolves.toBeUndefined();
  });

  it('does not wake early from a sleep of 2^31 ms or more', async () => {
    vi.useFakeTimers();
    let done = false;
    const sleeping = sleep(2 ** 31).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(done).toBe(true);
  });
});

describe('one signal shared by many waits', () => {
  it('carries a single workbus listener however many calls wait on it, and none after', async () => {
    const sem = new Semaphore(1);
    const holder = await sem.acquire();
    const controller = new AbortController();
    const waits = Array.from({ length: 50 }, () => sem.acquire(1, { signal: controller.signal }));
    expect(listeners(controller.signal)).toBe(1);
    controller.abort('all of you');
    const results = await Promise.allSettled(waits);
    expect(results.every((r) => r.status === 'rejected' && isAbortError(r.reason))).toBe(true);
    expect(listeners(controller.signal)).toBe(0);
    holder.release();
    expect(sem.available).toBe(1);
  });

  it('removes the shared listener once the last wait settles without an abort', async () => {
    const sem = new Semaphore(1);
    const holder = await sem.acquire();
    const { signal } = new AbortController();
    const waits = Array.from({ length: 20 }, () =>
      sem.acquire(1, { signal }).then((p) => p.release()),
    );
    expect(listeners(signal)).toBe(1);
    holder.release();
    await Promise.all(waits);
    expect(listeners(signal)).toBe(0);
  });
});
