/**
 * `workbus/feed`: the feed reader's kit on workbus. The store (`FeedStore` on SQLite and
 * in memory), fetching (`fetchFeed`, `FetchController`), the intake (decode, parse,
 * normalise, filter; a worker module), dedup and embeddings, and OPML.
 */
export {
  DuplicateFeedError,
  EmbedError,
  NotFoundError,
  OpmlError,
  type EmbedFailure,
} from '../errors.js';
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
export {
  fetchFeed,
  type FeedRequest,
  type FetchFeedOptions,
  type FetchOutcome,
} from './fetch/fetch-feed.js';
export {
  feedKey,
  FetchController,
  type FeedEvents,
  type FeedEventSink,
  type FetchControllerOptions,
  type FetchReport,
  type FeedTracker,
} from './fetch/fetch-controller.js';
export { parseRetryAfter } from './fetch/retry-after.js';
export * from './intake/index.js';
export { canonicalLink } from './dedup/canonical-link.js';
export {
  DedupIndex,
  type DedupCandidate,
  type DedupIndexOptions,
  type DedupMatch,
  type DedupVerdict,
} from './dedup/dedup-index.js';
export { hammingDistance, simhash } from './dedup/simhash.js';
export {
  CachedEmbedder,
  cosineSimilarity,
  HashingEmbedder,
  type CachedEmbedderOptions,
  type EmbedOptions,
  type Embedder,
  type HashingEmbedderOptions,
} from './embed/embedder.js';
export {
  OLLAMA_EMBED_TYPE,
  OllamaEmbedder,
  type OllamaEmbedderOptions,
  type OllamaRetryOptions,
} from './embed/ollama-embedder.js';
export {
  FeedController,
  type FeedControllerOptions,
  type ReaderEvents,
} from './feed-controller.js';
export { formatOpml, parseOpml, type OpmlDocument, type OpmlFeed } from './opml.js';
