import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { after, MAX_TIMER_STEP_MS } from '../../src/internal/timer.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('after', () => {
  // The fake clock clamps a delay past 2^31 - 1 to 1 ms, as Node's timers do.
  it.each([
    ['2^31 ms', 2 ** 31],
    ['2^40 ms', 2 ** 40],
  ])('a %s timer does not fire early', (_, ms) => {
    const fn = vi.fn();
    const timer = after(ms, fn);
    vi.advanceTimersByTime(ms - 1);
    expect(fn).not.toHaveBeenCalled();
    timer.clear();
  });

  it.each([
    ['2^31 ms', 2 ** 31],
    ['2^40 ms', 2 ** 40],
  ])('a %s timer fires once, at its time', (_, ms) => {
    const fn = vi.fn();
    after(ms, fn);
    vi.advanceTimersByTime(ms);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a timer within one step is a single setTimeout', () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const fn = vi.fn();
    after(MAX_TIMER_STEP_MS, fn);
    vi.advanceTimersByTime(MAX_TIMER_STEP_MS);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
  });

  it('passes a fractional delay to Node as it is', () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const fn = vi.fn();
    after(1.5, fn);
    expect(setTimeoutSpy).toHaveBeenCalledWith(expect.any(Function), 1.5);
    vi.advanceTimersByTime(2);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('a 0 ms timer fires on the next timer turn, not synchronously', () => {
    const fn = vi.fn();
    after(0, fn);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(0);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('clear() before it fires cancels it and leaves no timer', () => {
    const fn = vi.fn();
    after(1000, fn).clear();
    vi.advanceTimersByTime(1000);
    expect(fn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clear() between two steps of a long timer cancels it and leaves no timer', () => {
    const fn = vi.fn();
    const timer = after(2 ** 33, fn);
    vi.advanceTimersByTime(MAX_TIMER_STEP_MS + 1);
    expect(vi.getTimerCount()).toBe(1);
    timer.clear();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(2 ** 33);
    expect(fn).not.toHaveBeenCalled();
  });

  it('clear() after it fired, or twice, does nothing', () => {
    const fn = vi.fn();
    const timer = after(10, fn);
    vi.advanceTimersByTime(10);
    timer.clear();
    timer.clear();
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('with unref, every step of the chain is unref’d', () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const timer = after(2 ** 32, () => {}, { unref: true });
    vi.advanceTimersByTime(MAX_TIMER_STEP_MS);
    const handles = setTimeoutSpy.mock.results.map((r) => r.value as NodeJS.Timeout);
    expect(handles).toHaveLength(2);
    for (const handle of handles) expect(handle.hasRef()).toBe(false);
    timer.clear();
  });

  it('without unref, the timer keeps the process alive', () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    after(10, () => {}).clear();
    const handle = setTimeoutSpy.mock.results[0]?.value as NodeJS.Timeout;
    expect(handle.hasRef()).toBe(true);
  });
});
