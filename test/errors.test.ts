import { describe, expect, it } from 'vitest';
import {
  AbortError,
  ClosedError,
  LockHeldWhileWaitingError,
  LockOrderError,
  QueueFullError,
  TimeoutError,
  WorkbusError,
  WorkerError,
  isAbortError,
} from '../src/index.js';

describe('errors', () => {
  it.each([
    [new AbortError(), 'ABORTED', 'AbortError'],
    [new TimeoutError(), 'TIMEOUT', 'TimeoutError'],
    [new ClosedError(), 'CLOSED', 'ClosedError'],
    [new QueueFullError(), 'QUEUE_FULL', 'QueueFullError'],
    [
      new LockOrderError([
        { from: 'a', to: 'b' },
        { from: 'b', to: 'a' },
      ]),
      'LOCK_ORDER',
      'LockOrderError',
    ],
    [
      new LockHeldWhileWaitingError('pool.run', ['store']),
      'LOCK_HELD_WHILE_WAITING',
      'LockHeldWhileWaitingError',
    ],
    [
      new WorkerError('failed', { type: 'cpu', module: 'file:///app/cpu.worker.js' }),
      'WORKER_FAILED',
      'WorkerError',
    ],
  ])('%s has a stable code and its class name', (error, code, name) => {
    expect(error).toBeInstanceOf(WorkbusError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
  });

  it('keeps the cause', () => {
    const reason = new Error('user gave up');
    expect(new AbortError('stopped', { cause: reason }).cause).toBe(reason);
  });

  it('isAbortError is true for workbus and platform abort errors, false for timeouts and others', () => {
    const controller = new AbortController();
    controller.abort();
    expect(isAbortError(new AbortError())).toBe(true);
    expect(isAbortError(controller.signal.reason)).toBe(true);
    expect(isAbortError(new TimeoutError())).toBe(false);
    expect(isAbortError(new Error('x'))).toBe(false);
    expect(isAbortError('AbortError')).toBe(false);
    expect(isAbortError(null)).toBe(false);
  });

  it('LockOrderError names the whole cycle and freezes it', () => {
    const error = new LockOrderError([
      { from: 'controller', to: 'store' },
      { from: 'store', to: 'pool' },
      { from: 'pool', to: 'controller' },
    ]);
    expect(error.message).toBe('Lock order cycle: controller -> store -> pool -> controller');
    expect(Object.isFrozen(error.cycle)).toBe(true);
  });

  it('LockHeldWhileWaitingError names what was waited on and the held locks', () => {
    const error = new LockHeldWhileWaitingError('pool.run', ['store', 'feeds']);
    expect(error.message).toContain('pool.run');
    expect(error.message).toContain('"store", "feeds"');
    expect(error.held).toEqual(['store', 'feeds']);
  });

  it('TimeoutError carries its limit', () => {
    expect(new TimeoutError('slow', { timeoutMs: 50 }).timeoutMs).toBe(50);
  });
});

describe('isAbortError and subclasses', () => {
  it('is true for a subclass of AbortError, whose name differs', () => {
    class ShutdownAbort extends AbortError {}
    const error = new ShutdownAbort();
    expect(error.name).toBe('ShutdownAbort');
    expect(isAbortError(error)).toBe(true);
  });
});
