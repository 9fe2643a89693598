/**
 * FeedController: what a reader's UI calls (the Go design's MainFeedController). It reads
 * and marks through the store and tells subscribers what changed, and it is safe to call
 * while a `FetchController` writes: the store serialises writes, its pages are keyset
 * pages (an item there throughout is never repeated or skipped by concurrent inserts),
 * and every answer is a frozen copy the fetcher can never change under the UI.
 */
import type { EventBus, SubscribeOptions } from '../bus/event-bus.js';
import type { EnvelopeOf } from '../bus/envelope.js';
import type { Subscription } from '../bus/subscription.js';
import { options as checkOptions } from '../validate.js';
import type { Feed, FeedStore, Item, ItemId, ItemPage, ItemQuery } from './feed-store.js';
import type { FeedEvents } from './fetch/fetch-controller.js';

/** What the UI hears about: new items from the fetcher, and marks changed by any caller. */
export interface ReaderEvents extends FeedEvents {
  /** Items marked read or unread, saved or unsaved (only those that changed). */
  readonly 'items.marked': {
    readonly itemIds: readonly ItemId[];
    readonly mark: 'read' | 'saved';
    readonly value: boolean;
  };
}

/** Options of {@link FeedController}. */
export interface FeedControllerOptions {
  readonly store: FeedStore;
  /** The bus the `FetchController` publishes to; marks are published there too. */
  readonly bus: EventBus<ReaderEvents>;
}

interface CallOptions {
  readonly signal: AbortSignal;
}

const TOPICS = ['items.added', 'items.marked', 'feed.fetched'] as const;

export class FeedController {
  readonly #store: FeedStore;
  readonly #bus: EventBus<ReaderEvents>;

  /** @throws TypeError for a missing store or bus, or an unknown option. */
  constructor(options: FeedControllerOptions) {
    const given = checkOptions('FeedController options', options, ['store', 'bus']);
    const store = given['store'] as FeedStore | undefined;
    if (typeof store?.listItems !== 'function') {
      throw new TypeError('FeedController options.store must be a FeedStore');
    }
    const bus = given['bus'] as EventBus<ReaderEvents> | undefined;
    if (typeof bus?.subscribe !== 'function' || typeof bus.publish !== 'function') {
      throw new TypeError('FeedController options.bus must be an EventBus');
    }
    this.#store = store;
    this.#bus = bus;
  }

  /** The feeds, by id. */
  feeds(options: CallOptions): Promise<readonly Feed[]> {
    return this.#store.listFeeds(options);
  }

  /**
   * A page of items, newest first: unread, saved, of one feed, or all (`limit` up to
   * 1000, `cursor` from the previous page).
   * @throws RangeError for a cursor the store did not hand out; an abort error.
   */
  items(query: ItemQuery, options: CallOptions): Promise<ItemPage> {
    return this.#store.listItems(query, options);
  }

  /** One item, or `undefined`. */
  item(itemId: ItemId, options: CallOptions): Promise<Item | undefined> {
    return this.#store.getItem(itemId, options);
  }

  /** How many items are unread and saved (of one feed, with `feedId`). */
  async counts(
    filter: { readonly feedId?: number | undefined },
    options: CallOptions,
  ): Promise<{ readonly unread: number; readonly saved: number }> {
    const feedId = checkOptions('counts filter', filter, ['feedId'])['feedId'] as
      number | undefined;
    const [unread, saved] = await Promise.all([
      this.#store.countItems({ feedId, unread: true }, options),
      this.#store.countItems({ feedId, saved: true }, options),
    ]);
    return Object.freeze({ unread, saved });
  }

  /**
   * Marks items read (or unread) and publishes `items.marked` when any changed.
   * @returns how many items changed (ids not in the store are skipped).
   */
  async markRead(itemIds: readonly ItemId[], read: boolean, options: CallOptions): Promise<number> {
    const changed = await this.#store.setRead(itemIds, read, options);
    if (changed > 0) this.#marked(itemIds, 'read', read);
    return changed;
  }

  /** Marks items saved (or not) and publishes `items.marked` when any changed. */
  async markSaved(
    itemIds: readonly ItemId[],
    saved: boolean,
    options: CallOptions,
  ): Promise<number> {
    const changed = await this.#store.setSaved(itemIds, saved, options);
    if (changed > 0) this.#marked(itemIds, 'saved', saved);
    return changed;
  }

  /**
   * What changes, as it happens: `items.added`, `items.marked` and `feed.fetched`, in a
   * bounded subscription (a UI that stops reading loses the oldest by default, never
   * holds the fetcher back).
   */
  changes(
    options: SubscribeOptions = {},
  ): Subscription<EnvelopeOf<ReaderEvents, (typeof TOPICS)[number]>> {
    return this.#bus.subscribe([...TOPICS], options);
  }

  #marked(itemIds: readonly ItemId[], mark: 'read' | 'saved', value: boolean): void {
    this.#bus.publish(
      'items.marked',
      Object.freeze({ itemIds: Object.freeze([...itemIds]), mark, value }),
    );
  }
}
