import type { Subscription } from '../bus/subscription.js';
import type { HostFrame, HostSubscriptionStats, Resync, WorkbusSnapshot } from './protocol.js';

/** What a host subscription needs from its connection. */
export interface SubscriptionLink {
  /** Sends a frame; false if it could not be sent (it did not clone, the port is gone). */
  send(frame: HostFrame): boolean;
  /** The next coalesced snapshot. */
  snapshot(): Promise<WorkbusSnapshot>;
}

/**
 * One client subscription on the host: a bus subscription whose events are sent to the
 * client only while it has credit. Credit flow is what bounds the host: the client
 * grants `window` items (its buffer) and gives credit back as its consumer reads, so a
 * client that stops reading stops receiving, the bus subscription fills, and its own
 * policy drops (counted). When credit returns, the client first gets a resync item (how
 * many were dropped, and a fresh snapshot), then the events the buffer kept.
 *
 * Held at most: `window` events in the bus subscription, `window` items in flight.
 */
export class HostSubscription {
  readonly #id: number;
  readonly #topics: readonly string[] | '*';
  readonly #subscription: Subscription;
  readonly #link: SubscriptionLink;
  readonly #window: number;
  #credit: number;
  #reportedDropped = 0;
  #delivered = 0;
  /** Wakes the pump when credit comes back or the subscription closes. */
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(
    id: number,
    topics: readonly string[] | '*',
    subscription: Subscription,
    window: number,
    link: SubscriptionLink,
    resume: Pick<Resync, 'missed'> | undefined,
  ) {
    this.#id = id;
    this.#topics = topics;
    this.#subscription = subscription;
    this.#window = window;
    this.#credit = window;
    this.#link = link;
    void this.#pump(resume);
  }

  get stats(): HostSubscriptionStats {
    const s = this.#subscription.stats;
    return {
      sub: this.#id,
      topics: this.#topics,
      delivered: this.#delivered,
      dropped: s.dropped,
      buffered: s.buffered,
      inFlight: this.#window - this.#credit,
    };
  }

  /** The client read `n` items: as much credit back (never above the window). */
  ack(n: number): void {
    this.#credit = Math.min(this.#window, this.#credit + n);
    this.#wakeUp();
  }

  /** Ends it: the bus subscription closes (its buffer discarded), the pump stops. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscription.close();
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Moves events to the client while it has credit; never throws. */
  async #pump(resume: Pick<Resync, 'missed'> | undefined): Promise<void> {
    const events = this.#subscription[Symbol.asyncIterator]();
    try {
      if (resume !== undefined) await this.#resync('reconnected', resume.missed);
      while (!this.#closed) {
        if (this.#credit === 0) {
          await new Promise<void>((resolve) => (this.#wake = resolve));
          continue;
        }
        const dropped = this.#subscription.stats.dropped;
        if (dropped > this.#reportedDropped) {
          const missed = dropped - this.#reportedDropped;
          this.#reportedDropped = dropped;
          await this.#resync('dropped', missed);
          continue;
        }
        const next = await events.next();
        if (next.done === true) break;
        if (this.#closed) break;
        this.#credit--;
        this.#delivered++;
        const envelope = next.value;
        if (!this.#link.send({ t: 'event', sub: this.#id, envelope })) {
          // A payload that does not clone is dropped; the client learns of it as a gap.
          this.#credit++;
          this.#delivered--;
          this.#reportedDropped--;
        }
      }
    } catch {
      // A snapshot that could not be built (the connection closing): the loop ends.
    }
    if (!this.#closed) {
      this.#closed = true;
      this.#link.send({
        t: 'end',
        sub: this.#id,
        reason: this.#subscription.closedReason ?? 'unsubscribed',
      });
    }
  }

  async #resync(reason: Resync['reason'], missed: number): Promise<void> {
    const snapshot = await this.#link.snapshot();
    if (this.#closed) return;
    this.#credit--;
    if (!this.#link.send({ t: 'resync', sub: this.#id, reason, missed, snapshot })) this.#credit++;
  }
}
