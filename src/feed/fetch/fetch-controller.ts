/**
 * FetchController: keeps a store's feeds fresh, politely. Each fetch of a feed is one job
 * of its own pool's `fetch` type, keyed `feed:<id>`: the request, the parse (on a worker
 * thread, a job of the `parse` type), the filters and the store write. So
 * - one feed is never fetched twice at once: a scheduled fetch and a manual refresh of it
 *   share one flight (and one job);
 * - a host gets at most `perHost` requests at once, and a busy host holds back only its
 *   own feeds: the wait for the host happens before the job is queued, so it never holds
 *   a pool slot another host's feed could use;
 * - a failure tracker (when given) sees every fetch: a feed backing off or failed for
 *   good is skipped without a request; 410 Gone, and a 404 or an unparseable answer
 *   `strikes` times in a row, fail it for good; 429/503 are the server's schedule, never
 *   a strike.
 *
 * The pool is the controller's own: its global limit is the sum of the two types' limits,
 * so a fetch job waiting for its parse job can never take the parse job's place.
 */
import { abortErrorOf, isAbortError, LinkedSignal, sleep, throwIfAborted } from '../../abort.js';
import { JobSkippedError, NonRetryableError, NotFoundError } from '../../errors.js';
import type { KeyTracker } from '../../pool/tracking.js';
import { WorkPool } from '../../pool/work-pool.js';
import type { Component, StopContext } from '../../lifecycle/lifecycle.js';
import { KeyedSemaphore } from '../../sync/keyed-semaphore.js';
import { SingleFlight } from '../../sync/singleflight.js';
import {
  callable,
  duration,
  finite,
  integer,
  nonEmptyString,
  oneOf,
  options as checkOptions,
  requiredSignal,
} from '../../validate.js';
import type { Feed, FeedId, FeedPatch, FeedStore, Item, ItemInput } from '../feed-store.js';
import { DedupIndex } from '../dedup/dedup-index.js';
import { FeedDedup } from '../dedup/feed-dedup.js';
import type { FeedFailure } from '../intake/errors.js';
import { runFilters, type FilterStage } from '../intake/filter.js';
import {
  intakeOutcome,
  intakeResultOf,
  type IntakeInput,
  type IntakeOutcome,
} from '../intake/intake.js';
import type { NormalizedItem } from '../intake/normalize.js';
import { intakeWorker } from '../intake/worker-module.js';
import { feedKey, hostOf } from './feed-key.js';
import { fetchFeed, type FetchOutcome } from './fetch-feed.js';
import { nextAfterRetryLater, nextAfterSuccess, type Schedule } from './schedule.js';

/** The bus topics a FetchController publishes. */
export interface FeedEvents {
  /** New items stored for a feed (after filters), with their ids. */
  readonly 'items.added': { readonly feedId: FeedId; readonly items: readonly Item[] };
  /** A fetch of a feed ended, however it ended. */
  readonly 'feed.fetched': FetchReport;
}

/**
 * Where the controller publishes: an `EventBus` whose events include {@link FeedEvents},
 * or a `RedisEventBus` (`workbus/distributed`), so the fetchers of several processes
 * publish on one stream. A publish that fails (a promise that rejects) never fails a fetch.
 */
export interface FeedEventSink {
  publish<K extends keyof FeedEvents>(topic: K, payload: FeedEvents[K]): unknown;
}

/** How one fetch of a feed ended. Plain data. */
export interface FetchReport {
  readonly feedId: FeedId;
  /** The URL asked (after a permanent redirect: the new one). */
  readonly url: string;
  /**
   * `stored`: a body was parsed and its items saved; `not-modified`: a 304;
   * `retry-later`: 429/503; `skipped`: the failure tracker held the feed back, or
   * ({@link FetchController.fetchIfDue}) it was no longer due (no request either way);
   * `failed`: anything else (see `error`).
   */
  readonly outcome: 'stored' | 'not-modified' | 'retry-later' | 'skipped' | 'cancelled' | 'failed';
  readonly added: number;
  readonly updated: number;
  readonly unchanged: number;
  /** Items the filters dropped. */
  readonly filtered: number;
  /** Items dropped for repeating an earlier item of the same document. */
  readonly duplicates: number;
  /** Why it failed or was skipped. */
  readonly error: string | undefined;
  /** When the feed is due again, in ms since the epoch. */
  readonly nextFetchAt: number;
}

/**
 * The failure tracker a controller uses: the pool's view of one (`check`, `begin`), and
 * `clear` to forgive a feed refreshed by hand. A `FailureTracker` is one.
 */
export interface FeedTracker extends KeyTracker {
  clear(key: string, options: { readonly signal: AbortSignal }): Promise<void>;
}

/** Options of {@link FetchController}. */
export interface FetchControllerOptions {
  readonly store: FeedStore;
  /**
   * Sees every fetch (the key of a feed's job is {@link feedKey}): a feed backing off or
   * failed for good is skipped without a request, until the tracker lets it go; a refresh
   * by hand forgives it first. Without one, every due feed is asked every time.
   */
  readonly tracker?: FeedTracker | undefined;
  /**
   * Drops an item that tells a story another feed's item already told (same link,
   * content or a SimHash within 3 bits): it is not stored. Items of one feed are told
   * apart by their publisher's ids. Without one, only repeats within a document are dropped.
   */
  readonly dedup?: DedupIndex | undefined;
  /** Where `items.added` and `feed.fetched` go. */
  readonly bus?: FeedEventSink | undefined;
  /** Fetches at once, over all hosts. @default 8 */
  readonly fetchers?: number | undefined;
  /** Parses at once (worker threads, with `parseOn: 'worker'`). @default 2 */
  readonly parsers?: number | undefined;
  /**
   * Where feeds are parsed: `'worker'` (a worker type: a large feed never stalls the
   * event loop) or `'main'` (in this thread: for runtimes without worker threads, and to
   * measure the difference). @default 'worker'
   */
  readonly parseOn?: 'worker' | 'main' | undefined;
  /**
   * The worker module for `parseOn: 'worker'`. @default the built intake worker
   * (`intakeWorker`); code run from TypeScript sources passes a JavaScript shim.
   */
  readonly parseWorker?: string | URL | undefined;
  /** Requests open at once to one host (politeness). @default 2 */
  readonly perHost?: number | undefined;
  /** Per request (redirects and body included), in ms. @default 30000 */
  readonly timeoutMs?: number | undefined;
  /** Largest body read, in bytes. @default 10485760 */
  readonly maxBytes?: number | undefined;
  /** Shortest wait before a feed is asked again after a good answer, in ms. @default 900000 */
  readonly minIntervalMs?: number | undefined;
  /** Longest such wait, in ms; each wait is drawn between the two. @default 3600000 */
  readonly maxIntervalMs?: number | undefined;
  /** 404s or unparseable answers in a row that fail a feed for good. @default 3 */
  readonly strikes?: number | undefined;
  /** Applied in order to each document's items before they are stored. @default [] */
  readonly filters?: readonly FilterStage[] | undefined;
  /** @default 'workbus-feeds/0.1' */
  readonly userAgent?: string | undefined;
  /** The clock, in ms since the epoch. @default Date.now */
  readonly now?: (() => number) | undefined;
  /** Uniform in [0, 1), for the interval draw. @default Math.random */
  readonly random?: (() => number) | undefined;
}

const OPTION_KEYS = [
  'store',
  'tracker',
  'dedup',
  'bus',
  'fetchers',
  'parsers',
  'parseOn',
  'parseWorker',
  'perHost',
  'timeoutMs',
  'maxBytes',
  'minIntervalMs',
  'maxIntervalMs',
  'strikes',
  'filters',
  'userAgent',
  'now',
  'random',
] as const;

interface Settings extends Schedule {
  readonly store: FeedStore;
  readonly tracker: FeedTracker | undefined;
  readonly bus: FeedEventSink | undefined;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly strikes: number;
  readonly filters: readonly FilterStage[];
  readonly userAgent: string;
  readonly now: () => number;
}

export { feedKey } from './feed-key.js';

/** What a fetch job hands back to the controller. */
type JobResult = Omit<FetchReport, 'nextFetchAt' | 'error'> & { readonly nextFetchAt: number };

/** Priority of a refresh asked for by hand, over scheduled fetches. */
const MANUAL = 10;

export class FetchController implements Component {
  readonly #s: Settings;
  readonly #pool: WorkPool;
  readonly #parseOn: 'worker' | 'main';
  readonly #hosts: KeyedSemaphore;
  readonly #flights = new SingleFlight<FeedId, FetchReport>();
  readonly #dedup: FeedDedup | undefined;
  /** Aborts the watch loop and every wait outside the pool when the controller stops. */
  readonly #stopping = new AbortController();
  #wake: (() => void) | undefined;
  #stopped: Promise<void> | undefined;

  /**
   * @throws TypeError/RangeError naming a bad option (unknown keys included).
   */
  constructor(options: FetchControllerOptions) {
    const given = checkOptions('FetchController options', options, OPTION_KEYS);
    const store = given['store'];
    if (
      typeof store !== 'object' ||
      store === null ||
      typeof (store as FeedStore).getFeed !== 'function'
    ) {
      throw new TypeError('FetchController options.store must be a FeedStore');
    }
    const bus = given['bus'];
    if (bus !== undefined && typeof (bus as FeedEventSink).publish !== 'function') {
      throw new TypeError('FetchController options.bus must have a publish method (an EventBus)');
    }
    const minIntervalMs = duration('minIntervalMs', given['minIntervalMs'] ?? 900_000, 1);
    const maxIntervalMs = duration('maxIntervalMs', given['maxIntervalMs'] ?? 3_600_000, 1);
    if (maxIntervalMs < minIntervalMs) {
      throw new RangeError(
        `maxIntervalMs (${maxIntervalMs}) must be at least minIntervalMs (${minIntervalMs})`,
      );
    }
    const filters = given['filters'] ?? [];
    if (!Array.isArray(filters)) throw new TypeError(`filters must be an array of functions`);
    filters.forEach((filter: unknown, i) => callable(`filters[${i}]`, filter));
    const tracker = given['tracker'];
    if (
      tracker !== undefined &&
      (typeof (tracker as FeedTracker).check !== 'function' ||
        typeof (tracker as FeedTracker).clear !== 'function')
    ) {
      throw new TypeError('FetchController options.tracker must be a FailureTracker');
    }
    this.#s = {
      store: store as FeedStore,
      tracker: tracker as FeedTracker | undefined,
      bus: bus as FeedEventSink | undefined,
      timeoutMs: duration('timeoutMs', given['timeoutMs'] ?? 30_000, 1),
      maxBytes: integer('maxBytes', given['maxBytes'] ?? 10 * 1024 * 1024, 1),
      minIntervalMs,
      maxIntervalMs,
      strikes: integer('strikes', given['strikes'] ?? 3, 1),
      filters: filters as readonly FilterStage[],
      userAgent: nonEmptyString('userAgent', given['userAgent'] ?? 'workbus-feeds/0.1'),
      now: callable('now', (given['now'] ?? Date.now) as () => number),
      random: callable('random', (given['random'] ?? Math.random) as () => number),
    };
    const dedup = dedupIndexOf(given['dedup']);
    this.#dedup = dedup === undefined ? undefined : new FeedDedup(dedup, this.#s.store);
    const fetchers = integer('fetchers', given['fetchers'] ?? 8, 1);
    const parsers = integer('parsers', given['parsers'] ?? 2, 1);
    this.#parseOn = oneOf('parseOn', given['parseOn'] ?? 'worker', ['worker', 'main']);
    const worker = (given['parseWorker'] as string | URL | undefined) ?? intakeWorker.url;
    this.#hosts = new KeyedSemaphore({
      limit: integer('perHost', given['perHost'] ?? 2, 1),
      name: 'feed.host',
    });
    this.#pool = new WorkPool({
      concurrency: fetchers + parsers,
      ...(this.#s.tracker === undefined ? {} : { tracker: this.#s.tracker }),
      types: {
        fetch: { concurrency: fetchers },
        parse:
          this.#parseOn === 'worker' ? { concurrency: parsers, worker } : { concurrency: parsers },
      },
    });
  }

  /** The controller's pool (`fetch` and `parse` types), to watch or to show. */
  get pool(): WorkPool {
    return this.#pool;
  }

  /**
   * Fetches one feed now, by hand: whatever its schedule, and forgiving its failures
   * first (the tracker's backoff or permanent mark is cleared, so a feed the user fixed
   * is asked at once). A fetch of it already under way is joined, not repeated. Waits for
   * the fetch to end.
   * @returns how it ended; a failed fetch is a report, not a rejection.
   * @throws NotFoundError for a feed that is not in the store; an abort error when
   *   `signal` aborts (the fetch goes on for other callers, if any).
   */
  async refresh(feedId: FeedId, options: { readonly signal: AbortSignal }): Promise<FetchReport> {
    const signal = requiredSignal(
      'refresh options.signal',
      checkOptions('refresh options', options, ['signal'])['signal'],
    );
    integer('feedId', feedId, 1);
    throwIfAborted(signal);
    await this.#s.tracker?.clear(feedKey(feedId), { signal });
    return this.#flights.run(feedId, (flightSignal) => this.#fetch(feedId, flightSignal, MANUAL), {
      signal,
    });
  }

  /**
   * Fetches one feed as its schedule does, for a scheduler elsewhere (the distributed
   * fetchers' job, `workbus/distributed`'s `feedFetchHandlers`): at scheduled priority,
   * the failure tracker's hold applying (nothing is forgiven), and only if the feed is
   * still due when read here. A feed fetched since the scheduler read it (by another
   * process, or by a first attempt whose process died after its write) ends `skipped`
   * with no request and nothing written: a job run twice does its work once. A fetch of
   * it already under way here is joined. Waits for the fetch to end.
   * @returns how it ended; a failed fetch is a report, not a rejection.
   * @throws NotFoundError for a feed that is not in the store; an abort error when
   *   `signal` aborts (the fetch goes on for other callers, if any).
   */
  async fetchIfDue(
    feedId: FeedId,
    options: { readonly signal: AbortSignal },
  ): Promise<FetchReport> {
    const signal = requiredSignal(
      'fetchIfDue options.signal',
      checkOptions('fetchIfDue options', options, ['signal'])['signal'],
    );
    integer('feedId', feedId, 1);
    throwIfAborted(signal);
    return this.#flights.run(feedId, (s) => this.#fetch(feedId, s, 0, this.#s.now()), {
      signal,
    });
  }

  /**
   * Fetches every feed that is due (its next-fetch time has come, or it has none), each
   * on its own (one slow feed delays no other), and waits for all of them.
   * @returns a report per feed fetched, in the store's feed order.
   * @throws an abort error when `signal` aborts.
   */
  async fetchDue(options: { readonly signal: AbortSignal }): Promise<readonly FetchReport[]> {
    const signal = requiredSignal(
      'fetchDue options.signal',
      checkOptions('fetchDue options', options, ['signal'])['signal'],
    );
    const now = this.#s.now();
    const feeds = await this.#s.store.listFeeds({ signal });
    const due = feeds.filter((feed) => (feed.nextFetchAt ?? 0) <= now);
    return Promise.all(
      due.map((feed) => this.#flights.run(feed.id, (s) => this.#fetch(feed.id, s, 0), { signal })),
    );
  }

  /**
   * Keeps the feeds fresh until `signal` aborts (or the controller stops): fetches what is
   * due, then sleeps until the next feed is due, or until {@link FetchController.wake}.
   * Resolves once the loop has ended (fetches under way are the pool's to finish or stop).
   */
  async watch(options: { readonly signal: AbortSignal }): Promise<void> {
    const signal = requiredSignal(
      'watch options.signal',
      checkOptions('watch options', options, ['signal'])['signal'],
    );
    const link = new LinkedSignal(signal);
    const detach = this.#linkStop(link);
    try {
      while (!link.signal.aborted) {
        const feeds = await this.#s.store.listFeeds({ signal: link.signal });
        const now = this.#s.now();
        for (const feed of feeds) {
          if ((feed.nextFetchAt ?? 0) <= now) {
            // Each fetch runs on its own; its report reaches the bus, errors included.
            this.#flights.run(feed.id, (s) => this.#fetch(feed.id, s, 0)).catch(() => undefined);
          }
        }
        const next = Math.min(
          ...feeds.map((f) => f.nextFetchAt ?? now + this.#s.minIntervalMs),
          now + this.#s.maxIntervalMs,
        );
        // A feed due now is in flight: look again soon, when its schedule has been written.
        await this.#sleepUntil(Math.max(next, now + 1000), link.signal);
      }
    } catch (error) {
      if (!link.signal.aborted) throw error;
    } finally {
      detach();
      link.dispose();
    }
  }

  /** Ends the watch loop's sleep early (after a feed was added, say). */
  wake(): void {
    this.#wake?.();
  }

  /**
   * Stops (a `Lifecycle` component): ends the watch loop, then closes the pool, letting
   * fetches under way finish until `deadline` (then they are aborted: an aborted fetch
   * writes nothing, the next run fetches it again). A second call waits for the first.
   */
  stop(context: StopContext): Promise<void> {
    try {
      const given = checkOptions('stop context', context, ['signal', 'deadline']);
      requiredSignal('stop context.signal', given['signal']);
      const deadline = finite('stop context.deadline', given['deadline']);
      this.#stopped ??= this.#shutdown(deadline);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#stopped;
  }

  async #shutdown(deadline: number): Promise<void> {
    this.#stopping.abort();
    await this.#pool.close({ graceMs: Math.max(0, deadline - Date.now()) });
  }

  #linkStop(link: LinkedSignal): () => void {
    const stop = (): void => link.abort(abortErrorOf(this.#stopping.signal));
    if (this.#stopping.signal.aborted) stop();
    this.#stopping.signal.addEventListener('abort', stop, { once: true });
    return () => this.#stopping.signal.removeEventListener('abort', stop);
  }

  async #sleepUntil(at: number, signal: AbortSignal): Promise<void> {
    const woken = new AbortController();
    this.#wake = () => woken.abort();
    const link = new LinkedSignal(signal);
    const detach = (): void => link.abort();
    woken.signal.addEventListener('abort', detach, { once: true });
    try {
      await sleep(Math.max(0, at - this.#s.now()), { signal: link.signal });
    } catch (error) {
      if (signal.aborted) throw error;
    } finally {
      woken.signal.removeEventListener('abort', detach);
      link.dispose();
      this.#wake = undefined;
    }
  }

  /**
   * One fetch of a feed, start to end, and the feed's state written after it. With
   * `dueBy`, a feed not due by then (as read now) is skipped: no request, no write.
   */
  async #fetch(
    feedId: FeedId,
    signal: AbortSignal,
    priority: number,
    dueBy?: number,
  ): Promise<FetchReport> {
    const { store } = this.#s;
    const feed = await store.getFeed(feedId, { signal });
    if (feed === undefined) {
      throw new NotFoundError('feed', feedId);
    }
    if (dueBy !== undefined && feed.nextFetchAt !== null && feed.nextFetchAt > dueBy) {
      return this.#report(notDue(feed, feed.nextFetchAt));
    }
    try {
      const result = await this.#hosts.run(
        hostOf(feed.url),
        () =>
          this.#pool.run<JobResult>(
            'fetch',
            ({ signal: jobSignal }: { readonly signal: AbortSignal }) => this.#job(feed, jobSignal),
            {
              key: feedKey(feedId),
              priority,
              signal,
            },
          ),
        { signal },
      );
      return this.#report({ ...result, error: undefined });
    } catch (error) {
      // Given up by its callers, or cut short by the controller's stop: not the feed's
      // failure, nothing is recorded, and the next run asks again.
      if (signal.aborted || this.#stopping.signal.aborted) throw error;
      // Its job cancelled by an operator (`pool.cancel`, a dashboard): not the feed's failure
      // either; its schedule stands, so it is asked again when next due.
      if (isAbortError(error)) return this.#report(cancelled(feed, error, this.#s.now()));
      return this.#report(await this.#failed(feed, error, signal));
    }
  }

  #report(report: FetchReport): FetchReport {
    const frozen = Object.freeze(report);
    this.#publish('feed.fetched', frozen);
    return frozen;
  }

  #publish<K extends keyof FeedEvents>(topic: K, payload: FeedEvents[K]): void {
    const published = this.#s.bus?.publish(topic, payload);
    if (published instanceof Promise) published.catch(() => undefined);
  }

  /** The feed's state after a fetch that did not end well. */
  async #failed(feed: Feed, error: unknown, signal: AbortSignal): Promise<FetchReport> {
    const now = this.#s.now();
    const base = {
      feedId: feed.id,
      url: feed.url,
      added: 0,
      updated: 0,
      unchanged: 0,
      filtered: 0,
      duplicates: 0,
    };
    if (error instanceof JobSkippedError) {
      await this.#s.store.updateFeed(feed.id, { nextFetchAt: error.eligibleAt }, { signal });
      return { ...base, outcome: 'skipped', error: error.message, nextFetchAt: error.eligibleAt };
    }
    const message = error instanceof Error ? error.message : String(error);
    // With a tracker, the feed is next due when its backoff (or permanent mark) ends.
    const hold = this.#s.tracker?.check(feedKey(feed.id));
    const nextFetchAt = Math.max(hold?.eligibleAt ?? 0, now + this.#s.minIntervalMs);
    await this.#s.store.updateFeed(
      feed.id,
      {
        lastFetchedAt: now,
        nextFetchAt,
        status: 'failed',
        consecutiveFailures: feed.consecutiveFailures + 1,
        lastError: message,
      },
      { signal },
    );
    return { ...base, outcome: 'failed', error: message, nextFetchAt };
  }

  /** The fetch job: the request, then the parse and the store write for a body. */
  async #job(feed: Feed, signal: AbortSignal): Promise<JobResult> {
    const { store, now } = this.#s;
    const outcome = await fetchFeed(
      {
        url: feed.url,
        ...(feed.etag === null ? {} : { etag: feed.etag }),
        ...(feed.lastModified === null ? {} : { lastModified: feed.lastModified }),
      },
      {
        signal,
        timeoutMs: this.#s.timeoutMs,
        maxBytes: this.#s.maxBytes,
        userAgent: this.#s.userAgent,
        now,
      },
    );
    const url = outcome.movedTo ?? feed.url;
    const moved = await this.#moved(feed, outcome.movedTo, signal);
    const base = {
      feedId: feed.id,
      url,
      added: 0,
      updated: 0,
      unchanged: 0,
      filtered: 0,
      duplicates: 0,
    };
    const at = now();
    switch (outcome.kind) {
      case 'not-modified': {
        const nextFetchAt = nextAfterSuccess(this.#s, at);
        await store.updateFeed(
          feed.id,
          {
            ...moved,
            lastFetchedAt: at,
            nextFetchAt,
            status: 'not-modified',
            consecutiveFailures: 0,
            lastError: null,
            // A 304 may carry new validators; keep the old ones when it does not.
            ...(outcome.etag === undefined ? {} : { etag: outcome.etag }),
            ...(outcome.lastModified === undefined ? {} : { lastModified: outcome.lastModified }),
          },
          { signal },
        );
        return { ...base, outcome: 'not-modified', nextFetchAt };
      }
      case 'retry-later': {
        const nextFetchAt = nextAfterRetryLater(this.#s, at, outcome.retryAt);
        await store.updateFeed(
          feed.id,
          { ...moved, lastFetchedAt: at, nextFetchAt, status: `http-${outcome.status}` },
          { signal },
        );
        return { ...base, outcome: 'retry-later', nextFetchAt };
      }
      case 'gone':
        throw new NonRetryableError(`${url} answered 410 Gone`, { permanent: true });
      case 'failed': {
        const strike = outcome.reason === 'http' && outcome.status === 404;
        throw this.#strike(feed, `${url}: ${outcome.message}`, strike);
      }
      case 'fetched':
        return this.#store(feed, outcome, base, signal);
    }
  }

  /**
   * The URL change a permanent redirect asks for, unless another feed already has that
   * URL: two subscriptions to one feed are the user's to merge, not the fetcher's.
   */
  async #moved(feed: Feed, movedTo: string | undefined, signal: AbortSignal): Promise<FeedPatch> {
    if (movedTo === undefined || movedTo === feed.url) return {};
    const other = await this.#s.store.getFeedByUrl(movedTo, { signal });
    return other === undefined ? { url: movedTo } : {};
  }

  /**
   * The error a failed fetch ends its job with. A 404 or an unparseable answer is a
   * strike; the `strikes`-th in a row fails the feed for good. Anything else (a timeout,
   * a 500, a refused connection) is passing trouble: the tracker backs off.
   */
  #strike(feed: Feed, message: string, strike: boolean): NonRetryableError {
    const permanent = strike && feed.consecutiveFailures + 1 >= this.#s.strikes;
    return new NonRetryableError(
      permanent ? `${message} (${this.#s.strikes} times in a row)` : message,
      { permanent },
    );
  }

  async #store(
    feed: Feed,
    outcome: Extract<FetchOutcome, { kind: 'fetched' }>,
    base: Omit<JobResult, 'outcome' | 'nextFetchAt'>,
    signal: AbortSignal,
  ): Promise<JobResult> {
    const { store, now } = this.#s;
    const input: IntakeInput = {
      bytes: outcome.body,
      contentType: outcome.contentType,
      url: outcome.url,
    };
    const parsed = await this.#intake(input, signal);
    if (!parsed.ok) {
      throw this.#strike(feed, failureMessage(base.url, parsed.failure), true);
    }
    const { document } = intakeResultOf(parsed);
    const filtered = await runFilters(document.items, this.#s.filters, { signal });
    const kept =
      this.#dedup === undefined
        ? filtered
        : await this.#dedup.unseen(feed.id, document.items, filtered, signal);
    const changes = await store.saveItems(feed.id, kept.map(itemInput), { signal });
    const at = now();
    const nextFetchAt = nextAfterSuccess(this.#s, at);
    await store.updateFeed(
      feed.id,
      {
        ...(await this.#moved(feed, outcome.movedTo, signal)),
        // Stored even when the body (and so every item) is unchanged: the next request
        // must send the validator the server gave last.
        etag: outcome.etag ?? null,
        lastModified: outcome.lastModified ?? null,
        lastFetchedAt: at,
        nextFetchAt,
        status: 'ok',
        consecutiveFailures: 0,
        lastError: null,
        ...(feed.title === null && document.title !== null ? { title: document.title } : {}),
        ...(feed.siteUrl === null && document.siteUrl !== null
          ? { siteUrl: document.siteUrl }
          : {}),
      },
      { signal },
    );
    if (changes.addedItems.length > 0) {
      this.#publish('items.added', Object.freeze({ feedId: feed.id, items: changes.addedItems }));
    }
    return {
      ...base,
      outcome: 'stored',
      added: changes.added,
      updated: changes.updated,
      unchanged: changes.unchanged,
      filtered: document.items.length - filtered.length,
      duplicates: document.duplicates + filtered.length - kept.length,
      nextFetchAt,
    };
  }

  #intake(input: IntakeInput, signal: AbortSignal): Promise<IntakeOutcome> {
    if (this.#parseOn === 'main') return Promise.resolve(intakeOutcome(input, { signal }));
    return this.#pool.run<IntakeOutcome>('parse', input, { signal });
  }
}

/** A failed intake in a sentence; an HTML page's advertised feeds are named, to subscribe to instead. */
function failureMessage(url: string, failure: FeedFailure): string {
  const links =
    failure.feedLinks.length === 0 ? '' : `; it advertises ${failure.feedLinks.join(', ')}`;
  return `${url}: ${failure.kind}: ${failure.message}${links}`;
}

function cancelled(feed: Feed, error: unknown, now: number): FetchReport {
  const message = error instanceof Error ? error.message : String(error);
  return nothingDone(feed, 'cancelled', message, feed.nextFetchAt ?? now);
}

function notDue(feed: Feed, nextFetchAt: number): FetchReport {
  const message = `not due until ${new Date(nextFetchAt).toISOString()} (fetched meanwhile)`;
  return nothingDone(feed, 'skipped', message, nextFetchAt);
}

/** The report of a fetch that stored nothing and wrote nothing. */
function nothingDone(
  feed: Feed,
  outcome: 'cancelled' | 'skipped',
  error: string,
  nextFetchAt: number,
): FetchReport {
  return {
    feedId: feed.id,
    url: feed.url,
    outcome,
    added: 0,
    updated: 0,
    unchanged: 0,
    filtered: 0,
    duplicates: 0,
    error,
    nextFetchAt,
  };
}

function dedupIndexOf(value: unknown): DedupIndex | undefined {
  if (value === undefined || value instanceof DedupIndex) return value;
  throw new TypeError('FetchController options.dedup must be a DedupIndex');
}

function itemInput(item: NormalizedItem): ItemInput {
  return {
    guid: item.key,
    link: item.link,
    title: item.title,
    summary: item.summary,
    content: item.content,
    author: item.author,
    published: item.publishedAt,
  };
}
