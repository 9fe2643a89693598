/**
 * `workbus/distributed`: the pool and bus contracts across processes, on BullMQ and
 * Redis. Needs the optional peer dependencies `bullmq` and `ioredis`; the core `workbus`
 * entry never loads them.
 */
export { JobFailedError, RedisUnavailableError } from '../errors.js';
export type { RedisConnection } from './connection.js';
export {
  RedisEventBus,
  StreamSubscription,
  type RedisEventBusOptions,
  type RedisSubscribeOptions,
} from './redis-event-bus.js';
export {
  DistributedPool,
  DistributedJob,
  type DistributedJobOptions,
  type DistributedCloseOptions,
} from './distributed-pool.js';
export type {
  DistributedEventSink,
  DistributedPoolOptions,
  DistributedTypeOptions,
  DistributedTypesOptions,
  Handler,
  WireRetryOptions,
} from './options.js';
export {
  FEED_FETCH,
  feedFetchHandlers,
  feedFetchTypes,
  scheduleFeedFetches,
  submitFeedFetch,
  watchFeedFetches,
  type FeedFetchHandlers,
  type FeedFetchInput,
  type FeedFetchSubmitter,
  type FeedFetchTypes,
  type FeedFetchTypesOptions,
  type WatchFeedFetchesOptions,
} from './feed-fetchers.js';
