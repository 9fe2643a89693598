/**
 * The fetch controller's side of deduplication: a {@link DedupIndex} that knows the
 * stored items (warmed from the store before its first use, so a restart forgets no
 * story) and a feed's items of one fetch (so a feed that changed its item ids is
 * recognised).
 */
import { SingleFlight } from '../../sync/singleflight.js';
import type { FeedId, FeedStore, Item } from '../feed-store.js';
import type { NormalizedItem } from '../intake/normalize.js';
import type { DedupCandidate, DedupIndex } from './dedup-index.js';

/** Items read from the store per page while warming. */
const WARM_PAGE = 1000;

/** The index's id of a feed's item: its key is unique within its feed only. */
function entryId(feedId: FeedId, key: string): string {
  return `${feedId}:${key}`;
}

export class FeedDedup {
  readonly #index: DedupIndex;
  readonly #store: FeedStore;
  /** Joined by every fetch until the index holds the stored items; one caller's abort fails no other. */
  readonly #warming = new SingleFlight<'warm', void>();
  #warm = false;

  constructor(index: DedupIndex, store: FeedStore) {
    this.#index = index;
    this.#store = store;
  }

  /**
   * The items of `items` that are not another item's story, after the index holds the
   * stored items. Each is admitted under `<feed>:<key>`: an item seen before under its
   * own id (a feed fetched again) is kept, so the store can update it. `carried` is
   * every item of the fetched document (filtered ones too): a stored item of this feed
   * that is not among them has left the feed, and an item matching it is it, renamed.
   * @throws an abort error when `signal` aborts; the store's and the index's errors.
   */
  async unseen(
    feedId: FeedId,
    carried: readonly NormalizedItem[],
    items: readonly NormalizedItem[],
    signal: AbortSignal,
  ): Promise<readonly NormalizedItem[]> {
    if (!this.#warm) await this.#warming.run('warm', (s) => this.#warmUp(s), { signal });
    const feedItems: ReadonlySet<string> = new Set(carried.map((i) => entryId(feedId, i.key)));
    const kept: NormalizedItem[] = [];
    for (const item of items) {
      const candidate = { ...candidateOf(feedId, item.key, item), feedItems };
      const verdict = await this.#index.admit(candidate, { signal });
      if (verdict.kind === 'new' || verdict.of === candidate.id) kept.push(item);
    }
    return kept;
  }

  /**
   * Adds the newest stored items, up to the index's capacity, oldest first (so the
   * newest are evicted last). Items the index already holds are left as they are.
   */
  async #warmUp(signal: AbortSignal): Promise<void> {
    const capacity = this.#index.capacity;
    const newest: Item[] = [];
    let cursor: string | null = null;
    do {
      const page = await this.#store.listItems(
        cursor === null ? { limit: WARM_PAGE } : { limit: WARM_PAGE, cursor },
        { signal },
      );
      newest.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null && newest.length < capacity);
    for (let i = Math.min(newest.length, capacity) - 1; i >= 0; i--) {
      const item = newest[i] as Item;
      const candidate = candidateOf(item.feedId, item.guid, item);
      if (!this.#index.has(candidate.id)) await this.#index.add(candidate, { signal });
    }
    this.#warm = true;
  }
}

/**
 * One candidate for a fetched item and for a stored one, so the two compare alike: the
 * item's key (the store's guid) stands as its guid.
 */
function candidateOf(
  feedId: FeedId,
  key: string,
  item: {
    readonly link: string | null;
    readonly title: string | null;
    readonly summary: string | null;
  },
): DedupCandidate {
  return {
    id: entryId(feedId, key),
    feed: String(feedId),
    guid: key,
    link: item.link ?? undefined,
    title: item.title ?? '',
    summary: item.summary ?? '',
  };
}
