import { Channel, OVERFLOW, type ChannelStats } from '../channel/channel.js';
import { ClosedError } from '../errors.js';
import type { Envelope } from './envelope.js';

/**
 * Why a subscription ended:
 * - `'unsubscribed'`: `close()`, `[Symbol.dispose]`, or leaving a `for await` loop;
 * - `'slow-consumer'`: `whenFull: 'close'` and the consumer fell a whole buffer behind;
 * - `'bus-closed'`: the bus was closed;
 * - `'aborted'`: the subscription's `signal` aborted.
 */
export type SubscriptionCloseReason = 'unsubscribed' | 'slow-consumer' | 'bus-closed' | 'aborted';

/** Exact per-subscriber counters. `delivered + dropped + buffered` = events offered to it. */
export interface SubscriptionStats {
  /** Events handed to the consumer. */
  readonly delivered: number;
  /** Events the buffer policy dropped, plus events discarded when it unsubscribed or aborted. */
  readonly dropped: number;
  /** Events waiting in the buffer now. */
  readonly buffered: number;
  /** Most events ever buffered at once (never above the buffer size). */
  readonly highWater: number;
}

/** A subscriber buffer's policy when full. The publisher never waits, so there is no `'block'`. */
export type SubscriberWhenFull = 'drop-oldest' | 'drop-newest' | 'close';

/** The bus's private handle on a subscription. */
export interface SubscriptionPort<E> {
  /** Offers one envelope; never waits, never throws. */
  deliver(envelope: E): void;
  /** Ends the subscription once, with the first reason. */
  end(reason: SubscriptionCloseReason): void;
  /** The subscription's counters now. */
  stats(): SubscriptionStats;
}

/**
 * One subscriber's bounded buffer of envelopes, filled by the bus without waiting and
 * read by the consumer with `for await`. The bus owns the buffer and closes it; the
 * consumer only unsubscribes.
 *
 * Ending: on `'bus-closed'` and `'slow-consumer'` the consumer still receives what was
 * buffered, then its loop ends; on `'unsubscribed'` and `'aborted'` the consumer has
 * said it wants nothing more, so the buffer is discarded and a parked `next()` ends at
 * once. A subscription is never re-opened.
 */
export class Subscription<E extends Envelope = Envelope> implements AsyncIterable<E>, Disposable {
  // Typed loosely so that Subscription<E> stays covariant in E (a subscription to some
  // topics is usable where any subscription is expected); only E values are ever sent.
  readonly #channel: Channel<unknown>;
  #reason: SubscriptionCloseReason | undefined;
  #detach: () => void;

  /**
   * Created by `EventBus.subscribe`. `connect` receives the bus's private handle
   * (deliver, end) and returns the function that removes everything the bus attached;
   * nothing else can deliver into a subscription.
   */
  constructor(
    buffer: { readonly capacity: number; readonly whenFull: SubscriberWhenFull },
    connect: (port: SubscriptionPort<E>) => () => void,
  ) {
    this.#channel = new Channel<unknown>(buffer);
    this.#detach = noop;
    this.#detach = connect({
      deliver: (envelope) => this.#deliver(envelope),
      end: (reason) => this.#end(reason),
      stats: () => this.stats,
    });
  }

  /** Why it ended, or `undefined` while active. */
  get closedReason(): SubscriptionCloseReason | undefined {
    return this.#reason;
  }

  /** Whether it has ended (buffered events may still be readable). */
  get closed(): boolean {
    return this.#reason !== undefined;
  }

  /** A copy of the counters. */
  get stats(): SubscriptionStats {
    const s: ChannelStats = this.#channel.stats;
    return {
      delivered: s.received,
      dropped: s.dropped,
      buffered: s.buffered,
      highWater: s.highWater,
    };
  }

  /** Unsubscribes: no further events, buffered ones discarded, loops end. Idempotent. */
  close(): void {
    this.#end('unsubscribed');
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Iterates envelopes until the subscription ends. Leaving the loop early
   * unsubscribes. Meant for one consumer loop at a time.
   */
  [Symbol.asyncIterator](): AsyncIterator<E> {
    const channel = this.#channel;
    return {
      // Synchronous fast path: one promise per envelope when one is buffered.
      next: (): Promise<IteratorResult<E>> => {
        const result = channel.tryReceive();
        if (result.ok) return Promise.resolve({ done: false, value: result.value as E });
        if (result.closed) return Promise.resolve(DONE);
        return channel.receive().then(
          (value): IteratorResult<E> => ({ done: false, value: value as E }),
          (error: unknown) => {
            if (error instanceof ClosedError) return DONE;
            throw error;
          },
        );
      },
      return: (): Promise<IteratorResult<E>> => {
        this.close();
        return Promise.resolve(DONE);
      },
    };
  }

  /**
   * Iterates envelopes in batches: each step hands over everything buffered at that
   * moment as one array (oldest first; never empty), waiting only when nothing is
   * buffered. The fast path for a consumer that can keep up with anything: one promise
   * per batch instead of one per envelope, so the consumer's cost per event is its own
   * loop's. The envelopes, their order and the counters (`delivered`, `dropped`) are
   * exactly those of the per-envelope iterator; ending is the same too (after
   * `'bus-closed'` or `'slow-consumer'` the last batches hold what was buffered, and
   * leaving the loop early unsubscribes). Meant for one consumer loop at a time.
   * @example
   * ```ts
   * const batched = feedBus.subscribe('feed.updated', { buffer: 1024 });
   * for (const newItems of [1, 2, 3]) feedBus.publish('feed.updated', { url, newItems });
   * feedBus.close(); // the last batches hold what was buffered, then the loop ends
   * for await (const batch of batched.batches()) {
   *   log(`${batch.length} updates: ${batch.map(({ payload }) => payload.newItems).join(',')}`);
   * }
   * ```
   */
  batches(): AsyncIterableIterator<E[]> {
    const channel = this.#channel;
    const iterator: AsyncIterableIterator<E[]> = {
      next: (): Promise<IteratorResult<E[]>> => {
        const batch = channel.takeAll() as E[];
        if (batch.length > 0) return Promise.resolve({ done: false, value: batch });
        if (channel.closed) return Promise.resolve(DONE);
        return channel.receive().then(
          (first): IteratorResult<E[]> => {
            // Whatever arrived between the wake-up and now joins the same batch.
            const out = [first as E];
            for (const envelope of channel.takeAll()) out.push(envelope as E);
            return { done: false, value: out };
          },
          (error: unknown) => {
            if (error instanceof ClosedError) return DONE;
            throw error;
          },
        );
      },
      return: (): Promise<IteratorResult<E[]>> => {
        this.close();
        return Promise.resolve(DONE);
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  #deliver(envelope: unknown): void {
    if (!this.#channel.trySend(envelope) && this.#channel.closedReason === OVERFLOW) {
      this.#end('slow-consumer');
    }
  }

  #end(reason: SubscriptionCloseReason): void {
    // A consumer that leaves after the bus closed still discards what it left behind;
    // the first reason is the one reported.
    if (reason === 'unsubscribed' || reason === 'aborted') this.#channel.clear();
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    const detach = this.#detach;
    this.#detach = noop;
    detach();
    this.#channel.close(reason);
  }
}

function noop(): void {}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
