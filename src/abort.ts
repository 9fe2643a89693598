/**
 * Signal helpers. Every helper that adds a listener to a caller's signal removes it
 * when its operation settles, so one long-lived signal can be passed to any number of
 * calls without accumulating listeners.
 */
import { isAbortError as isAbortLike } from 'abort-controller-x';
import { AbortError, TimeoutError } from './errors.js';
import { after, type Timer } from './internal/timer.js';
import { duration, options as checkOptions, optionalSignal, requiredSignal } from './validate.js';

/** Options accepted by every operation that can wait. */
export interface AbortOptions {
  /** Cancels the wait: the operation rejects with an abort error whose `cause` is the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

const ABORT_OPTIONS = ['signal'] as const;

/**
 * The signal of an {@link AbortOptions} object, checked: `field` names the object as the
 * user wrote it (`'send options'`), and an unknown key or a `null` is refused.
 * Internal building block for every call that takes `{ signal }`.
 * @throws TypeError for a non-object, an unknown key, or a signal that is not an AbortSignal.
 */
export function abortOptions(field: string, value: unknown): AbortSignal | undefined {
  const record = checkOptions(field, value, ABORT_OPTIONS);
  return optionalSignal(`${field}.signal`, record['signal']);
}

/**
 * True for an error that means "cancelled on purpose": workbus's {@link AbortError},
 * the platform's `DOMException` named `AbortError`, or any error named so.
 * False for {@link TimeoutError}.
 */
export function isAbortError(error: unknown): boolean {
  return error instanceof AbortError || isAbortLike(error);
}

function isTimeoutReason(reason: unknown): boolean {
  return (
    reason instanceof TimeoutError || (reason instanceof Error && reason.name === 'TimeoutError')
  );
}

/**
 * The error an operation rejects with once `signal` has aborted: a {@link TimeoutError}
 * when the reason was a timeout, else an {@link AbortError}; the reason is the `cause`.
 * @throws TypeError if `signal` is not an AbortSignal.
 */
export function abortErrorOf(signal: AbortSignal): AbortError | TimeoutError {
  requiredSignal('signal', signal);
  const reason: unknown = signal.reason;
  if (isTimeoutReason(reason)) {
    const timeoutMs = reason instanceof TimeoutError ? reason.timeoutMs : undefined;
    return new TimeoutError((reason as Error).message, {
      cause: reason,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  }
  return new AbortError('The operation was aborted', { cause: reason });
}

/**
 * Throws {@link abortErrorOf}`(signal)` if `signal` has aborted.
 * @throws TypeError if `signal` is neither an AbortSignal nor undefined.
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  optionalSignal('signal', signal);
  if (signal?.aborted) throw abortErrorOf(signal);
}

/**
 * Calls `listener` once when `signal` aborts. Returns the function that removes the
 * listener; call it when the operation settles. Internal building block.
 */
export function onAbort(signal: AbortSignal | undefined, listener: () => void): () => void {
  if (signal === undefined) return noop;
  let fan = fans.get(signal);
  if (fan === undefined) fan = openFan(signal);
  fan.listeners.add(listener);
  const current = fan;
  return () => {
    if (!current.listeners.delete(listener) || current.listeners.size > 0) return;
    signal.removeEventListener('abort', current.handler);
    if (fans.get(signal) === current) fans.delete(signal);
  };
}

/**
 * All of workbus's listeners on one signal, behind one real listener. An app-wide
 * signal shared by many waiting calls would otherwise trip Node's
 * MaxListenersExceededWarning at 11 waiters; this way the signal carries at most one
 * workbus listener, and none once nothing waits on it.
 */
interface Fan {
  readonly listeners: Set<() => void>;
  readonly handler: () => void;
}

const fans = new WeakMap<AbortSignal, Fan>();

function openFan(signal: AbortSignal): Fan {
  const listeners = new Set<() => void>();
  const fan: Fan = {
    listeners,
    handler: () => {
      fans.delete(signal);
      // A listener may remove others (a grant detaches a waiter): Set iteration skips them.
      for (const listener of listeners) {
        listeners.delete(listener);
        listener();
      }
    },
  };
  fans.set(signal, fan);
  signal.addEventListener('abort', fan.handler, { once: true });
  return fan;
}

function noop(): void {}

/** Options of {@link LinkedSignal}. */
export interface LinkedSignalOptions {
  /**
   * Abort with a {@link TimeoutError} after this many milliseconds: at least 1,
   * fractions allowed, any length (timers past Node's 2^31 ms limit are chained).
   * @default no timeout
   */
  readonly timeoutMs?: number | undefined;
}

const LINKED_SIGNAL_OPTIONS = ['timeoutMs'] as const;

/**
 * A child signal that aborts when its parent aborts, when its timeout expires, or
 * when {@link LinkedSignal.abort} is called, whichever comes first. Disposing it
 * (or any abort) removes the parent listener and clears the timer; dispose it when
 * the operation it guards settles.
 *
 * @throws TypeError if `parent` is not an AbortSignal, or for an unknown or `null` option.
 * @throws RangeError if `timeoutMs` is below 1 ms or above the longest duration.
 */
export class LinkedSignal implements Disposable {
  readonly #controller = new AbortController();
  #detach: () => void = noop;
  #timer: Timer | undefined;

  constructor(parent?: AbortSignal, options: LinkedSignalOptions = {}) {
    optionalSignal('parent', parent);
    const given = checkOptions('LinkedSignal options', options, LINKED_SIGNAL_OPTIONS);
    const timeoutMs =
      given['timeoutMs'] === undefined ? undefined : duration('timeoutMs', given['timeoutMs'], 1);
    if (parent?.aborted) {
      this.#controller.abort(parent.reason);
      return;
    }
    this.#detach = onAbort(parent, () => this.abort(parent?.reason));
    if (timeoutMs !== undefined) {
      this.#timer = after(timeoutMs, () => {
        this.#timer = undefined;
        this.abort(new TimeoutError(`Timed out after ${timeoutMs} ms`, { timeoutMs }));
      });
    }
  }

  /** The child signal. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Aborts the child (not the parent). A second call does nothing. */
  abort(reason?: unknown): void {
    this.dispose();
    this.#controller.abort(reason);
  }

  /** Detaches from the parent and clears the timer without aborting. Idempotent. */
  dispose(): void {
    this.#detach();
    this.#detach = noop;
    this.#timer?.clear();
    this.#timer = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Resolves with `signal.reason` when `signal` aborts (at once if it already has).
 * Rejects with an abort error if `options.signal` aborts first. Either way, both
 * listeners are gone when it settles.
 * Rejects with a TypeError if `signal` is not an AbortSignal, or for an unknown or
 * `null` option.
 */
export function waitForAbort(signal: AbortSignal, options: AbortOptions = {}): Promise<unknown> {
  let cancel: AbortSignal | undefined;
  try {
    requiredSignal('signal', signal);
    cancel = abortOptions('waitForAbort options', options);
  } catch (error) {
    return Promise.reject(error);
  }
  if (signal.aborted) return Promise.resolve(signal.reason);
  if (cancel?.aborted) return Promise.reject(abortErrorOf(cancel));
  return new Promise((resolve, reject) => {
    const settle = (): void => {
      detachSignal();
      detachCancel();
    };
    const detachSignal = onAbort(signal, () => {
      settle();
      resolve(signal.reason);
    });
    const detachCancel = onAbort(cancel, () => {
      settle();
      reject(abortErrorOf(cancel as AbortSignal));
    });
  });
}

/**
 * Waits `ms` milliseconds (fractions allowed; any length, as timers past Node's 2^31 ms
 * limit are chained). Rejects with an abort error if `options.signal` aborts first; the
 * timer and listener are removed either way.
 *
 * Rejects with a RangeError if `ms` is negative, not finite or above the longest
 * duration; with a TypeError for an unknown or `null` option.
 */
export async function sleep(ms: number, options: AbortOptions = {}): Promise<void> {
  duration('ms', ms);
  const signal = abortOptions('sleep options', options);
  throwIfAborted(signal);
  await new Promise<void>((resolve, reject) => {
    let detach = noop;
    const timer = after(ms, () => {
      detach();
      resolve();
    });
    detach = onAbort(signal, () => {
      timer.clear();
      reject(abortErrorOf(signal as AbortSignal));
    });
  });
}
