/**
 * Lifecycle: ordered start with rollback, reverse (level-parallel) stop with grace, abort
 * and abort grace, the stop report, and signal handling. Deterministic: time moves only
 * with fake timers, components start and stop when the test says so (deferreds).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  Lifecycle,
  LifecycleError,
  WorkPool,
  type CloseReport,
  type Component,
  type PoolEvents,
  type StartContext,
  type StopContext,
} from '../../src/index.js';
import { deferred } from '../helpers/deferred.js';

/** Runs every queued microtask and the (fake) timers due now, without moving the clock. */
async function flush(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

type Outcome<T> =
  | { readonly status: 'pending' }
  | { readonly status: 'fulfilled'; readonly value: T }
  | { readonly status: 'rejected'; readonly error: unknown };

/** Watches a promise without awaiting it: call the result to see how it stands now. */
function observe<T>(promise: Promise<T>): () => Outcome<T> {
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
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it fulfilled');
}

/** The error `fn` throws; fails the test if it returns. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw, but it returned');
}

function expectLifecycleError(error: unknown, message: string): LifecycleError {
  expect(error).toBeInstanceOf(LifecycleError);
  expect((error as LifecycleError).code).toBe('LIFECYCLE');
  expect((error as LifecycleError).message).toBe(message);
  return error as LifecycleError;
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Behaviour {
  readonly start?: (context: StartContext) => unknown;
  readonly stop?: (context: StopContext) => unknown;
}

/** Makes components that record `start <name>` / `stop <name>` in one shared log. */
class Probe {
  readonly log: string[] = [];

  component(name: string, behaviour: Behaviour = {}): Component {
    return {
      start: (context) => {
        this.log.push(`start ${name}`);
        return behaviour.start?.(context);
      },
      stop: (context) => {
        this.log.push(`stop ${name}`);
        return behaviour.stop?.(context);
      },
    };
  }

  /** The stop calls recorded so far. */
  stops(): string[] {
    return this.log.filter((line) => line.startsWith('stop '));
  }
}

/** A start that rejects with its signal's reason when the signal aborts. */
const untilAborted = ({ signal }: { readonly signal: AbortSignal }): Promise<never> =>
  new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as unknown), { once: true });
  });

const NOW = 1_000_000;

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});

afterEach(() => {
  // Every grace and abort-grace timer of the Lifecycle is cleared, whatever happened.
  expect(vi.getTimerCount()).toBe(0);
});

describe('Lifecycle start', () => {
  it('starts in dependency order, keeping insertion order within a level', async () => {
    const probe = new Probe();
    const app = new Lifecycle()
      .add('web', probe.component('web'), { dependsOn: ['pool', 'cache'] })
      .add('pool', probe.component('pool'), { dependsOn: ['store'] })
      .add('metrics', probe.component('metrics'))
      .add('store', probe.component('store'))
      .add('cache', probe.component('cache'));
    await app.start();
    expect(probe.log).toEqual([
      'start metrics',
      'start store',
      'start cache',
      'start pool',
      'start web',
    ]);
    await app.stop();
  });

  it('starts one component at a time, waiting for each start to settle', async () => {
    const probe = new Probe();
    const gate = deferred();
    const app = new Lifecycle()
      .add('store', probe.component('store', { start: () => gate.promise }))
      .add('cache', probe.component('cache'));
    const starting = observe(app.start());
    await flush();
    expect(probe.log).toEqual(['start store']);
    expect(starting().status).toBe('pending');
    gate.resolve();
    await flush();
    expect(probe.log).toEqual(['start store', 'start cache']);
    expect(starting().status).toBe('fulfilled');
    await app.stop();
  });

  it("moves through 'idle', 'starting', 'started', 'stopping' and 'stopped'", async () => {
    const started = deferred();
    const stopped = deferred();
    const app = new Lifecycle().add('store', {
      start: () => started.promise,
      stop: () => stopped.promise,
    });
    expect(app.state).toBe('idle');
    const starting = app.start();
    expect(app.state).toBe('starting');
    started.resolve();
    await starting;
    expect(app.state).toBe('started');
    const stopping = app.stop();
    expect(app.state).toBe('stopping');
    stopped.resolve();
    await stopping;
    expect(app.state).toBe('stopped');
  });

  it('accepts components without a start method', async () => {
    const stop = vi.fn();
    const app = new Lifecycle().add('bare', { stop });
    await app.start();
    expect(app.state).toBe('started');
    const report = await app.stop();
    expect(stop).toHaveBeenCalledTimes(1);
    expect(report.components).toEqual([{ name: 'bare', outcome: 'stopped', durationMs: 0 }]);
  });

  it.each([
    [
      'throws',
      (error: Error) => () => {
        throw error;
      },
    ],
    ['rejects', (error: Error) => () => Promise.reject(error)],
  ])(
    'when a start %s: stops those already started, in reverse, and rejects with a LifecycleError caused by it',
    async (_, failWith) => {
      const probe = new Probe();
      const boom = new Error('feed server unreachable');
      const app = new Lifecycle()
        .add('store', probe.component('store'))
        .add('pool', probe.component('pool'), { dependsOn: ['store'] })
        .add('producer', probe.component('producer', { start: failWith(boom) }), {
          dependsOn: ['pool'],
        })
        .add('web', probe.component('web'), { dependsOn: ['producer'] });
      const error = expectLifecycleError(
        await rejectionOf(app.start()),
        'Starting "producer" failed',
      );
      expect(error.cause).toBe(boom);
      // The rollback is done by the time start() rejects; "web" never started.
      expect(probe.log).toEqual([
        'start store',
        'start pool',
        'start producer',
        'stop pool',
        'stop store',
      ]);
      expect(app.state).toBe('stopped');
      const report = await app.stopped;
      expect(report.components.map((c) => [c.name, c.outcome])).toEqual([
        ['web', 'not-started'],
        ['producer', 'not-started'],
        ['pool', 'stopped'],
        ['store', 'stopped'],
      ]);
      expect(report.ok).toBe(true);
    },
  );

  it('refuses an unknown dependency, naming it, before starting anything', async () => {
    const probe = new Probe();
    const app = new Lifecycle()
      .add('pool', probe.component('pool'))
      .add('producer', probe.component('producer'), { dependsOn: ['pool', 'ghost'] });
    expectLifecycleError(
      await rejectionOf(app.start()),
      '"producer" depends on "ghost", which was never added',
    );
    expect(probe.log).toEqual([]);
    expect(app.state).toBe('idle');
  });

  it('refuses a dependency cycle, naming the whole cycle, before starting anything', async () => {
    const probe = new Probe();
    const app = new Lifecycle()
      .add('root', probe.component('root'))
      .add('a', probe.component('a'), { dependsOn: ['root', 'c'] })
      .add('b', probe.component('b'), { dependsOn: ['a'] })
      .add('c', probe.component('c'), { dependsOn: ['b'] });
    expectLifecycleError(await rejectionOf(app.start()), 'Dependency cycle: a -> c -> b -> a');
    expect(probe.log).toEqual([]);
  });

  it('refuses a component that depends on itself as a cycle', async () => {
    const probe = new Probe();
    const app = new Lifecycle().add('a', probe.component('a'), { dependsOn: ['a'] });
    expectLifecycleError(await rejectionOf(app.start()), 'Dependency cycle: a -> a');
    expect(probe.log).toEqual([]);
  });

  it('a stop() after a refused start reports every component not-started', async () => {
    const probe = new Probe();
    const app = new Lifecycle()
      .add('a', probe.component('a'), { dependsOn: ['b'] })
      .add('b', probe.component('b'), { dependsOn: ['a'] });
    await rejectionOf(app.start());
    const report = await app.stop();
    expect(report.components.map((c) => c.outcome)).toEqual(['not-started', 'not-started']);
    expect(probe.log).toEqual([]);
  });

  it('refuses a second start(), and add() once started', async () => {
    const app = new Lifecycle().add('a', { stop: () => {} });
    await app.start();
    expectLifecycleError(await rejectionOf(app.start()), 'Cannot start: already started');
    expectLifecycleError(
      thrownBy(() => app.add('b', { stop: () => {} })),
      'Cannot add "b": already started',
    );
    await app.stop();
    expectLifecycleError(await rejectionOf(app.start()), 'Cannot start: already stopped');
  });
});

describe('Lifecycle stop', () => {
  it('stops in reverse dependency order, level by level', async () => {
    const probe = new Probe();
    const app = new Lifecycle()
      .add('web', probe.component('web'), { dependsOn: ['pool', 'cache'] })
      .add('pool', probe.component('pool'), { dependsOn: ['store'] })
      .add('metrics', probe.component('metrics'))
      .add('store', probe.component('store'))
      .add('cache', probe.component('cache'));
    await app.start();
    const report = await app.stop();
    expect(probe.stops()).toEqual([
      'stop web',
      'stop pool',
      'stop metrics',
      'stop store',
      'stop cache',
    ]);
    expect(report.components.map((c) => c.name)).toEqual([
      'web',
      'pool',
      'metrics',
      'store',
      'cache',
    ]);
    expect(report.components.every((c) => c.outcome === 'stopped')).toBe(true);
    expect(report.ok).toBe(true);
    expect(report.error).toBeUndefined();
  });

  it('stops independent components in parallel, after what depends on them', async () => {
    const probe = new Probe();
    const gates = { a: deferred(), b: deferred(), user: deferred() };
    const app = new Lifecycle()
      .add('a', probe.component('a', { stop: () => gates.a.promise }))
      .add('b', probe.component('b', { stop: () => gates.b.promise }))
      .add('user', probe.component('user', { stop: () => gates.user.promise }), {
        dependsOn: ['a', 'b'],
      });
    await app.start();
    const stopping = observe(app.stop());
    await flush();
    expect(probe.stops()).toEqual(['stop user']);
    gates.user.resolve();
    await flush();
    // Both stops are in flight at once: neither waited for the other.
    expect(probe.stops()).toEqual(['stop user', 'stop a', 'stop b']);
    gates.b.resolve();
    await flush();
    expect(stopping().status).toBe('pending');
    gates.a.resolve();
    await flush();
    expect(stopping().status).toBe('fulfilled');
  });

  it('is idempotent: every call returns the same promise, and stops each component once', async () => {
    const probe = new Probe();
    const app = new Lifecycle().add('a', probe.component('a'));
    await app.start();
    const first = app.stop();
    expect(app.stop()).toBe(first);
    const report = await first;
    expect(app.stop()).toBe(first);
    expect(probe.stops()).toEqual(['stop a']);
    expect(report.components).toHaveLength(1);
  });

  it('resolves `stopped` with the report once stop() has finished', async () => {
    const gate = deferred();
    const app = new Lifecycle().add('a', { stop: () => gate.promise });
    await app.start();
    const stopped = observe(app.stopped);
    await flush();
    expect(stopped().status).toBe('pending');
    const stopping = app.stop();
    await flush();
    expect(stopped().status).toBe('pending');
    gate.resolve();
    const report = await stopping;
    expect(await app.stopped).toBe(report);
  });

  it('gives a component its own graceMs, then aborts its stop signal', async () => {
    let context: StopContext | undefined;
    const app = new Lifecycle({ graceMs: 10_000 }).add(
      'slow',
      {
        stop: (ctx: StopContext) => {
          context = ctx;
          return untilAborted(ctx).catch(() => {}); // stops as soon as it is told to hurry
        },
      },
      { graceMs: 100 },
    );
    await app.start();
    const stopping = app.stop();
    await vi.advanceTimersByTimeAsync(99);
    expect(context?.deadline).toBe(NOW + 100);
    expect(context?.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(context?.signal.aborted).toBe(true);
    expectLifecycleError(context?.signal.reason, '"slow" did not stop within 100 ms');
    const report = await stopping;
    expect(report.components).toEqual([{ name: 'slow', outcome: 'aborted', durationMs: 100 }]);
    expect(report.ok).toBe(false);
    expect(report.error).toBeUndefined();
  });

  it("gives components without their own graceMs the lifecycle's, and never aborts one that stops in time", async () => {
    const contexts: StopContext[] = [];
    const app = new Lifecycle({ graceMs: 300 }).add('a', {
      stop: async (ctx: StopContext) => {
        contexts.push(ctx);
        await wait(299);
      },
    });
    await app.start();
    const report = await Promise.all([app.stop(), vi.advanceTimersByTimeAsync(299)]).then(
      ([r]) => r,
    );
    expect(contexts[0]?.deadline).toBe(NOW + 300);
    expect(contexts[0]?.signal.aborted).toBe(false);
    expect(report.components).toEqual([{ name: 'a', outcome: 'stopped', durationMs: 299 }]);
    expect(report.ok).toBe(true);
  });

  it("reports a component that ignores its abort 'timed-out' and moves on after grace + abortGraceMs", async () => {
    const probe = new Probe();
    const app = new Lifecycle({ graceMs: 100, abortGraceMs: 50 })
      .add('store', probe.component('store'))
      .add('stuck', probe.component('stuck', { stop: () => new Promise(() => {}) }), {
        dependsOn: ['store'],
      });
    await app.start();
    const stopping = observe(app.stop());
    await vi.advanceTimersByTimeAsync(149);
    expect(stopping().status).toBe('pending');
    expect(probe.stops()).toEqual(['stop stuck']);
    await vi.advanceTimersByTimeAsync(1);
    const outcome = stopping();
    if (outcome.status !== 'fulfilled') throw new Error(`stop() is ${outcome.status}`);
    expect(outcome.value.components).toEqual([
      { name: 'stuck', outcome: 'timed-out', durationMs: 150 },
      { name: 'store', outcome: 'stopped', durationMs: 0 },
    ]);
    expect(outcome.value.ok).toBe(false);
    expect(probe.stops()).toEqual(['stop stuck', 'stop store']);
  });

  it("reports stops that throw or reject 'failed' in an AggregateError, and still stops the rest", async () => {
    const probe = new Probe();
    const syncError = new Error('flush failed');
    const asyncError = new Error('socket reset');
    const app = new Lifecycle()
      .add('store', probe.component('store'))
      .add(
        'sync',
        probe.component('sync', {
          stop: () => {
            throw syncError;
          },
        }),
        { dependsOn: ['store'] },
      )
      .add('async', probe.component('async', { stop: () => Promise.reject(asyncError) }), {
        dependsOn: ['store'],
      })
      .add('fine', probe.component('fine'), { dependsOn: ['store'] });
    await app.start();
    const report = await app.stop();
    expect(report.components).toEqual([
      { name: 'sync', outcome: 'failed', durationMs: 0, error: syncError },
      { name: 'async', outcome: 'failed', durationMs: 0, error: asyncError },
      { name: 'fine', outcome: 'stopped', durationMs: 0 },
      { name: 'store', outcome: 'stopped', durationMs: 0 },
    ]);
    expect(probe.stops()).toEqual(['stop sync', 'stop async', 'stop fine', 'stop store']);
    expect(report.ok).toBe(false);
    expect(report.error).toBeInstanceOf(AggregateError);
    expect(report.error?.errors).toEqual([syncError, asyncError]);
    expect(report.error?.message).toBe('2 component(s) failed to stop');
  });

  it("reports every component 'not-started' when stopped before start(), without calling stop", async () => {
    const probe = new Probe();
    const app = new Lifecycle()
      .add('store', probe.component('store'))
      .add('pool', probe.component('pool'), { dependsOn: ['store'] });
    const report = await app.stop();
    expect(report.components).toEqual([
      { name: 'pool', outcome: 'not-started', durationMs: 0 },
      { name: 'store', outcome: 'not-started', durationMs: 0 },
    ]);
    expect(report.ok).toBe(true);
    expect(probe.log).toEqual([]);
    expect(app.state).toBe('stopped');
  });

  it('reports how long each stop took', async () => {
    const app = new Lifecycle()
      .add('store', { stop: () => wait(30) })
      .add('pool', { stop: () => wait(20) }, { dependsOn: ['store'] })
      .add('bus', { stop: () => {} }, { dependsOn: ['pool'] });
    await app.start();
    const stopping = app.stop();
    await vi.advanceTimersByTimeAsync(50);
    const report = await stopping;
    expect(report.components).toEqual([
      { name: 'bus', outcome: 'stopped', durationMs: 0 },
      { name: 'pool', outcome: 'stopped', durationMs: 20 },
      { name: 'store', outcome: 'stopped', durationMs: 30 },
    ]);
  });

  it('returns a frozen report', async () => {
    const app = new Lifecycle().add('a', { stop: () => {} });
    const report = await app.stop();
    expect(Object.isFrozen(report)).toBe(true);
    expect(Object.isFrozen(report.components)).toBe(true);
    expect(Object.isFrozen(report.components[0])).toBe(true);
  });
});

describe('Lifecycle stop() during start()', () => {
  it('aborts the start signal; start() rejects with that reason as cause; what started is stopped', async () => {
    const probe = new Probe();
    let signal: AbortSignal | undefined;
    const app = new Lifecycle()
      .add('store', probe.component('store'))
      .add(
        'pool',
        probe.component('pool', {
          start: (ctx) => {
            signal = ctx.signal;
            return untilAborted(ctx);
          },
        }),
        { dependsOn: ['store'] },
      )
      .add('web', probe.component('web'), { dependsOn: ['pool'] });
    const starting = rejectionOf(app.start());
    await flush();
    expect(signal?.aborted).toBe(false);
    const report = await app.stop();
    expect(signal?.aborted).toBe(true);
    expectLifecycleError(signal?.reason, 'stopped while starting');
    const error = expectLifecycleError(await starting, 'Starting "pool" failed');
    expect(error.cause).toBe(signal?.reason);
    expect(probe.log).toEqual(['start store', 'start pool', 'stop store']);
    expect(report.components.map((c) => [c.name, c.outcome])).toEqual([
      ['web', 'not-started'],
      ['pool', 'not-started'],
      ['store', 'stopped'],
    ]);
  });

  it('still stops a component whose start ignored the abort and completed, before its dependencies', async () => {
    const probe = new Probe();
    const gate = deferred();
    const app = new Lifecycle()
      .add('store', probe.component('store'))
      .add('pool', probe.component('pool', { start: () => gate.promise }), {
        dependsOn: ['store'],
      })
      .add('web', probe.component('web'), { dependsOn: ['pool'] });
    const starting = rejectionOf(app.start());
    await flush();
    const stopping = app.stop();
    await flush();
    expect(probe.log).toEqual(['start store', 'start pool']); // the store waits for the pool
    gate.resolve();
    const report = await stopping;
    expect(probe.log).toEqual(['start store', 'start pool', 'stop pool', 'stop store']);
    expect(report.components.map((c) => [c.name, c.outcome])).toEqual([
      ['web', 'not-started'],
      ['pool', 'stopped'],
      ['store', 'stopped'],
    ]);
    // Stopped between the pool's start and the web's: no component is blamed.
    expectLifecycleError(await starting, 'Stopped while starting');
  });

  it('rejects start() when stopped during the last start, even if that start ignored the abort', async () => {
    const probe = new Probe();
    const gate = deferred();
    const app = new Lifecycle().add('only', probe.component('only', { start: () => gate.promise }));
    const starting = rejectionOf(app.start());
    await flush();
    const stopping = app.stop();
    gate.resolve();
    const report = await stopping;
    expect(report.components.map((c) => [c.name, c.outcome])).toEqual([['only', 'stopped']]);
    const error = expectLifecycleError(await starting, 'Stopped while starting');
    expectLifecycleError(error.cause, 'stopped while starting');
    expect(app.state).toBe('stopped');
  });

  it("waits at most abortGraceMs for a start that ignores the abort, then reports it 'timed-out'", async () => {
    const probe = new Probe();
    const app = new Lifecycle({ abortGraceMs: 50 })
      .add('store', probe.component('store'))
      .add('pool', probe.component('pool', { start: () => new Promise(() => {}) }), {
        dependsOn: ['store'],
      });
    const starting = observe(app.start()); // the pool's start never settles
    await flush();
    const stopping = observe(app.stop());
    await vi.advanceTimersByTimeAsync(49);
    expect(stopping().status).toBe('pending');
    expect(starting().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    const outcome = stopping();
    if (outcome.status !== 'fulfilled') throw new Error(`stop() is ${outcome.status}`);
    expect(outcome.value.components).toEqual([
      { name: 'pool', outcome: 'timed-out', durationMs: 50 },
      { name: 'store', outcome: 'stopped', durationMs: 0 },
    ]);
    expect(probe.log).toEqual(['start store', 'start pool', 'stop store']);
  });

  it('rejects start() once stop() has given up on a start that ignores its abort', async () => {
    const app = new Lifecycle({ abortGraceMs: 50 }).add('pool', {
      start: () => new Promise(() => {}),
      stop: () => {},
    });
    const starting = observe(app.start());
    await flush();
    const stopping = app.stop();
    await vi.advanceTimersByTimeAsync(49);
    expect(starting().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    await stopping;
    const outcome = starting();
    if (outcome.status !== 'rejected') throw new Error(`start() is ${outcome.status}`);
    const error = expectLifecycleError(
      outcome.error,
      'Stopped while starting "pool", whose start ignored the abort',
    );
    expectLifecycleError(error.cause, 'stopped while starting');
  });

  it('stops a component whose start finishes after stop() gave up on it, before its dependencies', async () => {
    const probe = new Probe();
    const poolStarted = deferred();
    const cacheStopped = deferred();
    const poolStopped = deferred();
    const app = new Lifecycle({ abortGraceMs: 50, graceMs: 1_000 })
      .add('store', probe.component('store'))
      .add('cache', probe.component('cache', { stop: () => cacheStopped.promise }), {
        dependsOn: ['store'],
      })
      .add(
        'pool',
        probe.component('pool', {
          start: () => poolStarted.promise,
          stop: () => poolStopped.promise,
        }),
        { dependsOn: ['store'] },
      );
    const starting = rejectionOf(app.start());
    await flush();
    const stopping = observe(app.stop());
    await vi.advanceTimersByTimeAsync(50); // stop() gives up on the pool's start
    await expect(starting).resolves.toBeInstanceOf(LifecycleError);
    expect(probe.stops()).toEqual(['stop cache']);
    poolStarted.resolve(); // the start ignored its abort and finishes late
    await flush();
    expect(probe.stops()).toEqual(['stop cache', 'stop pool']); // at once
    cacheStopped.resolve();
    await flush();
    expect(probe.stops()).toEqual(['stop cache', 'stop pool']); // the store waits for the pool
    poolStopped.resolve();
    await flush();
    expect(probe.stops()).toEqual(['stop cache', 'stop pool', 'stop store']);
    expect(stopping().status).toBe('fulfilled');
  });

  it('stops at once a component whose start finishes after stop() resolved', async () => {
    const probe = new Probe();
    const started = deferred();
    const app = new Lifecycle({ abortGraceMs: 50 }).add(
      'pool',
      probe.component('pool', { start: () => started.promise }),
    );
    const starting = rejectionOf(app.start());
    await flush();
    const stopping = app.stop();
    await vi.advanceTimersByTimeAsync(50);
    const report = await stopping;
    await starting;
    expect(report.components.map((c) => [c.name, c.outcome])).toEqual([['pool', 'timed-out']]);
    expect(probe.stops()).toEqual([]);
    started.resolve();
    await flush();
    expect(probe.stops()).toEqual(['stop pool']);
  });

  it('never stops a component whose late start fails', async () => {
    const probe = new Probe();
    const started = deferred();
    const app = new Lifecycle({ abortGraceMs: 50 }).add(
      'pool',
      probe.component('pool', { start: () => started.promise }),
    );
    const starting = rejectionOf(app.start());
    await flush();
    const stopping = app.stop();
    await vi.advanceTimersByTimeAsync(50);
    await stopping;
    await starting;
    started.reject(new Error('late failure'));
    await flush();
    expect(probe.stops()).toEqual([]);
  });
});

describe('Lifecycle durations', () => {
  it('does not abort a stop early when graceMs is 2^31 ms or more', async () => {
    let signal: AbortSignal | undefined;
    const stopped = deferred();
    const app = new Lifecycle({ graceMs: 2 ** 31 }).add('pool', {
      stop: (ctx) => {
        signal = ctx.signal;
        return stopped.promise;
      },
    });
    await app.start();
    const stopping = app.stop();
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(signal?.aborted).toBe(true);
    stopped.resolve();
    expect((await stopping).components[0]?.outcome).toBe('aborted');
  });

  it('does not leave a component behind early when abortGraceMs is 2^31 ms or more', async () => {
    const app = new Lifecycle({ graceMs: 0, abortGraceMs: 2 ** 31 }).add('pool', {
      stop: () => new Promise(() => {}),
    });
    await app.start();
    const stopping = observe(app.stop());
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(stopping().status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(stopping().status).toBe('fulfilled');
  });

  it("honours a component's own graceMs of 2^31 ms or more, and fractional ones", async () => {
    const signals: AbortSignal[] = [];
    const hang = (ctx: StopContext): Promise<void> => {
      signals.push(ctx.signal);
      return new Promise(() => {});
    };
    const app = new Lifecycle({ abortGraceMs: 0 })
      .add('long', { stop: hang }, { graceMs: 2 ** 32 })
      .add('short', { stop: hang }, { graceMs: 1.5 });
    await app.start();
    const stopping = app.stop();
    await vi.advanceTimersByTimeAsync(2);
    expect(signals.map((s) => s.aborted)).toEqual([false, true]);
    await vi.advanceTimersByTimeAsync(2 ** 32);
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
    await stopping;
  });
});

describe('Lifecycle validation', () => {
  it('refuses a duplicate, empty or non-string name with a TypeError', () => {
    const app = new Lifecycle().add('a', { stop: () => {} });
    expect(() => app.add('a', { stop: () => {} })).toThrow(
      new TypeError('name must be a new component name, got "a"'),
    );
    expect(() => app.add('', { stop: () => {} })).toThrow(TypeError);
    expect(() => app.add(42 as unknown as string, { stop: () => {} })).toThrow(TypeError);
  });

  it('refuses a component without a stop() method, or with a start that is not a method', () => {
    const app = new Lifecycle();
    expect(() => app.add('a', {} as Component)).toThrow(
      new TypeError('component "a" must have a stop() method'),
    );
    expect(() => app.add('b', null as unknown as Component)).toThrow(TypeError);
    expect(() => app.add('c', { start: 1, stop: () => {} } as unknown as Component)).toThrow(
      new TypeError('component "c".start must be a method, got number'),
    );
  });

  it('refuses a bad graceMs, naming the component, and registers nothing', async () => {
    const app = new Lifecycle();
    const stop = vi.fn();
    expect(() => app.add('a', { stop }, { graceMs: -1 })).toThrow(
      new RangeError('a.graceMs must be a non-negative duration in milliseconds, got -1 (number)'),
    );
    expect(() => app.add('a', { stop }, { graceMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => app.add('a', { stop }, { graceMs: Number.NaN })).toThrow(RangeError);
    expect(() => app.add('a', { stop }, { graceMs: '5' as unknown as number })).toThrow(TypeError);
    await app.start();
    await app.stop();
    expect(stop).not.toHaveBeenCalled();
  });

  it('refuses a dependency name that is not a non-empty string', () => {
    expect(() => new Lifecycle().add('a', { stop: () => {} }, { dependsOn: [''] })).toThrow(
      /a\.dependsOn\[\] must be a non-empty string/,
    );
  });

  it('refuses bad graceMs and abortGraceMs options', () => {
    expect(() => new Lifecycle({ graceMs: -5 })).toThrow(RangeError);
    expect(() => new Lifecycle({ abortGraceMs: Number.POSITIVE_INFINITY })).toThrow(
      /^abortGraceMs must be a non-negative duration in milliseconds/,
    );
  });

  it('refuses an unknown Lifecycle option with a did-you-mean, and a null one', () => {
    expect(() => new Lifecycle({ grace: 5 } as never)).toThrow(
      new TypeError(
        "Lifecycle options has an unknown option 'grace'; did you mean 'graceMs'? (known options: 'graceMs', 'abortGraceMs')",
      ),
    );
    expect(() => new Lifecycle({ graceMs: null } as never)).toThrow(
      /^Lifecycle options\.graceMs must not be null/,
    );
  });

  it('refuses an unknown add() option with a did-you-mean, and a null one, registering nothing', async () => {
    const app = new Lifecycle();
    const stop = vi.fn();
    expect(() => app.add('a', { stop }, { dependOn: ['b'] } as never)).toThrow(
      /^Lifecycle\.add options has an unknown option 'dependOn'; did you mean 'dependsOn'\?/,
    );
    expect(() => app.add('a', { stop }, { grace: 5 } as never)).toThrow(/did you mean 'graceMs'\?/);
    expect(() => app.add('a', { stop }, { dependsOn: null } as never)).toThrow(
      /^Lifecycle\.add options\.dependsOn must not be null/,
    );
    await app.start();
    await app.stop();
    expect(stop).not.toHaveBeenCalled();
  });

  it('refuses dependsOn given a string rather than an array', () => {
    const app = new Lifecycle().add('db', { stop: () => {} });
    expect(() => app.add('a', { stop: () => {} }, { dependsOn: 'db' as never })).toThrow(
      new TypeError('a.dependsOn must be an array of component names, got "db"'),
    );
  });

  it('checks add() arguments before its state, so a bad call says what is wrong with it', async () => {
    const app = new Lifecycle();
    await app.start();
    expect(() => app.add('a', { stop: () => {} }, { grace: 1 } as never)).toThrow(TypeError);
    expect(() => app.add('a', { stop: () => {} })).toThrow(LifecycleError);
    await app.stop();
  });

  it('refuses an unknown handleSignals option and an exit that is not a function', async () => {
    const app = new Lifecycle();
    expect(() => app.handleSignals({ exitt: () => {} } as never)).toThrow(
      /^handleSignals options has an unknown option 'exitt'; did you mean 'exit'\?/,
    );
    expect(() => app.handleSignals({ exit: 130 } as never)).toThrow(/^exit must be a function/);
    expect(process.listenerCount('SIGINT')).toBe(0);
    await app.stop();
  });
});

describe('Lifecycle with a WorkPool and an EventBus', () => {
  it('takes them as components as they are: the pool drains, the bus closes after it', async () => {
    const bus = new EventBus<PoolEvents>();
    const pool = new WorkPool({ concurrency: 1, types: { work: { concurrency: 1 } }, bus });
    const closed: CloseReport[] = [];
    bus.on('pool.closed', (report) => closed.push(report));
    const app = new Lifecycle()
      .add('bus', bus satisfies Component)
      .add('pool', pool satisfies Component, { dependsOn: ['bus'] });
    await app.start();
    const gate = deferred<string>();
    const running = pool.submit('work', () => gate.promise);
    const queued = pool.submit('work', () => 'queued');
    const stopping = app.stop();
    await flush();
    expect(pool.state).toBe('closing');
    expect(bus.closed).toBe(false);
    gate.resolve('running');
    const report = await stopping;
    expect(report.components.map((c) => [c.name, c.outcome])).toEqual([
      ['pool', 'stopped'],
      ['bus', 'stopped'],
    ]);
    expect(await running.result).toBe('running');
    expect(await queued.result).toBe('queued'); // drained, not cancelled
    expect(pool.state).toBe('closed');
    expect(bus.closed).toBe(true);
    // The bus was still open when the pool published its close.
    expect(closed).toEqual([{ completed: 2, cancelled: 0, abandoned: [] }]);
  });

  it('runs cleanup work a component submits while stopping, because it stops before the pool', async () => {
    const pool = new WorkPool({ concurrency: 1, types: { write: { concurrency: 1 } } });
    const written: string[] = [];
    const producer: Component = {
      stop: () => {
        pool.submit('write', async () => {
          await wait(10);
          written.push('final flush');
        });
      },
    };
    const app = new Lifecycle()
      .add('pool', pool)
      .add('producer', producer, { dependsOn: ['pool'] });
    await app.start();
    const stopping = app.stop();
    await vi.advanceTimersByTimeAsync(10);
    const report = await stopping;
    expect(report.components).toEqual([
      { name: 'producer', outcome: 'stopped', durationMs: 0 },
      { name: 'pool', outcome: 'stopped', durationMs: 10 },
    ]);
    expect(written).toEqual(['final flush']);
  });

  it("gives the pool the component's deadline as its close grace", async () => {
    const pool = new WorkPool({
      concurrency: 1,
      types: { work: { concurrency: 1 } },
      abortGraceMs: 10,
    });
    const app = new Lifecycle().add('pool', pool, { graceMs: 200 });
    await app.start();
    const job = pool.submit('work', untilAborted);
    const result = rejectionOf(job.result);
    const stopping = observe(app.stop());
    await vi.advanceTimersByTimeAsync(199);
    expect(job.status).toBe('running');
    await vi.advanceTimersByTimeAsync(1);
    expect(job.status).toBe('cancelled');
    await flush();
    const outcome = stopping();
    if (outcome.status !== 'fulfilled') throw new Error(`stop() is ${outcome.status}`);
    expect(outcome.value.components[0]?.durationMs).toBe(200);
    expect(await result).toBeDefined();
  });
});

describe('Lifecycle handleSignals', () => {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  let before: Map<NodeJS.Signals, unknown[]>;

  beforeEach(() => {
    before = new Map(signals.map((s) => [s, process.listeners(s)]));
  });

  afterEach(() => {
    // If a test failed with handlers still installed, take them off so no other test
    // (or the test runner) receives them.
    for (const s of signals) {
      for (const listener of process.listeners(s)) {
        if (!before.get(s)?.includes(listener)) {
          process.off(s, listener);
        }
      }
    }
  });

  const installed = (): number[] =>
    signals.map((s) => process.listenerCount(s) - (before.get(s)?.length ?? 0));

  it.each(signals)('stops the app on the first %s, then removes its handlers', async (signal) => {
    const exit = vi.fn<(code: number) => void>();
    const probe = new Probe();
    const app = new Lifecycle().add('a', probe.component('a'));
    await app.start();
    const stopped = app.handleSignals({ exit });
    expect(stopped).toBe(app.stopped);
    expect(installed()).toEqual([1, 1]);
    expect(app.state).toBe('started');
    process.emit(signal);
    expect(app.state).toBe('stopping');
    const report = await stopped;
    expect(report.components).toEqual([{ name: 'a', outcome: 'stopped', durationMs: 0 }]);
    expect(exit).not.toHaveBeenCalled();
    expect(installed()).toEqual([0, 0]);
  });

  it('exits with 130 on a second signal while stopping', async () => {
    const exit = vi.fn<(code: number) => void>();
    const gate = deferred();
    const app = new Lifecycle().add('slow', { stop: () => gate.promise });
    await app.start();
    const stopped = app.handleSignals({ exit });
    process.emit('SIGINT');
    await flush();
    expect(exit).not.toHaveBeenCalled();
    process.emit('SIGINT');
    expect(exit).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(130);
    gate.resolve();
    await stopped;
    expect(installed()).toEqual([0, 0]);
  });

  it('removes its handlers when the app is stopped by other means', async () => {
    const exit = vi.fn<(code: number) => void>();
    const app = new Lifecycle().add('a', { stop: () => {} });
    await app.start();
    void app.handleSignals({ exit });
    expect(installed()).toEqual([1, 1]);
    await app.stop();
    expect(installed()).toEqual([0, 0]);
    expect(exit).not.toHaveBeenCalled();
  });

  it('installs its handlers once when called twice, and removes them after stop', async () => {
    const exit = vi.fn<(code: number) => void>();
    const app = new Lifecycle().add('a', { stop: () => {} });
    await app.start();
    void app.handleSignals({ exit });
    void app.handleSignals({ exit });
    expect(installed()).toEqual([1, 1]);
    process.emit('SIGTERM');
    await app.stopped;
    expect(installed()).toEqual([0, 0]);
    expect(exit).not.toHaveBeenCalled();
  });

  it('installs nothing once the app has stopped, and returns the report', async () => {
    const app = new Lifecycle().add('a', { stop: () => {} });
    const report = await app.stop();
    expect(await app.handleSignals({ exit: () => {} })).toBe(report);
    expect(installed()).toEqual([0, 0]);
  });
});
