/**
 * The feed kit's fetchers across real processes: worker processes sharing one Redis and
 * one SQLite file (`'shared'` mode), fetching real fixture feeds served over loopback
 * HTTP, scheduled from this process. Every feed is fetched once and each of its items
 * stored once, the per-host limit holds across processes, and a worker killed with
 * SIGKILL right after its store write has its job run again, as attempt 2, on another
 * worker without storing anything twice.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FeedServer, type ServedFeed } from '../../src/cli/feed-server.js';
import {
  DistributedPool,
  FEED_FETCH,
  RedisEventBus,
  feedFetchHandlers,
  feedFetchTypes,
  scheduleFeedFetches,
  submitFeedFetch,
  watchFeedFetches,
  type FeedFetchSubmitter,
  type FeedFetchTypes,
} from '../../src/distributed/index.js';
import { FetchController, type FeedEvents } from '../../src/feed/fetch/fetch-controller.js';
import { MemoryFeedStore } from '../../src/feed/memory-feed-store.js';
import type { TaskContext } from '../../src/pool/job.js';
import type { FeedId } from '../../src/feed/feed-store.js';
import { feedKey, type FetchReport } from '../../src/feed/fetch/fetch-controller.js';
import { FailureTracker } from '../../src/store/failure-tracker.js';
import { RedisUnavailableError } from '../../src/errors.js';
import { intakeOutcome } from '../../src/feed/intake/intake.js';
import { SqliteFeedStore } from '../../src/feed/sqlite-feed-store.js';
import { startChild, type Child } from '../helpers/child.js';
import { redisAdmin, redisUrl, testPrefix } from '../helpers/redis.js';
import '../helpers/http.js';
import { fixture, FIXTURES } from '../feed/intake/helpers.js';
import { MAX_INTERVAL_MS, MIN_INTERVAL_MS, PER_HOST, feedTypes } from './fixtures/feed-types.js';

const signal = new AbortController().signal;
const prefix = testPrefix('feed-fetchers');
redisAdmin(prefix);
const worker = new URL('./fixtures/feed-worker.ts', import.meta.url);
const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const FEEDS = 20;
const CONTENT_TYPE = 'application/xml';
/**
 * The killed worker's lock lapses after this, and the survivor's stall check runs as
 * often. Not shorter: a live worker starved of CPU for longer (2 cores shared by several
 * test runs) loses its lock too, and its job runs again; a false stall on top of the kill
 * is one more than BullMQ allows. The run without a kill keeps the default, 30 s.
 */
const KILL_STALLED_MS = 2000;
const STALLED_MS = 30_000;

/** The first fixture files that parse into items: served as `feed-<n>`, and twice more for the kill tests. */
const files = readdirSync(FIXTURES)
  .filter((file) => /\.(xml|json|rss|atom|rdf)$/.test(file))
  .sort()
  .filter((file) => {
    const outcome = intakeOutcome({
      bytes: fixture(file),
      contentType: CONTENT_TYPE,
      url: 'http://127.0.0.1/',
    });
    return outcome.ok && outcome.result.document.items.length > 0;
  })
  .slice(0, FEEDS);
const served: ServedFeed[] = [
  ...files.map((file, n) => ({
    name: `feed-${n}`,
    host: HOSTS[n % HOSTS.length] as string,
    body: fixture(file),
    contentType: CONTENT_TYPE,
  })),
  ...['killed-after-items', 'killed-after-state'].map((name, n) => ({
    name,
    host: '127.0.0.5',
    body: fixture(files[n] as string),
    contentType: CONTENT_TYPE,
  })),
];

let server: FeedServer;
let dir: string;
let names = 0;
const children: Child[] = [];
const stores: SqliteFeedStore[] = [];
const pools: DistributedPool<FeedFetchTypes>[] = [];

beforeAll(async () => {
  server = await FeedServer.start(served, { latencyMs: 20 });
  dir = mkdtempSync(join(tmpdir(), 'workbus-feed-fetchers-'));
});

afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close();
  const stopping = children.splice(0);
  for (const child of stopping) child.process.kill('SIGTERM');
  await Promise.all(stopping.map((c) => c.exited));
  for (const store of stores.splice(0)) await store.stop({ signal, deadline: Date.now() + 5000 });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The items the intake makes of a served feed: what its fetch must store, once each. */
function itemsOf(name: string): number {
  const feed = served.find((f) => f.name === name) as ServedFeed;
  const outcome = intakeOutcome({
    bytes: Buffer.from(feed.body),
    contentType: CONTENT_TYPE,
    url: server.url(name),
  });
  return outcome.ok ? outcome.result.document.items.length : -1;
}

/** A fresh store file with the named feeds, a pool name, and this process's scheduler pool. */
async function setup(feeds: readonly string[]): Promise<{
  file: string;
  name: string;
  store: SqliteFeedStore;
  ids: Map<string, FeedId>;
  scheduler: DistributedPool<FeedFetchTypes>;
}> {
  const name = `${prefix}:${++names}`;
  const file = join(dir, `feeds-${names}.db`);
  const store = await SqliteFeedStore.open(file, { signal });
  stores.push(store);
  const ids = new Map<string, FeedId>();
  for (const feed of feeds) {
    ids.set(feed, (await store.addFeed({ url: server.url(feed) }, { signal })).id);
  }
  const scheduler = await DistributedPool.open({ connection: redisUrl(), name, types: feedTypes });
  pools.push(scheduler);
  return { file, name, store, ids, scheduler };
}

async function workers(
  file: string,
  name: string,
  flags: readonly string[][],
  stalledMs = STALLED_MS,
): Promise<Child[]> {
  const started = flags.map((f) =>
    startChild(worker, [redisUrl(), name, file, String(stalledMs), ...f]),
  );
  children.push(...started);
  await Promise.all(started.map((c) => c.line((l) => l === 'ready')));
  return started;
}

describe('feed fetchers across processes', () => {
  it(`fetches ${FEEDS} feeds on 3 hosts with 3 worker processes and two schedulers at once: each feed asked once, each item stored once, the per-host limit held`, async () => {
    const feeds = served.slice(0, FEEDS).map((f) => f.name);
    const { file, name, store, ids, scheduler } = await setup(feeds);
    const fetchers = await workers(file, name, [[], [], []]);
    // Two schedulers at once, as two processes would run them: a feed's second job joins
    // its first, or (the first done) finds the feed not due and asks nothing.
    const [first, second] = await Promise.all([
      scheduleFeedFetches(scheduler, store, { signal }),
      scheduleFeedFetches(scheduler, store, { signal }),
    ]);
    const reports: FetchReport[] = await Promise.all(
      [...(first ?? []), ...(second ?? [])].map((job) => job.result),
    );
    const byFeed = new Map(feeds.map((feed) => [ids.get(feed), feed]));
    const stats = server.feedStats();
    for (const feed of feeds) {
      const id = ids.get(feed) as FeedId;
      const stored = reports.filter((r) => r.feedId === id && r.outcome === 'stored');
      expect(stored.length, feed).toBeGreaterThanOrEqual(1);
      expect(stored[0]?.added, feed).toBe(itemsOf(feed));
      expect(await store.countItems({ feedId: id }, { signal }), feed).toBe(itemsOf(feed));
      expect(stats.get(feed)?.requests, feed).toBe(1);
      expect(stats.get(feed)?.maxConcurrent, feed).toBe(1);
    }
    expect(reports.every((r) => r.outcome === 'stored' || r.outcome === 'skipped')).toBe(true);
    for (const host of HOSTS) {
      expect(server.hostStats().get(host)?.maxConcurrent).toBeLessThanOrEqual(PER_HOST);
    }
    // Each feed was fetched by exactly one job run, whichever process ran it (read once
    // they have ended: their lines come over pipes, the results over Redis).
    for (const child of fetchers) child.process.kill('SIGTERM');
    await Promise.all(fetchers.map((c) => c.exited));
    const fetched = fetchers
      .flatMap((c) => c.lines)
      .filter((l) => / stored added=[1-9]/.test(l))
      .map((l) => byFeed.get(Number(l.split(' ')[1])));
    expect(fetched.sort()).toEqual([...feeds].sort());
  }, 60_000);

  it('runs again as attempt 2 on another worker the fetches of a worker killed with SIGKILL right after a store write, storing nothing twice', async () => {
    const afterItems = 'killed-after-items';
    const afterState = 'killed-after-state';
    const { file, name, store, ids, scheduler } = await setup([afterItems, afterState]);
    const [itemsId, stateId] = [ids.get(afterItems), ids.get(afterState)] as [FeedId, FeedId];
    const before = Date.now();
    // It stops for good once one feed's items are committed (its fetch state not yet), and
    // once the other's items and fetch state are.
    const [doomed] = (await workers(
      file,
      name,
      [['dedup', `hang-items=${itemsId}`, `hang-state=${stateId}`]],
      KILL_STALLED_MS,
    )) as [Child];
    const jobs = await scheduleFeedFetches(scheduler, store, { signal });
    await doomed.line((l) => l === `stored ${itemsId}`);
    await doomed.line((l) => l === `stored ${stateId}`);
    const [survivor] = (await workers(file, name, [['dedup']], KILL_STALLED_MS)) as [Child];
    doomed.process.kill('SIGKILL');
    expect(await doomed.exited).toBe('SIGKILL');

    const [itemsReport, stateReport] = (await Promise.all(jobs.map((j) => j.result))) as [
      FetchReport,
      FetchReport,
    ];
    // Its lines come over a pipe, the results over Redis: either may arrive first.
    await survivor.line((l) => l === `fetching ${itemsId} 2`);
    await survivor.line((l) => l === `fetching ${stateId} 2`);
    const stats = server.feedStats();
    // Its validators were not written: asked again, every item found already stored.
    expect(itemsReport).toMatchObject({
      outcome: 'stored',
      added: 0,
      unchanged: itemsOf(afterItems),
    });
    expect(stats.get(afterItems)?.requests).toBe(2);
    // Fetched already, so no longer due: not asked again.
    expect(stateReport.outcome).toBe('skipped');
    expect(stats.get(afterState)?.requests).toBe(1);
    for (const [feedName, id, report] of [
      [afterItems, itemsId, itemsReport],
      [afterState, stateId, stateReport],
    ] as const) {
      expect(await store.countItems({ feedId: id }, { signal })).toBe(itemsOf(feedName));
      const feed = await store.getFeed(id, { signal });
      expect(feed).toMatchObject({ status: 'ok', consecutiveFailures: 0 });
      const fetchedAt = feed?.lastFetchedAt ?? 0;
      expect(fetchedAt).toBeGreaterThanOrEqual(before);
      expect(feed?.nextFetchAt).toBeGreaterThanOrEqual(fetchedAt + MIN_INTERVAL_MS);
      expect(feed?.nextFetchAt).toBeLessThanOrEqual(fetchedAt + MAX_INTERVAL_MS);
      expect(report.nextFetchAt).toBe(feed?.nextFetchAt);
    }
    // A process opening the failure tracker now judges the dead worker's unfinished runs:
    // the one its re-run settled by succeeding counts nothing; the other is the tracker's
    // one over-count of a run killed while it ran, whose backoff ends before the feed is due.
    const tracker = await FailureTracker.open(store.database, { signal });
    expect(tracker.get(feedKey(itemsId))).toBeUndefined();
    expect(tracker.get(feedKey(stateId))).toMatchObject({
      failures: 1,
      lastError: { name: 'ProcessEnded' },
    });
    const state = await store.getFeed(stateId, { signal });
    expect(tracker.check(feedKey(stateId))?.eligibleAt).toBeLessThan(state?.nextFetchAt ?? 0);
  }, 60_000);
});

describe('feed fetchers: events', () => {
  it('a controller publishes its feed.fetched and items.added on a RedisEventBus, the one stream of the fetchers of every process', async () => {
    // A server of its own, closed with the test: this process's fetch keeps its socket alive.
    const own = await FeedServer.start([{ ...(served[0] as ServedFeed), host: '127.0.0.6' }]);
    const { name, store } = await setup([]);
    const feed = await store.addFeed({ url: own.url('feed-0') }, { signal });
    const bus = await RedisEventBus.open<FeedEvents>({
      connection: redisUrl(),
      name: `${name}:bus`,
    });
    const events = await bus.subscribe(['feed.fetched', 'items.added'], { buffer: 16 });
    const controller = new FetchController({ store, bus, parseOn: 'main' });
    const report = await controller.fetchIfDue(feed.id, { signal });
    const seen: string[] = [];
    for await (const { topic, payload } of events) {
      seen.push(topic === 'items.added' ? `${topic} ${payload.items.length}` : topic);
      if (topic === 'feed.fetched') break;
    }
    expect(seen).toEqual([`items.added ${itemsOf('feed-0')}`, 'feed.fetched']);
    expect(report.added).toBe(itemsOf('feed-0'));
    await controller.stop({ signal, deadline: Date.now() + 5000 });
    await bus.close();
    await own.close();
  });
});

describe('feed fetchers: options', () => {
  it('feedFetchTypes makes one type, limited per host, and refuses bad options, naming them', () => {
    expect(feedFetchTypes({ concurrency: 3, perHost: 1 })).toEqual({
      [FEED_FETCH]: { concurrency: 3, perKey: { limit: 1, leaseMs: 30_000 } },
    });
    expect(() => feedFetchTypes({ concurrency: 0 })).toThrow(/concurrency/);
    expect(() => feedFetchTypes({ concurrency: 1, perhost: 2 } as never)).toThrow(
      /unknown option 'perhost'; did you mean 'perHost'/,
    );
  });

  it('submitFeedFetch keys a job by feed and limits it by host; a manual one goes first', async () => {
    const submitted: unknown[] = [];
    const pool: FeedFetchSubmitter = {
      submit: (type, input, options) => {
        submitted.push([type, input, options]);
        return Promise.resolve(undefined as never);
      },
    };
    const feed = { id: 7, url: 'http://127.0.0.9:8080/feed.xml' };
    await submitFeedFetch(pool, feed);
    await submitFeedFetch(pool, feed, { manual: true });
    expect(submitted).toEqual([
      [FEED_FETCH, { feedId: 7 }, { key: 'feed:7', limitKey: '127.0.0.9' }],
      [
        FEED_FETCH,
        { feedId: 7, manual: true },
        { key: 'feed:7', limitKey: '127.0.0.9', priority: 10 },
      ],
    ]);
    await expect(submitFeedFetch(pool, feed, { manual: 'yes' } as never)).rejects.toThrow(
      /manual must be a boolean/,
    );
  });

  it('feedFetchHandlers needs a FetchController, and its handler refuses input that is not a fetch', async () => {
    expect(() => feedFetchHandlers({} as never)).toThrow(/FetchController/);
    const controller = new FetchController({ store: new MemoryFeedStore(), parseOn: 'main' });
    const handler = feedFetchHandlers(controller)[FEED_FETCH];
    const context = { signal } as TaskContext;
    expect(() => handler({ feed: 1 } as never, context)).toThrow(/unknown option 'feed'/);
    await expect(handler({ feedId: 1 }, context)).rejects.toThrow(/no feed with id 1/);
    await controller.stop({ signal, deadline: Date.now() + 1000 });
  });
});

describe('watchFeedFetches', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A pool that records the feeds submitted and writes each one's next time, as its fetch would. */
  function recorder(store: MemoryFeedStore, nextInMs: number, failures = 0) {
    const submitted: FeedId[] = [];
    let failing = failures;
    const pool: FeedFetchSubmitter = {
      submit: async (_type, input) => {
        if (failing-- > 0) throw new RedisUnavailableError('Redis is unavailable (test)');
        const { feedId } = input as { feedId: FeedId };
        submitted.push(feedId);
        await store.updateFeed(feedId, { nextFetchAt: Date.now() + nextInMs }, { signal });
        return undefined as never;
      },
    };
    return { pool, submitted };
  }

  it('submits the due feeds, sleeps until the next one falls due, and resolves when its signal aborts', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const store = new MemoryFeedStore();
    const a = await store.addFeed({ url: 'http://127.0.0.9/a.xml' }, { signal });
    const b = await store.addFeed({ url: 'http://127.0.0.9/b.xml' }, { signal });
    await store.updateFeed(b.id, { nextFetchAt: Date.now() + 60_000 }, { signal });
    const { pool, submitted } = recorder(store, 120_000);
    const stop = new AbortController();
    const watching = watchFeedFetches(pool, store, { signal: stop.signal });
    await vi.advanceTimersByTimeAsync(59_000);
    expect(submitted).toEqual([a.id]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(submitted).toEqual([a.id, b.id]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(submitted).toEqual([a.id, b.id, a.id]);
    stop.abort();
    await expect(watching).resolves.toBeUndefined();
  });

  it('looks again after minSleepMs while Redis is unreachable, instead of ending', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const store = new MemoryFeedStore();
    const a = await store.addFeed({ url: 'http://127.0.0.9/a.xml' }, { signal });
    const { pool, submitted } = recorder(store, 120_000, 2);
    const stop = new AbortController();
    const watching = watchFeedFetches(pool, store, { signal: stop.signal, minSleepMs: 500 });
    await vi.advanceTimersByTimeAsync(999);
    expect(submitted).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(submitted).toEqual([a.id]);
    stop.abort();
    await watching;
  });

  it('refuses unknown options and a maxSleepMs under minSleepMs, naming them', async () => {
    const store = new MemoryFeedStore();
    const { pool } = recorder(store, 0);
    await expect(watchFeedFetches(pool, store, { signal, every: 1 } as never)).rejects.toThrow(
      /every/,
    );
    await expect(
      watchFeedFetches(pool, store, { signal, minSleepMs: 10, maxSleepMs: 5 }),
    ).rejects.toThrow(/maxSleepMs \(5\) must be at least minSleepMs \(10\)/);
  });
});
