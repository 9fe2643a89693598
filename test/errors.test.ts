import { describe, expect, it } from 'vitest';
import * as workbus from '../src/index.js';
import * as feed from '../src/feed/index.js';
import * as bridge from '../src/bridge/index.js';
import {
  AbortError,
  ClosedError,
  FileLockedError,
  JobSkippedError,
  LockCompromisedError,
  LockHeldWhileWaitingError,
  LockOrderError,
  NotFoundError,
  DuplicateFeedError,
  NonRetryableError,
  QueueFullError,
  StoreBusyError,
  StoreCorruptError,
  StoreError,
  StoreLockedError,
  StoreSchemaError,
  TimeoutError,
  WorkbusError,
  WorkerError,
  isAbortError,
} from '../src/index.js';
import { OpmlError } from '../src/errors.js';
import { EmbedError } from '../src/errors.js';
import {
  DisconnectedError,
  ForbiddenError,
  ProtocolError,
  RemoteError,
} from '../src/bridge/index.js';
import * as distributed from '../src/distributed/index.js';
import { JobFailedError, RedisUnavailableError } from '../src/distributed/index.js';

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
    [new FileLockedError('/data/app.json'), 'FILE_LOCKED', 'FileLockedError'],
    [new LockCompromisedError('/data/app.json'), 'LOCK_COMPROMISED', 'LockCompromisedError'],
    [new NotFoundError('feed', 7), 'NOT_FOUND', 'NotFoundError'],
    [
      new DuplicateFeedError('https://example.org/feed.xml'),
      'DUPLICATE_FEED',
      'DuplicateFeedError',
    ],
    [new StoreError('failed', { path: 'a.db' }), 'STORE_FAILED', 'StoreError'],
    [
      new StoreBusyError('busy', { path: 'a.db', busyTimeoutMs: 5 }),
      'STORE_BUSY',
      'StoreBusyError',
    ],
    [new StoreCorruptError('corrupt', { path: 'a.db' }), 'STORE_CORRUPT', 'StoreCorruptError'],
    [
      new StoreLockedError('locked', { path: 'a.db', pid: 1, host: 'h' }),
      'STORE_LOCKED',
      'StoreLockedError',
    ],
    [
      new StoreSchemaError('schema', { path: 'a.db', version: 2 }),
      'STORE_SCHEMA',
      'StoreSchemaError',
    ],
    [new OpmlError('not OPML'), 'OPML_INVALID', 'OpmlError'],
    [new RedisUnavailableError(), 'REDIS_UNAVAILABLE', 'RedisUnavailableError'],
    [
      new JobFailedError('failed', { error: { name: 'Error', message: 'x' } }),
      'JOB_FAILED',
      'JobFailedError',
    ],
    [
      new EmbedError('busy', { reason: 'busy', model: 'all-minilm', status: 503 }),
      'EMBED_FAILED',
      'EmbedError',
    ],
    [
      new JobSkippedError('skipped', { key: 'k', reason: 'backoff', eligibleAt: 1 }),
      'JOB_SKIPPED',
      'JobSkippedError',
    ],
    [new ProtocolError('bad', { reason: 'malformed' }), 'BRIDGE_PROTOCOL', 'ProtocolError'],
    [new ForbiddenError('no'), 'BRIDGE_FORBIDDEN', 'ForbiddenError'],
    [new DisconnectedError(), 'BRIDGE_DISCONNECTED', 'DisconnectedError'],
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

  it('NonRetryableError says whether the failure is permanent (false unless asked)', () => {
    expect(new NonRetryableError('404').permanent).toBe(false);
    expect(new NonRetryableError('410', { permanent: true }).permanent).toBe(true);
  });

  it("RemoteError carries the remote error's name, code and message, and is no WorkbusError", () => {
    const error = new RemoteError({ name: 'AbortError', code: 'ABORTED', message: 'gone' });
    expect([error.name, error.code, error.message]).toEqual(['AbortError', 'ABORTED', 'gone']);
    expect(isAbortError(error)).toBe(true);
    expect(error).not.toBeInstanceOf(WorkbusError);
  });

  it('TimeoutError carries its limit', () => {
    expect(new TimeoutError('slow', { timeoutMs: 50 }).timeoutMs).toBe(50);
  });
});

describe('isAbortError and subclasses', () => {
  it('is true for a subclass of AbortError, which keeps the literal name unless it sets its own', () => {
    class ShutdownAbort extends AbortError {}
    const error = new ShutdownAbort();
    expect(error.name).toBe('AbortError');
    expect(isAbortError(error)).toBe(true);
  });
});

/** Arguments for the error classes whose constructor needs more than a message. */
const constructorArgs: Record<string, unknown[]> = {
  WorkbusError: ['CLOSED', 'message'],
  LockOrderError: [[{ from: 'a', to: 'b' }]],
  LockHeldWhileWaitingError: ['pool.run', ['store']],
  WorkerError: ['failed', { type: 'parse', module: 'parse.worker.mjs' }],
  NotFoundError: ['item', 3],
  StoreError: ['failed', { path: 'a.db' }],
  StoreBusyError: ['busy', { path: 'a.db', busyTimeoutMs: 5 }],
  StoreCorruptError: ['corrupt', { path: 'a.db' }],
  StoreLockedError: ['locked', { path: 'a.db', pid: 1, host: 'h' }],
  StoreSchemaError: ['schema', { path: 'a.db', version: 2 }],
  JobSkippedError: ['skipped', { key: 'k', reason: 'permanent', eligibleAt: 1 }],
  EmbedError: ['busy', { reason: 'busy', model: 'm' }],
  FeedParseError: ['malformed', 'broken'],
  ProtocolError: ['bad', { reason: 'malformed' }],
  RemoteError: [{ name: 'RemoteError', code: 'REMOTE', message: 'message' }],
  JobFailedError: ['failed', { error: { name: 'Error', message: 'x' } }],
};

type ErrorClass = new (...args: unknown[]) => Error;

/** Every error class the package exports, from its entry points (`workbus`, `/feed`, `/bridge`, `/distributed`). */
const errorClasses: [string, ErrorClass][] = [
  ...new Map([
    ...Object.entries(workbus),
    ...Object.entries(feed),
    ...Object.entries(bridge),
    ...Object.entries(distributed),
  ] as [string, unknown][]).entries(),
]
  .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)
  .map(([name, value]) => [name, value as ErrorClass]);

describe('error names survive minification', () => {
  it('covers every exported error class', () => {
    expect(errorClasses.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'WorkbusError',
        'AbortError',
        'LifecycleError',
        'FeedParseError',
        'OpmlError',
        'ProtocolError',
        'RemoteError',
      ]),
    );
  });

  it.each(errorClasses)(
    '%s keeps its literal name when its constructor is renamed',
    (name, Cls) => {
      const original = Object.getOwnPropertyDescriptor(Cls, 'name') as PropertyDescriptor;
      Object.defineProperty(Cls, 'name', { value: 'x', configurable: true });
      try {
        const error = new Cls(...(constructorArgs[name] ?? ['message']));
        expect(error.name).toBe(name);
        expect(String(error)).toBe(`${name}: ${error.message}`);
      } finally {
        Object.defineProperty(Cls, 'name', original);
      }
    },
  );
});
