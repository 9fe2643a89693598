/**
 * MemoryFeedStore: the `FeedStore` contract in memory, for tests and apps that keep
 * nothing. It passes the same contract suite as `SqliteFeedStore` and hands out the
 * same ids for the same calls, so either can stand in for the other.
 *
 * Every call validates everything first and then changes the maps in one synchronous
 * step, so a call is applied whole or not at all, and an abort (checked before that
 * step) always means nothing changed.
 */
import { throwIfAborted } from '../abort.js';
import { ClosedError, DuplicateFeedError, NotFoundError } from '../errors.js';
import type { StopContext } from '../lifecycle/lifecycle.js';
import type { CallOptions } from '../store/options.js';
import { options as checkOptions } from '../validate.js';
import {
  clockOf,
  embeddingOut,
  embeddingQuery,
  embeddings as checkEmbeddings,
  encodeCursor,
  feedInput,
  feedPatch,
  flag,
  id,
  ids,
  isAfter,
  itemChanges,
  itemFilter,
  itemQuery,
  itemRecords,
  newFeed,
  signalOf,
  sortTimeOf,
  stopContext,
  type Embedding,
  type EmbeddingQuery,
  type Feed,
  type FeedId,
  type FeedInput,
  type FeedPatch,
  type FeedStore,
  type FeedStoreOptions,
  type Item,
  type ItemChanges,
  type ItemFilter,
  type ItemId,
  type ItemInput,
  type ItemPage,
  type ItemQuery,
  type NormalizedFilter,
} from './feed-store.js';

export class MemoryFeedStore implements FeedStore {
  readonly #now: () => number;
  /** Stored records are frozen and replaced, never changed in place; callers get copies. */
  readonly #feeds = new Map<FeedId, Feed>();
  readonly #items = new Map<ItemId, Item>();
  /** Per item, its embeddings by model. */
  readonly #embeddings = new Map<ItemId, Map<string, Float32Array>>();
  /** Like SQLite's AUTOINCREMENT: ids only grow, and a failed call takes none. */
  #lastFeedId = 0;
  #lastItemId = 0;
  #closed = false;

  /**
   * An empty store.
   * @throws TypeError for an unknown option or a `now` that is not a function.
   */
  constructor(options: FeedStoreOptions = {}) {
    const given = checkOptions('MemoryFeedStore options', options, ['now']);
    this.#now = clockOf('MemoryFeedStore options.now', given['now']);
  }

  /** Checks the call's signal and the store's state, in the order `SqliteFeedStore` does. */
  #call<T>(method: string, options: CallOptions, body: () => T): Promise<T> {
    try {
      const signal = signalOf(method, options);
      if (this.#closed) throw new ClosedError('The feed store was stopped');
      throwIfAborted(signal);
      return Promise.resolve(body());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  addFeed(input: FeedInput, options: CallOptions): Promise<Feed> {
    return this.#call('addFeed', options, () => {
      const { url, title, siteUrl } = feedInput(input);
      // Read before the check, as SqliteFeedStore reads it before its INSERT fails.
      const addedAt = this.#now();
      if (this.#byUrl(url) !== undefined) throw new DuplicateFeedError(url);
      const feed = newFeed(++this.#lastFeedId, { url, title, siteUrl }, addedAt);
      this.#feeds.set(feed.id, feed);
      return copy(feed);
    });
  }

  getFeed(feedId: FeedId, options: CallOptions): Promise<Feed | undefined> {
    return this.#call('getFeed', options, () => {
      const feed = this.#feeds.get(id('getFeed feedId', feedId));
      return feed === undefined ? undefined : copy(feed);
    });
  }

  getFeedByUrl(url: string, options: CallOptions): Promise<Feed | undefined> {
    return this.#call('getFeedByUrl', options, () => {
      if (typeof url !== 'string' || url.length === 0) {
        throw new TypeError(`getFeedByUrl url must be a non-empty string, got ${typeof url}`);
      }
      const feed = this.#byUrl(url);
      return feed === undefined ? undefined : copy(feed);
    });
  }

  listFeeds(options: CallOptions): Promise<readonly Feed[]> {
    return this.#call('listFeeds', options, () =>
      Object.freeze([...this.#feeds.values()].sort((a, b) => a.id - b.id).map(copy)),
    );
  }

  updateFeed(feedId: FeedId, patch: FeedPatch, options: CallOptions): Promise<Feed> {
    return this.#call('updateFeed', options, () => {
      const key = id('updateFeed feedId', feedId);
      const changes = feedPatch(patch);
      const feed = this.#feeds.get(key);
      if (feed === undefined) throw new NotFoundError('feed', key);
      if (changes.url !== undefined) {
        const holder = this.#byUrl(changes.url);
        if (holder !== undefined && holder.id !== key) throw new DuplicateFeedError(changes.url);
      }
      const updated: Feed = Object.freeze({ ...feed, ...changes });
      this.#feeds.set(key, updated);
      return copy(updated);
    });
  }

  removeFeed(feedId: FeedId, options: CallOptions): Promise<boolean> {
    return this.#call('removeFeed', options, () => {
      const key = id('removeFeed feedId', feedId);
      if (!this.#feeds.delete(key)) return false;
      for (const item of this.#items.values()) {
        if (item.feedId === key) this.#removeItem(item.id);
      }
      return true;
    });
  }

  replaceItems(
    feedId: FeedId,
    items: readonly ItemInput[],
    options: CallOptions,
  ): Promise<ItemChanges> {
    return this.#call('replaceItems', options, () =>
      this.#writeItems('replaceItems', feedId, items, true),
    );
  }

  saveItems(
    feedId: FeedId,
    items: readonly ItemInput[],
    options: CallOptions,
  ): Promise<ItemChanges> {
    return this.#call('saveItems', options, () =>
      this.#writeItems('saveItems', feedId, items, false),
    );
  }

  #writeItems(method: string, feedId: unknown, input: unknown, removeGone: boolean): ItemChanges {
    const key = id(`${method} feedId`, feedId);
    const records = itemRecords(method, input);
    if (!this.#feeds.has(key)) throw new NotFoundError('feed', key);
    const existing = new Map<string, Item>();
    for (const item of this.#items.values()) if (item.feedId === key) existing.set(item.guid, item);
    const addedItems: Item[] = [];
    const updatedItems: Item[] = [];
    let unchanged = 0;
    const now = this.#now();
    for (const record of records) {
      const old = existing.get(record.guid);
      existing.delete(record.guid);
      if (old === undefined) {
        const item: Item = Object.freeze({
          id: ++this.#lastItemId,
          feedId: key,
          ...record,
          addedAt: now,
          read: false,
          saved: false,
        });
        this.#items.set(item.id, item);
        addedItems.push(copy(item));
      } else if (old.contentHash !== record.contentHash) {
        const item: Item = Object.freeze({ ...old, ...record });
        this.#items.set(item.id, item);
        // The old content's embeddings no longer describe the item.
        this.#embeddings.delete(item.id);
        updatedItems.push(copy(item));
      } else {
        unchanged++;
      }
    }
    // What is left in `existing` was not in the call: gone from the feed.
    const removedIds = removeGone
      ? [...existing.values()].map((item) => item.id).sort((a, b) => a - b)
      : [];
    for (const itemId of removedIds) this.#removeItem(itemId);
    return itemChanges(addedItems, updatedItems, removedIds, unchanged);
  }

  getItem(itemId: ItemId, options: CallOptions): Promise<Item | undefined> {
    return this.#call('getItem', options, () => {
      const item = this.#items.get(id('getItem itemId', itemId));
      return item === undefined ? undefined : copy(item);
    });
  }

  listItems(query: ItemQuery, options: CallOptions): Promise<ItemPage> {
    return this.#call('listItems', options, () => {
      const { limit, after, ...filter } = itemQuery(query);
      const matching = this.#matching(filter)
        .map((item) => ({ item, position: { sortTime: sortTimeOf(item), id: item.id } }))
        .filter(({ position }) => after === undefined || isAfter(position, after))
        .sort((a, b) => b.position.sortTime - a.position.sortTime || b.position.id - a.position.id);
      const page = matching.slice(0, limit);
      const last = page.at(-1);
      return Object.freeze({
        items: Object.freeze(page.map(({ item }) => copy(item))),
        nextCursor:
          matching.length > limit && last !== undefined ? encodeCursor(last.position) : null,
      });
    });
  }

  countItems(filter: ItemFilter, options: CallOptions): Promise<number> {
    return this.#call('countItems', options, () => this.#matching(itemFilter(filter)).length);
  }

  #matching(filter: NormalizedFilter): Item[] {
    return [...this.#items.values()].filter(
      (item) =>
        (filter.feedId === undefined || item.feedId === filter.feedId) &&
        (filter.unread === undefined || item.read !== filter.unread) &&
        (filter.saved === undefined || item.saved === filter.saved),
    );
  }

  setRead(itemIds: readonly ItemId[], read: boolean, options: CallOptions): Promise<number> {
    return this.#call('setRead', options, () =>
      this.#mark(ids('setRead itemIds', itemIds), 'read', flag('setRead read', read)),
    );
  }

  setSaved(itemIds: readonly ItemId[], saved: boolean, options: CallOptions): Promise<number> {
    return this.#call('setSaved', options, () =>
      this.#mark(ids('setSaved itemIds', itemIds), 'saved', flag('setSaved saved', saved)),
    );
  }

  #mark(itemIds: readonly ItemId[], mark: 'read' | 'saved', value: boolean): number {
    let changed = 0;
    for (const itemId of new Set(itemIds)) {
      const item = this.#items.get(itemId);
      if (item !== undefined && item[mark] !== value) {
        this.#items.set(itemId, Object.freeze({ ...item, [mark]: value }));
        changed++;
      }
    }
    return changed;
  }

  saveEmbeddings(embeddings: readonly Embedding[], options: CallOptions): Promise<void> {
    return this.#call('saveEmbeddings', options, () => {
      const entries = checkEmbeddings(embeddings);
      const missing = entries.find((entry) => !this.#items.has(entry.itemId));
      if (missing !== undefined) throw new NotFoundError('item', missing.itemId);
      for (const { itemId, model, vector } of entries) {
        let byModel = this.#embeddings.get(itemId);
        if (byModel === undefined)
          this.#embeddings.set(itemId, (byModel = new Map<string, Float32Array>()));
        byModel.set(model, vector);
      }
    });
  }

  getEmbeddings(query: EmbeddingQuery, options: CallOptions): Promise<readonly Embedding[]> {
    return this.#call('getEmbeddings', options, () => {
      const { model, itemIds } = embeddingQuery(query);
      const wanted = itemIds === undefined ? [...this.#embeddings.keys()] : [...new Set(itemIds)];
      const found: Embedding[] = [];
      for (const itemId of wanted.sort((a, b) => a - b)) {
        const vector = this.#embeddings.get(itemId)?.get(model);
        if (vector !== undefined) found.push(embeddingOut(itemId, model, vector));
      }
      return Object.freeze(found);
    });
  }

  /**
   * Stops the store: later calls reject with `ClosedError`. Nothing waits (every call
   * finishes in the step it starts). A second call does nothing.
   * Rejects with a TypeError for a missing `signal`, a RangeError for a `deadline` that
   * is not finite.
   */
  stop(context: StopContext): Promise<void> {
    try {
      stopContext(context);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closed = true;
    return Promise.resolve();
  }

  #byUrl(url: string): Feed | undefined {
    for (const feed of this.#feeds.values()) if (feed.url === url) return feed;
    return undefined;
  }

  #removeItem(itemId: ItemId): void {
    this.#items.delete(itemId);
    this.#embeddings.delete(itemId);
  }
}

function copy<T extends object>(value: T): T {
  return Object.freeze({ ...value });
}
