import { abortErrorOf, abortOptions, throwIfAborted, type AbortOptions } from '../abort.js';
import { ClosedError } from '../errors.js';
import { RingBuffer } from '../history/ring-buffer.js';
import { WaitList } from '../internal/wait-list.js';
import { assertNotHolding } from '../sync/lockdep.js';
import { callable, integer, oneOf, optionalName, options as checkOptions } from '../validate.js';

/**
 * What `send` does when the buffer is full:
 * - `'block'`: wait for room (`trySend` returns false);
 * - `'drop-oldest'`: evict the oldest buffered value to make room;
 * - `'drop-newest'`: drop the value being sent;
 * - `'close'`: drop the value being sent and close the channel (reason `'overflow'`),
 *   so a consumer that fell a whole buffer behind is ended rather than silently thinned.
 */
export type WhenFull = 'block' | 'drop-oldest' | 'drop-newest' | 'close';

const POLICIES: readonly WhenFull[] = ['block', 'drop-oldest', 'drop-newest', 'close'];

const CHANNEL_OPTIONS = ['capacity', 'whenFull', 'onDrop'] as const;

/** Options of {@link Channel}. */
export interface ChannelOptions<T> {
  /** Values buffered before `whenFull` applies. `0` (only with `'block'`) makes every send wait for a receiver. */
  readonly capacity: number;
  /** Policy when the buffer is full. @default 'block' */
  readonly whenFull?: WhenFull | undefined;
  /** Called synchronously with each dropped value (counted in `stats.dropped`). Must not throw. */
  readonly onDrop?: ((value: T) => void) | undefined;
}

/** Exact counters. Invariant: `sent = received + dropped + buffered`. */
export interface ChannelStats {
  /** Values the channel took in: buffered, handed over, or dropped by its policy (not refused sends). */
  readonly sent: number;
  /** Values handed to receivers. */
  readonly received: number;
  /** Values dropped by the `whenFull` policy. */
  readonly dropped: number;
  /** Values buffered now. */
  readonly buffered: number;
  /** Most values ever buffered at once. */
  readonly highWater: number;
}

/** Result of {@link Channel.tryReceive}. */
export type ReceiveResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly closed: boolean };

/** Reason a channel closes when its last iterator leaves early (`break` out of `for await`). */
const UNSUBSCRIBED = 'unsubscribed';
/** Reason a `'close'`-policy channel closes when a send finds it full. */
export const OVERFLOW = 'overflow';

type Offer = 'accepted' | 'dropped' | 'full';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A bounded, multi-producer multi-consumer queue with a policy for when it is full.
 *
 * Closing: `close()` refuses new sends, rejects waiting senders with `ClosedError`,
 * and lets receivers drain what is buffered; after that, `receive` rejects with
 * `ClosedError` and iteration ends. A value that was handed over is never lost: if a
 * receiver's or sender's signal aborts in the same tick its value moves, the move stands.
 */
export class Channel<T> implements AsyncIterable<T> {
  /** Buffer size. */
  readonly capacity: number;
  /** Policy when full. */
  readonly whenFull: WhenFull;
  readonly #onDrop: ((value: T) => void) | undefined;
  readonly #buffer: RingBuffer<T>;
  readonly #senders = new WaitList<T, boolean>();
  readonly #receivers = new WaitList<undefined, T>();
  #closedReason: string | undefined;
  #iterators = 0;
  #sent = 0;
  #received = 0;
  #dropped = 0;
  #highWater = 0;

  /**
   * @throws TypeError/RangeError naming `capacity`, `whenFull` or `onDrop` when invalid;
   * TypeError for options that are not an object, an unknown option or a `null` one.
   */
  constructor(options: ChannelOptions<T>) {
    const given = checkOptions('Channel options', options, CHANNEL_OPTIONS);
    this.whenFull = oneOf('whenFull', given['whenFull'] ?? 'block', POLICIES);
    this.capacity = integer(
      'capacity',
      given['capacity'],
      this.whenFull === 'block' ? 0 : 1,
      2 ** 32 - 1,
    );
    this.#onDrop = options.onDrop === undefined ? undefined : callable('onDrop', options.onDrop);
    this.#buffer = new RingBuffer<T>(Math.max(1, this.capacity));
  }

  /** Whether `close()` has been called (values may still be buffered). */
  get closed(): boolean {
    return this.#closedReason !== undefined;
  }

  /** Why the channel closed: the reason given to `close()`, `'overflow'` or `'unsubscribed'`. */
  get closedReason(): string | undefined {
    return this.#closedReason;
  }

  /** Values buffered now. */
  get size(): number {
    return this.#buffer.size;
  }

  /** A copy of the counters. */
  get stats(): ChannelStats {
    return {
      sent: this.#sent,
      received: this.#received,
      dropped: this.#dropped,
      buffered: this.#buffer.size,
      highWater: this.#highWater,
    };
  }

  /**
   * Sends without waiting.
   * @returns true if the value was handed to a receiver or buffered; false if the
   * channel is closed, full under `'block'`, or the policy dropped this value.
   */
  trySend(value: T): boolean {
    return !this.closed && this.#offer(value) === 'accepted';
  }

  /**
   * Sends `value`, waiting for room only under `'block'`.
   * @returns true if the value was handed over or buffered, false if the policy dropped it.
   * @throws ClosedError if the channel is closed, or closes while this send waits.
   * @throws an abort error if the signal aborts before the value is taken.
   * @throws TypeError for an unknown or `null` option, or a signal that is not an AbortSignal.
   */
  send(value: T, options: AbortOptions = {}): Promise<boolean> {
    let signal: AbortSignal | undefined;
    try {
      signal = abortOptions('send options', options);
      throwIfAborted(signal);
      if (this.closed) throw this.#closedError();
    } catch (error) {
      return Promise.reject(error);
    }
    const offer = this.#offer(value);
    if (offer !== 'full') return Promise.resolve(offer === 'accepted');
    try {
      // Blocking on a full channel while holding a lock deadlocks if its consumer needs the lock.
      assertNotHolding('a full Channel.send');
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#senders.park(value, signal);
  }

  /** Takes a value without waiting. */
  tryReceive(): ReceiveResult<T> {
    if (this.#buffer.size > 0) {
      const value = this.#buffer.shift() as T;
      this.#received++;
      const sender = this.#senders.peek();
      if (sender) {
        this.#push(sender.data);
        this.#senders.grant(sender, true);
      }
      return { ok: true, value };
    }
    const sender = this.#senders.peek();
    if (sender) {
      this.#sent++;
      this.#received++;
      this.#senders.grant(sender, true);
      return { ok: true, value: sender.data };
    }
    return { ok: false, closed: this.closed };
  }

  /**
   * Takes every value available now, without waiting: everything buffered, oldest first,
   * then the values of senders waiting for room (each of whose sends resolves, as a
   * receive would resolve it). The batched counterpart of {@link Channel.tryReceive}:
   * one call, one array, however many values, and the same counters (`received` counts
   * each value).
   * @returns the values, `[]` when none is available (check `closed` to tell an empty
   * open channel from a closed and drained one).
   * @example
   * ```ts
   * const inbox = new Channel<string>({ capacity: 16 });
   * for (const item of ['a', 'b']) inbox.trySend(item);
   * const taken = inbox.takeAll(); // everything buffered, without waiting
   * ```
   */
  takeAll(): T[] {
    const values = this.#buffer.size > 0 ? this.#buffer.drain() : [];
    this.#received += values.length;
    // Waiting senders (only under 'block') hand their values over in arrival order.
    for (let s = this.#senders.peek(); s; s = this.#senders.peek()) {
      values.push(s.data);
      this.#sent++;
      this.#received++;
      this.#senders.grant(s, true);
    }
    return values;
  }

  /**
   * Waits for the next value.
   * @throws ClosedError once the channel is closed and drained.
   * @throws an abort error if the signal aborts before a value arrives.
   * @throws TypeError for an unknown or `null` option, or a signal that is not an AbortSignal.
   */
  receive(options: AbortOptions = {}): Promise<T> {
    let signal: AbortSignal | undefined;
    try {
      signal = abortOptions('receive options', options);
      throwIfAborted(signal);
    } catch (error) {
      return Promise.reject(error);
    }
    const result = this.tryReceive();
    if (result.ok) return Promise.resolve(result.value);
    if (result.closed) return Promise.reject(this.#closedError());
    return this.#receivers.park(undefined, signal);
  }

  /**
   * Drops every buffered value (each counted in `stats.dropped` and passed to
   * `onDrop`) and moves waiting senders' values in behind them, as receives would.
   * @returns how many values were dropped.
   */
  clear(): number {
    const count = this.#buffer.size;
    for (let i = 0; i < count; i++) {
      const value = this.#buffer.shift() as T;
      this.#dropped++;
      this.#onDrop?.(value);
    }
    for (
      let s = this.#senders.peek();
      s && this.#buffer.size < this.capacity;
      s = this.#senders.peek()
    ) {
      this.#push(s.data);
      this.#senders.grant(s, true);
    }
    return count;
  }

  /**
   * Closes the channel. Idempotent: the first reason is kept.
   * @throws TypeError if `reason` is not a non-empty string.
   * @param reason recorded as `closedReason`. @default 'closed'
   */
  close(reason = 'closed'): void {
    optionalName('reason', reason);
    if (this.closed) return;
    this.#closedReason = reason;
    this.#senders.refuseAll(() => this.#closedError());
    this.#receivers.refuseAll(() => this.#closedError());
  }

  /**
   * Iterates received values until the channel is closed and drained. Leaving a loop
   * early (`break`, `return`, a throw) ends this iterator; when the last iterator of
   * the channel leaves early, the channel closes with reason `'unsubscribed'` so its
   * senders are not left waiting for a consumer that is gone.
   * @throws TypeError for an unknown or `null` option, or a signal that is not an AbortSignal.
   */
  iterate(options: AbortOptions = {}): AsyncIterableIterator<T> {
    const signal = abortOptions('iterate options', options);
    let active = true;
    this.#iterators++;
    const leave = (): void => {
      if (!active) return;
      active = false;
      this.#iterators--;
    };
    const unsubscribe = (): void => {
      if (!active) return;
      leave();
      if (this.#iterators === 0) this.close(UNSUBSCRIBED);
    };
    const iterator: AsyncIterableIterator<T> = {
      // Synchronous fast path: one promise per value, like Node's events.on() iterator.
      next: (): Promise<IteratorResult<T>> => {
        if (!active) return Promise.resolve(DONE);
        if (signal?.aborted) {
          // An abort ends the loop without calling return(): it leaves early all the same.
          unsubscribe();
          return Promise.reject(abortErrorOf(signal));
        }
        const result = this.tryReceive();
        if (result.ok) return Promise.resolve({ done: false, value: result.value });
        if (result.closed) {
          leave();
          return Promise.resolve(DONE);
        }
        return this.#receivers.park(undefined, signal).then(
          (value): IteratorResult<T> => ({ done: false, value }),
          (error: unknown) => {
            if (error instanceof ClosedError && this.closed) {
              leave();
              return DONE;
            }
            unsubscribe();
            throw error;
          },
        );
      },
      return: (): Promise<IteratorResult<T>> => {
        unsubscribe();
        return Promise.resolve(DONE);
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this.iterate();
  }

  #offer(value: T): Offer {
    const receiver = this.#receivers.peek();
    if (receiver) {
      this.#sent++;
      this.#received++;
      this.#receivers.grant(receiver, value);
      return 'accepted';
    }
    if (this.#buffer.size < this.capacity) {
      this.#push(value);
      return 'accepted';
    }
    switch (this.whenFull) {
      case 'block':
        return 'full';
      case 'drop-oldest': {
        this.#sent++;
        this.#dropped++;
        this.#buffer.push(value, this.#onDrop);
        return 'accepted';
      }
      case 'drop-newest':
      case 'close':
        this.#sent++;
        this.#dropped++;
        this.#onDrop?.(value);
        if (this.whenFull === 'close') this.close(OVERFLOW);
        return 'dropped';
    }
  }

  #push(value: T): void {
    this.#buffer.push(value);
    this.#sent++;
    if (this.#buffer.size > this.#highWater) this.#highWater = this.#buffer.size;
  }

  #closedError(): ClosedError {
    return new ClosedError(`Channel is closed (reason: ${this.#closedReason ?? 'closed'})`);
  }
}
