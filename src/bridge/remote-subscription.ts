import type { Envelope } from '../bus/envelope.js';
import { RemoteError } from '../errors.js';
import { RESYNC_TOPIC, type RemoteCloseReason, type Resync, type WireError } from './protocol.js';

/** A resync item: what a subscription yields in place of events it missed. */
export type ResyncEnvelope = Envelope<typeof RESYNC_TOPIC, Resync>;

/** A remote subscription's counters, on the client. */
export interface RemoteSubscriptionStats {
  /** Items handed to the consumer (events and resyncs). */
  readonly delivered: number;
  /** Events the host dropped because the consumer did not read (told by resync items). */
  readonly dropped: number;
  /** Items waiting for the consumer now (at most `buffer`, plus any left from a connection that ended). */
  readonly buffered: number;
}

/** What a remote subscription asks of its client. */
export interface RemoteSubscriptionLink {
  /** The consumer read `n` items: the host may send as many more. */
  ack(n: number): void;
  /** The consumer left: the host releases the subscription. */
  unsubscribe(): void;
}

/**
 * A bus subscription seen over a bridge: an async iterable of envelopes, bounded like a
 * bus subscription. The host sends only what this buffer has room for (credit), and its
 * own buffer drops by `whenFull` while the consumer does not read; the consumer then gets
 * a {@link ResyncEnvelope} (`topic: 'bridge.resync'`: how many were missed, and a fresh
 * snapshot whose `seq` says which of the events after it are newer) before the events
 * that were kept. After a reconnect, the same: a resync with the gap, then live events.
 */
export class RemoteSubscription<E extends Envelope = Envelope>
  implements AsyncIterable<E | ResyncEnvelope>, Disposable
{
  readonly #link: RemoteSubscriptionLink;
  readonly #ackEvery: number;
  #queue: (E | ResyncEnvelope)[] = [];
  #head = 0;
  /** Items read and not yet acknowledged; negative for items of an earlier connection. */
  #unacked = 0;
  #delivered = 0;
  #dropped = 0;
  #lastSeq: number;
  #reason: RemoteCloseReason | undefined;
  #error: RemoteError | undefined;
  #waiter: ((result: IteratorResult<E | ResyncEnvelope>) => void) | undefined;
  #opened: (open: boolean) => void = () => undefined;
  /**
   * Resolves true once the host has opened it (events published from then on reach it),
   * false if it was refused or ended first.
   */
  readonly ready: Promise<boolean> = new Promise((resolve) => (this.#opened = resolve));
  #failWaiter: ((error: unknown) => void) | undefined;

  /** @internal Created by `WorkbusClient.subscribe`. */
  constructor(buffer: number, link: RemoteSubscriptionLink, seq: number) {
    this.#link = link;
    // Credit goes back in batches (half the buffer), so acks cost a frame per many events.
    this.#ackEvery = Math.max(1, Math.floor(buffer / 2));
    this.#lastSeq = seq;
  }

  /** Why it ended, or `undefined` while active. */
  get closedReason(): RemoteCloseReason | undefined {
    return this.#reason;
  }

  get closed(): boolean {
    return this.#reason !== undefined;
  }

  /** The last `seq` it saw (an event's, or a resync snapshot's). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  get stats(): RemoteSubscriptionStats {
    return {
      delivered: this.#delivered,
      dropped: this.#dropped,
      buffered: this.#queue.length - this.#head,
    };
  }

  /** Unsubscribes: the host releases it, buffered items are discarded, loops end. Idempotent. */
  close(): void {
    this.#leave('unsubscribed');
  }

  /** @internal Its signal aborted: as `close()`, with the reason `'aborted'`. */
  abort(): void {
    this.#leave('aborted');
  }

  #leave(reason: 'unsubscribed' | 'aborted'): void {
    if (this.#reason !== undefined) return;
    this.#queue = [];
    this.#head = 0;
    this.#end(reason);
    this.#link.unsubscribe();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal An event or resync from the host. */
  push(item: E | ResyncEnvelope): void {
    if (this.#reason !== undefined) return;
    this.#lastSeq = Math.max(this.#lastSeq, item.seq);
    if (item.topic === RESYNC_TOPIC)
      this.#dropped +=
        (item as ResyncEnvelope).payload.reason === 'dropped'
          ? (item as ResyncEnvelope).payload.missed
          : 0;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = this.#failWaiter = undefined;
      waiter({ done: false, value: this.#take(item) });
    } else {
      this.#queue.push(item);
    }
  }

  /** @internal The host has opened it. */
  open(): void {
    this.#opened(true);
  }

  /** @internal The connection it ran on ended; a reconnect will resume it. */
  suspend(): void {
    this.#unacked = -(this.#queue.length - this.#head);
  }

  /** @internal The host ended it, or refused it (`error`). Buffered items are still read. */
  end(reason: RemoteCloseReason, error?: WireError): void {
    if (error !== undefined) this.#error = new RemoteError(error);
    this.#end(reason);
  }

  [Symbol.asyncIterator](): AsyncIterator<E | ResyncEnvelope> {
    return {
      next: () => {
        if (this.#head < this.#queue.length) {
          const item = this.#queue[this.#head++] as E | ResyncEnvelope;
          if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
            this.#queue = this.#queue.slice(this.#head);
            this.#head = 0;
          }
          return Promise.resolve({ done: false, value: this.#take(item) });
        }
        const error = this.#error;
        if (error !== undefined) {
          this.#error = undefined;
          return Promise.reject(error);
        }
        if (this.#reason !== undefined) return Promise.resolve(DONE);
        return new Promise((resolve, reject) => {
          this.#waiter = resolve;
          this.#failWaiter = reject;
        });
      },
      return: () => {
        this.close();
        return Promise.resolve(DONE);
      },
    };
  }

  /** An item leaves for the consumer: counted, and credit given back in batches. */
  #take(item: E | ResyncEnvelope): E | ResyncEnvelope {
    this.#delivered++;
    if (++this.#unacked >= this.#ackEvery) {
      this.#link.ack(this.#unacked);
      this.#unacked = 0;
    }
    return item;
  }

  #end(reason: RemoteCloseReason): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#opened(false);
    const waiter = this.#waiter;
    const fail = this.#failWaiter;
    this.#waiter = this.#failWaiter = undefined;
    const error = this.#error;
    if (error !== undefined && fail !== undefined) {
      this.#error = undefined;
      fail(error);
    } else {
      waiter?.(DONE);
    }
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
