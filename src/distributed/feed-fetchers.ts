/**
 * The feed kit's fetchers spread over processes: the fetch of a feed as a job type of a
 * {@link DistributedPool}. Every process opens its pool with {@link feedFetchTypes}; a
 * fetcher process adds {@link feedFetchHandlers} over its own `FetchController` (on the
 * shared store: a `SqliteFeedStore` in `'shared'` mode on one file); any process submits
 * the due feeds with {@link scheduleFeedFetches}. So
 * - one feed is never fetched twice at once: its job's key is `feed:<id>` (the controller's
 *   `feedKey`), and a submit while it is queued or running joins it;
 * - a host gets at most `perHost` requests at once across every process: the job's
 *   `limitKey` is the feed's host, held by the type's Redis-backed `perKey` limit;
 * - a job is run at least once (a fetcher killed mid-job has its job run again, as a new
 *   attempt, on another), and a second run does the work once: the handler fetches only
 *   a feed still due (`FetchController.fetchIfDue`), and the store upserts items by guid.
 *
 * Only this module and the rest of `distributed/` load BullMQ; the feed kit never does.
 */
import { isAbortError, sleep } from '../abort.js';
import { RedisUnavailableError } from '../errors.js';
import type { Feed, FeedId, FeedStore } from '../feed/feed-store.js';
import { feedKey, hostOf } from '../feed/fetch/feed-key.js';
import type { FetchController, FetchReport } from '../feed/fetch/fetch-controller.js';
import type { TaskContext } from '../pool/job.js';
import {
  duration,
  integer,
  options as checkOptions,
  optionalSignal,
  requiredSignal,
} from '../validate.js';
import type { DistributedJob, DistributedJobOptions } from './distributed-pool.js';
import type { DistributedTypeOptions, Handler } from './options.js';

/** The job type of one feed's fetch. */
export const FEED_FETCH = 'feed-fetch';

/** Priority of a fetch asked for by hand, over scheduled ones (as in `FetchController`). */
const MANUAL = 10;

/** What a fetch job carries: plain JSON. */
export interface FeedFetchInput {
  readonly feedId: FeedId;
  /**
   * A refresh by hand (`FetchController.refresh`): whatever the feed's schedule, its
   * failures forgiven first. Otherwise the fetch is the schedule's (`fetchIfDue`).
   */
  readonly manual?: boolean | undefined;
}

/** Options of {@link feedFetchTypes}. */
export interface FeedFetchTypesOptions {
  /** Fetches one process runs at once: its `FetchController`'s `fetchers`, or fewer. */
  readonly concurrency: number;
  /** Fetches running at once across every process. @default unlimited */
  readonly globalConcurrency?: number | undefined;
  /** Requests open at once to one host, across every process. @default 2 */
  readonly perHost?: number | undefined;
  /** How long a dead process holds its host slot, in ms (renewed while alive). @default 30000 */
  readonly hostLeaseMs?: number | undefined;
}

/** The pool types of the feed fetchers, spread into every process's `types`. */
export type FeedFetchTypes = { readonly [FEED_FETCH]: DistributedTypeOptions };

/** The handlers of a fetcher process, spread into its `handlers`. */
export type FeedFetchHandlers = { readonly [FEED_FETCH]: Handler<FeedFetchInput, FetchReport> };

/** What {@link scheduleFeedFetches} needs of a pool: a `DistributedPool` opened with {@link feedFetchTypes}. */
export interface FeedFetchSubmitter {
  submit<R>(
    type: typeof FEED_FETCH,
    input: unknown,
    options?: DistributedJobOptions,
  ): Promise<DistributedJob<R>>;
}

/**
 * The job type of a feed's fetch, to spread into the `types` of every process's pool
 * (they must all name the same limits).
 * @throws TypeError/RangeError naming a bad option (unknown keys included).
 * @example
 * ```ts
 * const types = { ...feedFetchTypes({ concurrency: 4, perHost: 2 }) };
 * ```
 */
export function feedFetchTypes(options: FeedFetchTypesOptions): FeedFetchTypes {
  const o = checkOptions('feedFetchTypes options', options, [
    'concurrency',
    'globalConcurrency',
    'perHost',
    'hostLeaseMs',
  ]);
  return {
    [FEED_FETCH]: {
      concurrency: integer('concurrency', o.concurrency, 1),
      ...(o.globalConcurrency === undefined
        ? {}
        : { globalConcurrency: integer('globalConcurrency', o.globalConcurrency, 1) }),
      perKey: {
        limit: integer('perHost', o.perHost ?? 2, 1),
        leaseMs: duration('hostLeaseMs', o.hostLeaseMs ?? 30_000, 1),
      },
    },
  };
}

/**
 * The handler of the fetch type in a fetcher process: each job is one fetch of a feed by
 * `controller` (a scheduled one through `fetchIfDue`, a manual one through `refresh`),
 * and its result the `FetchReport` (plain data). A failed fetch is a report, so the job
 * succeeds; the job fails only for a feed no longer in the store (`NotFoundError`). The
 * job's signal is the fetch's: a cancel, or this pool's close, ends it writing nothing.
 * @example
 * ```ts
 * const fetcher = await DistributedPool.open({
 *   connection: url,
 *   name,
 *   types,
 *   handlers: { ...feedFetchHandlers(controller) },
 * });
 * ```
 */
export function feedFetchHandlers(controller: FetchController): FeedFetchHandlers {
  if (
    typeof controller !== 'object' ||
    controller === null ||
    typeof controller.fetchIfDue !== 'function'
  ) {
    throw new TypeError('feedFetchHandlers needs a FetchController');
  }
  return {
    [FEED_FETCH]: (input: FeedFetchInput, { signal }: TaskContext) => {
      const { feedId, manual } = fetchInput(input);
      return manual
        ? controller.refresh(feedId, { signal })
        : controller.fetchIfDue(feedId, { signal });
    },
  };
}

/**
 * Submits one feed's fetch, keyed by feed (a fetch of it queued or running is joined)
 * and limited by its host.
 * @returns the job's handle; its `result` is the `FetchReport`.
 * @throws as `DistributedPool.submit`.
 */
export async function submitFeedFetch(
  pool: FeedFetchSubmitter,
  feed: { readonly id: FeedId; readonly url: string },
  options: {
    readonly manual?: boolean | undefined;
    readonly signal?: AbortSignal | undefined;
  } = {},
): Promise<DistributedJob<FetchReport>> {
  const o = checkOptions('submitFeedFetch options', options, ['manual', 'signal']);
  const manual = flag('manual', o.manual);
  const input: FeedFetchInput = manual ? { feedId: feed.id, manual } : { feedId: feed.id };
  const signal = optionalSignal('signal', o.signal);
  return pool.submit<FetchReport>(FEED_FETCH, input, {
    key: feedKey(feed.id),
    limitKey: hostOf(feed.url),
    ...(manual ? { priority: MANUAL } : {}),
    ...(signal === undefined ? {} : { signal }),
  });
}

/**
 * Submits a fetch job for every feed of `store` that is due (its next-fetch time has
 * come, or it has none), from any process. Several schedulers may run at once: a feed's
 * job queued or running is joined, and one that finished meanwhile makes its feed not
 * due, so its new job ends `skipped` without a request.
 * @returns the jobs, in the store's feed order; each `result` is a `FetchReport`.
 * @throws an abort error when `signal` aborts; the store's and `submit`'s errors.
 * @example
 * ```ts
 * const jobs = await scheduleFeedFetches(scheduler, store, { signal });
 * const reports = await Promise.all(jobs.map((job) => job.result));
 * ```
 */
export async function scheduleFeedFetches(
  pool: FeedFetchSubmitter,
  store: FeedStore,
  options: { readonly signal: AbortSignal; readonly now?: number | undefined },
): Promise<readonly DistributedJob<FetchReport>[]> {
  const o = checkOptions('scheduleFeedFetches options', options, ['signal', 'now']);
  const signal = requiredSignal('signal', o.signal);
  const now = o.now === undefined ? Date.now() : integer('now', o.now, 0);
  return submitDue(pool, await store.listFeeds({ signal }), now, signal);
}

function submitDue(
  pool: FeedFetchSubmitter,
  feeds: readonly Feed[],
  now: number,
  signal: AbortSignal,
): Promise<readonly DistributedJob<FetchReport>[]> {
  const due = feeds.filter((feed) => (feed.nextFetchAt ?? 0) <= now);
  return Promise.all(due.map((feed) => submitFeedFetch(pool, feed, { signal })));
}

/** A job's input as read from Redis, checked. */
function fetchInput(input: unknown): { readonly feedId: FeedId; readonly manual: boolean } {
  const o = checkOptions('feed fetch input', input, ['feedId', 'manual']);
  return { feedId: integer('feedId', o.feedId, 1), manual: flag('manual', o.manual) };
}

function flag(field: string, value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new TypeError(`${field} must be a boolean, got ${typeof value}`);
  }
  return value === true;
}

/** Options of {@link watchFeedFetches}. */
export interface WatchFeedFetchesOptions {
  /** Ends the watch (it then resolves). */
  readonly signal: AbortSignal;
  /**
   * The least sleep between two looks, ms: a feed due now is in flight, and is looked at
   * again once its fetch has written its next time; also the retry delay while Redis is
   * unreachable. @default 1000
   */
  readonly minSleepMs?: number | undefined;
  /** The longest sleep between two looks, ms (feeds added meanwhile wait at most this). @default 300000 */
  readonly maxSleepMs?: number | undefined;
}

/**
 * Keeps the store's feeds fetched until `signal` aborts: submits the due feeds
 * ({@link scheduleFeedFetches}), then sleeps until the earliest next-fetch time, between
 * `minSleepMs` and `maxSleepMs`. Any number of processes may watch at once (a feed's job
 * is joined by key). While Redis is unreachable it looks again every `minSleepMs`
 * instead of ending: a scheduler outlives an outage.
 * @returns once `signal` aborts.
 * @throws the store's errors; TypeError/RangeError for bad options.
 * @example
 * ```ts
 * const watching = watchFeedFetches(scheduler, store, { signal: stop.signal });
 * ```
 */
export async function watchFeedFetches(
  pool: FeedFetchSubmitter,
  store: FeedStore,
  options: WatchFeedFetchesOptions,
): Promise<void> {
  const o = checkOptions('watchFeedFetches options', options, [
    'signal',
    'minSleepMs',
    'maxSleepMs',
  ]);
  const signal = requiredSignal('signal', o.signal);
  const minSleepMs = duration('minSleepMs', o.minSleepMs ?? 1000);
  const maxSleepMs = duration('maxSleepMs', o.maxSleepMs ?? 300_000);
  if (maxSleepMs < minSleepMs) {
    throw new RangeError(`maxSleepMs (${maxSleepMs}) must be at least minSleepMs (${minSleepMs})`);
  }
  try {
    while (!signal.aborted) {
      const now = Date.now();
      let wake = now + maxSleepMs;
      const feeds = await store.listFeeds({ signal });
      // A feed due now is in flight: its next time is written when its fetch ends.
      for (const feed of feeds) wake = Math.min(wake, Math.max(feed.nextFetchAt ?? now, now));
      try {
        await submitDue(pool, feeds, now, signal);
      } catch (error) {
        if (!(error instanceof RedisUnavailableError)) throw error;
        wake = now;
      }
      await sleep(Math.max(wake - Date.now(), minSleepMs), { signal });
    }
  } catch (error) {
    if (!(signal.aborted && isAbortError(error))) throw error;
  }
}
