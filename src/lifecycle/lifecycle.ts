import { LifecycleError } from '../errors.js';
import { after, type Timer } from '../internal/timer.js';
import { callable, duration, optionalName, options as checkOptions } from '../validate.js';
import { dependencyLevels } from './graph.js';

/** What a component's `start` receives. */
export interface StartContext {
  /** Aborts if the app is stopped while starting. */
  readonly signal: AbortSignal;
}

/** What a component's `stop` receives. */
export interface StopContext {
  /** Aborts when the component's grace is over: finish now, drop what is left. */
  readonly signal: AbortSignal;
  /** `Date.now()` by which the component should have stopped (when `signal` aborts). */
  readonly deadline: number;
}

/**
 * A part of an app with a start and a stop. `WorkPool`, `EventBus` and the stores fit
 * as they are.
 */
export interface Component {
  start?(context: StartContext): unknown;
  stop(context: StopContext): unknown;
}

/** Options of {@link Lifecycle.add}. */
export interface AddOptions {
  /** Components this one uses: they start before it and stop after it. */
  readonly dependsOn?: readonly string[] | undefined;
  /**
   * This component's grace at stop, overriding the lifecycle's: a duration in
   * milliseconds (fractions allowed, any length).
   */
  readonly graceMs?: number | undefined;
}

const ADD_OPTIONS = ['dependsOn', 'graceMs'] as const;

/** Options of {@link Lifecycle}. */
export interface LifecycleOptions {
  /**
   * How long each component may take to stop before its signal aborts, in milliseconds
   * (fractions allowed, any length). @default 10000
   */
  readonly graceMs?: number | undefined;
  /**
   * How long a component may go on after its abort before `stop()` moves on without it
   * (reported `'timed-out'`); also how long `stop()` waits for a start in flight to give
   * up. In milliseconds. @default 1000
   */
  readonly abortGraceMs?: number | undefined;
}

const LIFECYCLE_OPTIONS = ['graceMs', 'abortGraceMs'] as const;

/** Options of {@link Lifecycle.handleSignals}. */
export interface HandleSignalsOptions {
  /** Called with 130 on a second signal. @default process.exit */
  readonly exit?: ((code: number) => void) | undefined;
}

const HANDLE_SIGNALS_OPTIONS = ['exit'] as const;

/** How one component's stop went. */
export interface ComponentStopReport {
  readonly name: string;
  /**
   * `'stopped'` in its grace; `'aborted'` stopped after its signal aborted; `'failed'`
   * its stop threw; `'timed-out'` still running past the abort grace (left behind);
   * `'not-started'` never started, so not stopped.
   */
  readonly outcome: 'stopped' | 'aborted' | 'failed' | 'timed-out' | 'not-started';
  readonly durationMs: number;
  readonly error?: unknown;
}

/** What `stop()` resolves: a report per component, in stop order. */
export interface StopReport {
  readonly components: readonly ComponentStopReport[];
  /** True when every started component stopped within its grace. */
  readonly ok: boolean;
  /** Every stop failure, when there were any. */
  readonly error: AggregateError | undefined;
}

interface Entry {
  readonly name: string;
  readonly component: Component;
  readonly dependsOn: readonly string[];
  readonly graceMs: number | undefined;
}

type State = 'idle' | 'starting' | 'started' | 'stopping' | 'stopped';

/**
 * Starts an app's components in dependency order and stops them in reverse, each with
 * a grace period — producers before the pool they feed, the pool before the store it
 * writes. Independent components stop in parallel; a failing or hanging one never stops
 * the rest.
 */
export class Lifecycle {
  readonly #graceMs: number;
  readonly #abortGraceMs: number;
  readonly #entries = new Map<string, Entry>();
  readonly #started = new Set<string>();
  #state: State = 'idle';
  #startAbort: AbortController | undefined;
  /** The start in flight: a stop() that comes meanwhile waits for it before going on. */
  #starting: { readonly name: string; readonly settled: Promise<true> } | undefined;
  /** Called when stop() gives up waiting for the start in flight; start() then settles. */
  #giveUp: (() => void) | undefined;
  /**
   * Stops of components whose start finished after stop() gave up on it. stop() waits
   * for them before each level and before it resolves, so such a component is stopped
   * before its dependencies, whenever its start settles while stop() runs.
   */
  readonly #lateStops = new Set<Promise<ComponentStopReport>>();
  #stopping: Promise<StopReport> | undefined;
  #removeSignalHandlers: (() => void) | undefined;
  #reportStopped: (report: StopReport) => void = () => {};
  /** Resolves with the stop report once `stop()` (called by anyone) has finished. */
  readonly stopped: Promise<StopReport> = new Promise((resolve) => (this.#reportStopped = resolve));

  /**
   * @throws RangeError naming `graceMs` or `abortGraceMs` when negative, not finite or
   * above the longest duration; TypeError for an unknown or `null` option.
   */
  constructor(options: LifecycleOptions = {}) {
    const given = checkOptions('Lifecycle options', options, LIFECYCLE_OPTIONS);
    this.#graceMs = duration('graceMs', given['graceMs'] ?? 10_000);
    this.#abortGraceMs = duration('abortGraceMs', given['abortGraceMs'] ?? 1_000);
  }

  /** `'idle'`, `'starting'`, `'started'`, `'stopping'` or `'stopped'`. */
  get state(): State {
    return this.#state;
  }

  /**
   * Adds a component. Dependencies are checked at `start()` (so components may be added
   * in any order).
   * @throws TypeError for a duplicate or empty name, a component without `stop`,
   * `dependsOn` that is not an array of names, or an unknown or `null` option;
   * RangeError for a bad `graceMs`; LifecycleError once started.
   * @example
   * ```ts
   * app.add('bus', poolBus);
   * app.add('pool', pool, { dependsOn: ['bus'] }); // stops before the bus it reports to
   * ```
   */
  add(name: string, component: Component, options: AddOptions = {}): this {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(`name must be a new component name, got ${JSON.stringify(name)}`);
    }
    if (typeof component !== 'object' || component === null) {
      throw new TypeError(`component "${name}" must be an object with a stop() method`);
    }
    if (typeof component.stop !== 'function') {
      throw new TypeError(`component "${name}" must have a stop() method`);
    }
    if (component.start !== undefined && typeof component.start !== 'function') {
      throw new TypeError(
        `component "${name}".start must be a method, got ${typeof component.start}`,
      );
    }
    const given = checkOptions('Lifecycle.add options', options, ADD_OPTIONS);
    const deps = given['dependsOn'] ?? [];
    if (!Array.isArray(deps)) {
      throw new TypeError(
        `${name}.dependsOn must be an array of component names, got ${JSON.stringify(deps)}`,
      );
    }
    const dependsOn = deps.map(
      (dep: unknown) => optionalName(`${name}.dependsOn[]`, dep) as string,
    );
    const graceMs =
      given['graceMs'] === undefined ? undefined : duration(`${name}.graceMs`, given['graceMs']);
    if (this.#state !== 'idle') {
      throw new LifecycleError(`Cannot add "${name}": already ${this.#state}`);
    }
    if (this.#entries.has(name)) {
      throw new TypeError(`name must be a new component name, got ${JSON.stringify(name)}`);
    }
    this.#entries.set(name, { name, component, dependsOn, graceMs });
    return this;
  }

  /**
   * Starts every component in dependency order, one at a time. If one fails, those
   * already started are stopped (in reverse) and `start()` rejects with a
   * LifecycleError whose `cause` is the failure. A `stop()` meanwhile aborts the start in
   * flight; `start()` then rejects once that start has settled or `stop()` has given up
   * waiting for it (after `abortGraceMs`), whichever comes first.
   * @throws LifecycleError for an unknown dependency or a cycle (before starting anything),
   * when stopped while starting, or when called twice.
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new LifecycleError(`Cannot start: already ${this.#state}`);
    const order = this.#levels().flat();
    this.#state = 'starting';
    const abort = new AbortController();
    this.#startAbort = abort;
    for (const name of order) {
      // Stopped between two starts: the next component is not to blame, see below.
      if (abort.signal.aborted) break;
      const outcome = await this.#startTracked(this.#entries.get(name) as Entry, abort.signal);
      if (outcome === 'gave-up') {
        // stop() itself gave up waiting for a start that ignores its abort (and stops the
        // component if that start still succeeds): start() has nothing left to wait for.
        throw new LifecycleError(
          `Stopped while starting "${name}", whose start ignored the abort`,
          {
            cause: abort.signal.reason,
          },
        );
      }
      if (outcome !== 'started') {
        const failure = new LifecycleError(`Starting "${name}" failed`, { cause: outcome.error });
        // stop() may already be running (it aborted this start); otherwise undo what started.
        await this.stop();
        throw failure;
      }
    }
    this.#startAbort = undefined;
    if (abort.signal.aborted) {
      // stop() came between two starts, or during one that ignored the abort: not up.
      await this.stop();
      throw new LifecycleError('Stopped while starting', { cause: abort.signal.reason });
    }
    if (this.#state === 'starting') this.#state = 'started';
  }

  /**
   * Starts one component as the start in flight, which a stop() meanwhile waits for.
   * @returns how it ended: started, failed, or given up on by stop() while still running.
   */
  async #startTracked(
    entry: Entry,
    signal: AbortSignal,
  ): Promise<'started' | 'gave-up' | { readonly error: unknown }> {
    const starting = this.#startOne(entry, signal);
    const gaveUp = new Promise<'gave-up'>((resolve) => {
      this.#giveUp = () => resolve('gave-up');
    });
    this.#starting = { name: entry.name, settled: starting.then(settledTrue, settledTrue) };
    try {
      return await Promise.race([starting.then(() => 'started' as const), gaveUp]);
    } catch (error) {
      return { error };
    } finally {
      this.#starting = undefined;
      this.#giveUp = undefined;
    }
  }

  /** Starts one component; it counts as started once its start has resolved. */
  async #startOne(entry: Entry, signal: AbortSignal): Promise<void> {
    await entry.component.start?.({ signal });
    this.#started.add(entry.name);
  }

  /**
   * Stops the started components in reverse dependency order; components that do not
   * depend on each other stop in parallel. Each gets its grace, then its signal aborts,
   * then `abortGraceMs` more before it is left behind. Failures are collected, never
   * thrown. Idempotent: a second call returns the same promise.
   */
  stop(): Promise<StopReport> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /**
   * Stops the app on SIGINT or SIGTERM: the first starts `stop()`; a second, while it
   * runs, exits at once with code 130. The handlers are removed when the stop finishes.
   * @returns the stop report's promise: the app can print it, then let the process end.
   * @throws TypeError for an unknown or `null` option, or an `exit` that is not a function.
   */
  handleSignals(options: HandleSignalsOptions = {}): Promise<StopReport> {
    const given = checkOptions('handleSignals options', options, HANDLE_SIGNALS_OPTIONS);
    const exit =
      given['exit'] === undefined
        ? (code: number) => process.exit(code)
        : callable('exit', options.exit as (code: number) => void);
    // Once installed (or once stopped, when they would never be removed), install nothing.
    if (this.#removeSignalHandlers !== undefined || this.#state === 'stopped') return this.stopped;
    let received = 0;
    const onSignal = (): void => {
      if (++received > 1) {
        exit(130);
        return;
      }
      void this.stop();
    };
    const signals = ['SIGINT', 'SIGTERM'] as const;
    for (const s of signals) process.on(s, onSignal);
    this.#removeSignalHandlers = () => {
      for (const s of signals) process.off(s, onSignal);
      this.#removeSignalHandlers = undefined;
    };
    return this.stopped;
  }

  async #stop(): Promise<StopReport> {
    this.#startAbort?.abort(new LifecycleError('stopped while starting'));
    this.#state = 'stopping';
    let levels: string[][];
    try {
      levels = this.#levels();
    } catch {
      levels = [[...this.#entries.keys()]]; // start() refused these, so none started
    }
    const reports: ComponentStopReport[] = [];
    for (const level of levels.reverse()) {
      await this.#lateStopsDone();
      const results = await Promise.all(level.map((name) => this.#stopOne(name)));
      reports.push(...results);
    }
    await this.#lateStopsDone();
    const failures = reports.filter((r) => r.outcome === 'failed').map((r) => r.error);
    this.#state = 'stopped';
    this.#removeSignalHandlers?.();
    const report: StopReport = Object.freeze({
      components: Object.freeze(reports.map((r) => Object.freeze(r))),
      ok: reports.every((r) => r.outcome === 'stopped' || r.outcome === 'not-started'),
      error:
        failures.length > 0
          ? new AggregateError(failures, `${failures.length} component(s) failed to stop`)
          : undefined,
    });
    this.#reportStopped(report);
    return report;
  }

  async #stopOne(name: string): Promise<ComponentStopReport> {
    const entry = this.#entries.get(name) as Entry;
    const starting = this.#starting;
    if (starting?.name === name) {
      // Stopped while this one was starting: its start signal has aborted; give it the
      // abort grace to give up, or to finish (then it is stopped like the others).
      const begin = Date.now();
      if ((await within(starting.settled, this.#abortGraceMs)) === undefined) {
        if (this.#starting === starting) this.#giveUp?.();
        this.#stopIfStartSucceeds(entry, starting.settled);
        return { name, outcome: 'timed-out', durationMs: Date.now() - begin };
      }
    }
    if (!this.#started.has(name)) return { name, outcome: 'not-started', durationMs: 0 };
    return this.#stopStarted(entry);
  }

  /**
   * stop() gave up waiting for this component's start, not on the component: if the
   * start still succeeds, the component is stopped the moment it does. A stop() still
   * running waits for that stop before the next level (the component's dependencies)
   * and before it resolves.
   */
  #stopIfStartSucceeds(entry: Entry, settled: Promise<true>): void {
    void settled.then(() => {
      if (!this.#started.has(entry.name)) return;
      const stopping = this.#stopStarted(entry);
      this.#lateStops.add(stopping);
      void stopping.then(() => this.#lateStops.delete(stopping));
    });
  }

  async #lateStopsDone(): Promise<void> {
    while (this.#lateStops.size > 0) await Promise.all([...this.#lateStops]);
  }

  /** Stops a started component: its grace, then its signal aborts, then the abort grace. */
  async #stopStarted(entry: Entry): Promise<ComponentStopReport> {
    const { name } = entry;
    const begin = Date.now();
    const graceMs = entry.graceMs ?? this.#graceMs;
    const abort = new AbortController();
    let stopping: Promise<unknown>;
    try {
      stopping = Promise.resolve(
        entry.component.stop({ signal: abort.signal, deadline: begin + graceMs }),
      );
    } catch (error) {
      stopping = Promise.reject(error);
    }
    const settled = stopping.then(
      () => ({ ok: true as const }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    let result = await within(settled, graceMs);
    let outcome: ComponentStopReport['outcome'] = 'stopped';
    if (result === undefined) {
      abort.abort(new LifecycleError(`"${name}" did not stop within ${graceMs} ms`));
      outcome = 'aborted';
      result = await within(settled, this.#abortGraceMs);
    }
    const durationMs = Date.now() - begin;
    if (result === undefined) return { name, outcome: 'timed-out', durationMs };
    if (!result.ok) return { name, outcome: 'failed', durationMs, error: result.error };
    return { name, outcome, durationMs };
  }

  #levels(): string[][] {
    const deps = new Map<string, readonly string[]>();
    for (const [name, entry] of this.#entries) deps.set(name, entry.dependsOn);
    return dependencyLevels(deps);
  }
}

const settledTrue = (): true => true;

/** `promise`'s value if it settles within `ms`, else undefined; leaves no timer behind. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: Timer | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = after(ms, () => resolve(undefined));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    timer?.clear();
  }
}
