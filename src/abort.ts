/**
 * Signal helpers. Every helper that adds a listener to a caller's signal removes it
 * when its operation settles, so one long-lived signal can be passed to any number of
 * calls without accumulating listeners.
 */
import { delay, isAbortError as isAbortLike } from 'abort-controller-x';
import { AbortError, TimeoutError } from './errors.js';
import { integer, optionalSignal } from './validate.js';

/** Options accepted by every operation that can wait. */
export interface AbortOptions {
  /** Cancels the wait: the operation rejects with an abort error whose `cause` is the signal's reason. */
  readonly signal?: AbortSignal | undefined;
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
 */
export function abortErrorOf(signal: AbortSignal): AbortError | TimeoutError {
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

/** Throws {@link abortErrorOf}`(signal)` if `signal` has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
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
  /** Abort with a {@link TimeoutError} after this many milliseconds (a positive integer). */
  readonly timeoutMs?: number | undefined;
}

/**
 * A child signal that aborts when its parent aborts, when its timeout expires, or
 * when {@link LinkedSignal.abort} is called, whichever comes first. Disposing it
 * (or any abort) removes the parent listener and clears the timer; dispose it when
 * the operation it guards settles.
 *
 * @throws RangeError if `timeoutMs` is not a positive integer.
 */
export class LinkedSignal implements Disposable {
  readonly #controller = new AbortController();
  #detach: () => void = noop;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(parent?: AbortSignal, options: LinkedSignalOptions = {}) {
    optionalSignal('parent', parent);
    const timeoutMs =
      options.timeoutMs === undefined ? undefined : integer('timeoutMs', options.timeoutMs, 1);
    if (parent?.aborted) {
      this.#controller.abort(parent.reason);
      return;
    }
    this.#detach = onAbort(parent, () => this.abort(parent?.reason));
    if (timeoutMs !== undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.abort(new TimeoutError(`Timed out after ${timeoutMs} ms`, { timeoutMs }));
      }, timeoutMs);
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
    if (this.#timer !== undefined) clearTimeout(this.#timer);
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
 */
export function waitForAbort(signal: AbortSignal, options: AbortOptions = {}): Promise<unknown> {
  const cancel = optionalSignal('options.signal', options.signal);
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

const never = new AbortController().signal;

/**
 * Waits `ms` milliseconds. Rejects with an abort error if `options.signal` aborts
 * first; the timer and listener are removed either way.
 *
 * @throws RangeError if `ms` is not a non-negative integer.
 */
export async function sleep(ms: number, options: AbortOptions = {}): Promise<void> {
  integer('ms', ms, 0);
  const signal = optionalSignal('options.signal', options.signal);
  throwIfAborted(signal);
  try {
    await delay(signal ?? never, ms);
  } catch (error) {
    // abort-controller-x rejects with the bare reason; give callers the documented error.
    if (signal?.aborted) throw abortErrorOf(signal);
    throw error;
  }
}
