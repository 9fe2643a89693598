/**
 * `workbus/feed`: the feed app's kit. For now its store: the `FeedStore` contract, on
 * SQLite (`SqliteFeedStore`) and in memory (`MemoryFeedStore`).
 */
export { DuplicateFeedError, NotFoundError } from '../errors.js';
export { MemoryFeedStore } from './memory-feed-store.js';
export { SqliteFeedStore, type SqliteFeedStoreOptions } from './sqlite-feed-store.js';
export type {
  Embedding,
  EmbeddingQuery,
  Feed,
  FeedId,
  FeedInput,
  FeedPatch,
  FeedStore,
  FeedStoreOptions,
  FetchState,
  Item,
  ItemChanges,
  ItemFilter,
  ItemId,
  ItemInput,
  ItemPage,
  ItemQuery,
} from './feed-store.js';
