import { AbortError } from '../errors.js';
import { abortErrorOf, onAbort, throwIfAborted, type AbortOptions } from '../abort.js';
import { callable, optionalSignal, options as optionsOf } from '../validate.js';

interface Flight<V> {
  readonly promise: Promise<V>;
  readonly controller: AbortController;
  /** Callers still waiting that could give up (those without a signal never do). */
  waiters: number;
  /** A caller without a signal joined: the flight must run to the end. */
  pinned: boolean;
}

/**
 * Duplicate suppression (Go's `x/sync/singleflight`): while a call for a key is in
 * flight, further callers for that key share its result instead of starting another.
 *
 * Cancellation: each caller's `signal` ends only that caller's wait. The shared call's
 * own signal (given to `fn`) aborts when every caller has given up, so work nobody
 * waits for stops; a caller that joins later starts a new flight.
 */
export class SingleFlight<K, V> {
  readonly #flights = new Map<K, Flight<V>>();

  /** Number of keys with a call in flight. */
  get size(): number {
    return this.#flights.size;
  }

  /**
   * Returns the in-flight result for `key`, or starts `fn` for it. Waits for that call;
   * rejects with its error, or with an abort error if `options.signal` aborts first.
   * @throws TypeError (as a rejection) for a bad `fn` or `options` (unknown keys, `null`), before any state is touched.
   */
  run(
    key: K,
    fn: (signal: AbortSignal) => V | PromiseLike<V>,
    options: AbortOptions = {},
  ): Promise<V> {
    let signal: AbortSignal | undefined;
    try {
      callable('fn', fn);
      signal = optionalSignal('options.signal', optionsOf('options', options, ['signal']).signal);
      throwIfAborted(signal);
    } catch (error) {
      return Promise.reject(error);
    }
    const flight = this.#flights.get(key) ?? this.#start(key, fn);
    if (!signal) {
      flight.pinned = true;
      return flight.promise;
    }
    flight.waiters++;
    return new Promise<V>((resolve, reject) => {
      const detach = onAbort(signal, () => {
        this.#leave(key, flight);
        reject(abortErrorOf(signal));
      });
      flight.promise.then(
        (value) => {
          detach();
          resolve(value);
        },
        (error: unknown) => {
          detach();
          reject(error);
        },
      );
    });
  }

  /** Forgets the in-flight call for `key`: the next caller starts a new one. Its current callers still get its result. */
  forget(key: K): void {
    this.#flights.delete(key);
  }

  #start(key: K, fn: (signal: AbortSignal) => V | PromiseLike<V>): Flight<V> {
    const controller = new AbortController();
    // fn starts a microtask later, so a synchronous throw becomes this flight's rejection.
    const promise = Promise.resolve()
      .then(() => fn(controller.signal))
      .finally(() => {
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
      });
    // Every caller may have given up; the shared promise must not be reported unhandled.
    promise.catch(noop);
    const flight: Flight<V> = { promise, controller, waiters: 0, pinned: false };
    this.#flights.set(key, flight);
    return flight;
  }

  #leave(key: K, flight: Flight<V>): void {
    if (--flight.waiters > 0 || flight.pinned) return;
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
    flight.controller.abort(
      new AbortError(`Every caller of singleflight key ${String(key)} gave up`),
    );
  }
}

function noop(): void {}
