/**
 * FetchController on real feeds served over loopback, into a real store: what it stores,
 * what it asks servers (conditional requests, politeness per host and per feed, the
 * server's schedule honoured), and how each kind of failure ends.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FeedServer, type ServedFeed } from '../../../src/cli/feed-server.js';
import { EventBus } from '../../../src/bus/event-bus.js';
import { isAbortError } from '../../../src/abort.js';
import { SqliteFeedStore } from '../../../src/feed/sqlite-feed-store.js';
import { FailureTracker } from '../../../src/store/failure-tracker.js';
import {
  feedKey,
  FetchController,
  type FeedEvents,
  type FetchControllerOptions,
} from '../../../src/feed/fetch/fetch-controller.js';
import { DedupIndex } from '../../../src/feed/dedup/dedup-index.js';
import { MemoryFeedStore } from '../../../src/feed/memory-feed-store.js';
import type { FeedStore } from '../../../src/feed/feed-store.js';
import '../../helpers/http.js';

const signal = new AbortController().signal;
const feedFile = (name: string): Buffer =>
  readFileSync(new URL(`../../../demo/feeds/${name}`, import.meta.url));
const NYT = feedFile('feedreader__Rss20NYTimes.xml');
const VERGE = feedFile('feedreader__AtomTheVerge.xml');
const DARING = feedFile('rsparser__DaringFireball.json');
const MINUTE = 60_000;

let server: FeedServer | undefined;
let controllers: FetchController[] = [];
const stores: SqliteFeedStore[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(controllers.map((c) => c.stop({ signal, deadline: Date.now() + 5000 })));
  controllers = [];
  for (const store of stores.splice(0)) await store.stop({ signal, deadline: Date.now() + 5000 });
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  await server?.close();
  server = undefined;
});

/** A clock the test moves by hand. */
function clock(start = Date.parse('2026-11-30T12:00:00Z')): {
  now: () => number;
  advance: (ms: number) => void;
} {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

async function setup(
  feeds: readonly ServedFeed[],
  options: Partial<FetchControllerOptions> = {},
  latencyMs = 0,
): Promise<{
  store: FeedStore;
  controller: FetchController;
  server: FeedServer;
  ids: Map<string, number>;
}> {
  server = await FeedServer.start(feeds, { latencyMs });
  const store = options.store ?? new MemoryFeedStore();
  const ids = new Map<string, number>();
  for (const feed of feeds) {
    const existing = await store.getFeedByUrl(server.url(feed.name), { signal });
    ids.set(
      feed.name,
      (existing ?? (await store.addFeed({ url: server.url(feed.name) }, { signal }))).id,
    );
  }
  const controller = new FetchController({
    store,
    parseOn: 'main',
    minIntervalMs: 10 * MINUTE,
    maxIntervalMs: 20 * MINUTE,
    random: () => 0.5,
    ...options,
  });
  controllers.push(controller);
  return { store, controller, server, ids };
}

describe('FetchController: storing feeds', () => {
  it('fetches every due feed, stores its items, names the feed and schedules it between the intervals', async () => {
    const time = clock();
    const bus = new EventBus<FeedEvents>();
    const added = bus.subscribe(['items.added'], { buffer: 100 });
    const { store, controller, ids } = await setup(
      [
        { name: 'nyt', host: '127.0.0.2', body: NYT },
        { name: 'daring', host: '127.0.0.3', body: DARING, contentType: 'application/feed+json' },
      ],
      { bus, now: time.now },
    );
    const reports = await controller.fetchDue({ signal });
    expect(reports.map((r) => [r.outcome, r.added > 0])).toEqual([
      ['stored', true],
      ['stored', true],
    ]);
    const nyt = await store.getFeed(ids.get('nyt') ?? 0, { signal });
    expect(nyt).toMatchObject({
      status: 'ok',
      consecutiveFailures: 0,
      lastFetchedAt: time.now(),
      nextFetchAt: time.now() + 15 * MINUTE,
    });
    expect(nyt?.title).toMatch(/NYT|New York Times/i);
    expect(nyt?.etag).toMatch(/^"/);
    expect(await store.countItems({}, { signal })).toBe(reports[0]!.added + reports[1]!.added);
    bus.close();
    const events = [];
    for await (const event of added) events.push(event.payload.feedId);
    expect(events.sort()).toEqual([...ids.values()].sort());
  });

  it('asks again with the stored validators: a 304 stores nothing and no duplicate', async () => {
    const time = clock();
    const { store, controller, server } = await setup(
      [{ name: 'nyt', host: '127.0.0.2', body: NYT }],
      {
        now: time.now,
      },
    );
    await controller.fetchDue({ signal });
    const count = await store.countItems({}, { signal });
    time.advance(30 * MINUTE);
    const [second] = await controller.fetchDue({ signal });
    expect(second?.outcome).toBe('not-modified');
    expect(server.feedStats().get('nyt')).toMatchObject({ requests: 2, notModified: 1 });
    expect(await store.countItems({}, { signal })).toBe(count);
  });

  it('stores a new ETag even when the body did not change, and sends it next', async () => {
    const time = clock();
    const { store, controller, server, ids } = await setup(
      [{ name: 'v', host: '127.0.0.2', body: VERGE }],
      {
        now: time.now,
      },
    );
    await controller.fetchDue({ signal });
    server.setBody('v', VERGE, { etag: '"node-2"' });
    time.advance(30 * MINUTE);
    const [report] = await controller.fetchDue({ signal });
    expect(report).toMatchObject({ outcome: 'stored', added: 0, updated: 0 });
    expect((await store.getFeed(ids.get('v') ?? 0, { signal }))?.etag).toBe('"node-2"');
    time.advance(30 * MINUTE);
    expect((await controller.fetchDue({ signal }))[0]?.outcome).toBe('not-modified');
  });

  it('does not ask for a feed before its next-fetch time, even after a restart', async () => {
    const time = clock();
    const { store, controller, server } = await setup(
      [{ name: 'nyt', host: '127.0.0.2', body: NYT }],
      {
        now: time.now,
      },
    );
    await controller.fetchDue({ signal });
    time.advance(5 * MINUTE);
    const restarted = new FetchController({ store, parseOn: 'main', now: time.now });
    controllers.push(restarted);
    expect(await restarted.fetchDue({ signal })).toEqual([]);
    expect(server.feedStats().get('nyt')?.requests).toBe(1);
  });

  it('fetchIfDue fetches a due feed, and skips one fetched meanwhile without a request or a write', async () => {
    const time = clock();
    const { store, controller, server, ids } = await setup(
      [{ name: 'nyt', host: '127.0.0.2', body: NYT }],
      { now: time.now },
    );
    const id = ids.get('nyt') ?? 0;
    const first = await controller.fetchIfDue(id, { signal });
    expect(first).toMatchObject({ outcome: 'stored', nextFetchAt: time.now() + 15 * MINUTE });
    const stored = await store.getFeed(id, { signal });
    time.advance(5 * MINUTE);
    const again = await controller.fetchIfDue(id, { signal });
    expect(again).toMatchObject({
      outcome: 'skipped',
      added: 0,
      nextFetchAt: first.nextFetchAt,
      error: expect.stringMatching(/^not due until /) as unknown,
    });
    expect(await store.getFeed(id, { signal })).toEqual(stored);
    expect(server.feedStats().get('nyt')?.requests).toBe(1);
    time.advance(10 * MINUTE);
    expect((await controller.fetchIfDue(id, { signal })).outcome).toBe('not-modified');
    expect(server.feedStats().get('nyt')?.requests).toBe(2);
  });

  it('parses on a worker thread', async () => {
    const { controller } = await setup([{ name: 'nyt', host: '127.0.0.2', body: NYT }], {
      parseOn: 'worker',
      parseWorker: new URL('./fixtures/intake.worker.mjs', import.meta.url),
    });
    const [report] = await controller.fetchDue({ signal });
    expect(report).toMatchObject({ outcome: 'stored' });
    expect(controller.pool.snapshot().counts.succeeded).toBe(2);
  });
});

describe('FetchController: politeness', () => {
  it('keeps to perHost requests per host, while other hosts go on', async () => {
    const slow = { kind: 'slow', delayMs: 60_000 } as const;
    const feeds: ServedFeed[] = [
      ...['a', 'b', 'c', 'd', 'e'].map((n) => ({
        name: n,
        host: '127.0.0.2',
        body: NYT,
        behaviour: slow,
      })),
      { name: 'other', host: '127.0.0.3', body: NYT },
    ];
    const { controller, server } = await setup(feeds, {
      perHost: 2,
      fetchers: 6,
      timeoutMs: 120_000,
    });
    const stop = new AbortController();
    const due = controller.fetchDue({ signal: stop.signal }).catch((e: unknown) => e);
    await expect.poll(() => server.hostStats().get('127.0.0.2')?.open).toBe(2);
    // The busy host holds back only its own feeds.
    await expect.poll(() => controller.pool.snapshot().counts.succeeded).toBe(1);
    expect(server.feedStats().get('other')?.requests).toBe(1);
    expect(server.hostStats().get('127.0.0.2')).toMatchObject({ requests: 2, maxConcurrent: 2 });
    stop.abort();
    expect(isAbortError(await due)).toBe(true);
    await expect.poll(() => server.hostStats().get('127.0.0.2')?.open).toBe(0);
  });

  it('never fetches one feed twice at once: a refresh racing a scheduled fetch joins it', async () => {
    const { controller, server, ids } = await setup(
      [{ name: 'nyt', host: '127.0.0.2', body: NYT }],
      {},
      30,
    );
    const id = ids.get('nyt') ?? 0;
    const [due, manual] = await Promise.all([
      controller.fetchDue({ signal }),
      controller.refresh(id, { signal }),
    ]);
    expect(due[0]).toBe(manual);
    expect(server.feedStats().get('nyt')).toMatchObject({ requests: 1, maxConcurrent: 1 });
  });

  it('honours 429 Retry-After as the next-fetch time, and it is no failure', async () => {
    const time = clock();
    const { store, controller, server, ids } = await setup(
      [
        {
          name: 'r',
          host: '127.0.0.2',
          body: NYT,
          behaviour: { kind: 'rate-limited', retryAfterSeconds: 600, times: 1 },
        },
      ],
      { now: time.now },
    );
    const [report] = await controller.fetchDue({ signal });
    expect(report).toMatchObject({ outcome: 'retry-later', nextFetchAt: time.now() + 600_000 });
    expect(await store.getFeed(ids.get('r') ?? 0, { signal })).toMatchObject({
      consecutiveFailures: 0,
    });
    time.advance(599_000);
    expect(await controller.fetchDue({ signal })).toEqual([]);
    time.advance(1000);
    expect((await controller.fetchDue({ signal }))[0]?.outcome).toBe('stored');
    expect(server.feedStats().get('r')?.requests).toBe(2);
  });
});

describe('FetchController: moves and failures', () => {
  it('a 301 moves the stored URL; a 302 does not; a move onto another feed is not made', async () => {
    const { store, controller, server, ids } = await setup([
      { name: 'home', host: '127.0.0.2', body: NYT },
      { name: 'new-home', host: '127.0.0.2', body: VERGE },
      {
        name: 'perm',
        host: '127.0.0.2',
        body: '',
        behaviour: { kind: 'moved', status: 301, to: 'new-home' },
      },
      {
        name: 'temp',
        host: '127.0.0.2',
        body: '',
        behaviour: { kind: 'moved', status: 302, to: 'home' },
      },
      {
        name: 'onto',
        host: '127.0.0.2',
        body: '',
        behaviour: { kind: 'moved', status: 308, to: 'home' },
      },
    ]);
    await store.removeFeed(ids.get('new-home') ?? 0, { signal });
    const reports = await controller.fetchDue({ signal });
    expect(reports.map((r) => r.outcome)).toEqual(['stored', 'stored', 'stored', 'stored']);
    const urlOf = async (name: string): Promise<string | undefined> =>
      (await store.getFeed(ids.get(name) ?? 0, { signal }))?.url;
    expect(await urlOf('perm')).toBe(server.url('new-home'));
    expect(await urlOf('temp')).toBe(server.url('temp'));
    expect(await urlOf('onto')).toBe(server.url('onto'));
  });

  it('records a failure on the feed, and a bad feed never affects another', async () => {
    const { store, controller, ids } = await setup(
      [
        { name: 'ok', host: '127.0.0.2', body: NYT },
        {
          name: 'broken',
          host: '127.0.0.2',
          body: feedFile('rsparser__allthis-partial.json'),
          contentType: 'application/json',
        },
        { name: 'flaky', host: '127.0.0.3', body: NYT, behaviour: { kind: 'flaky', failures: 1 } },
        {
          name: 'slow',
          host: '127.0.0.4',
          body: NYT,
          behaviour: { kind: 'slow', delayMs: 60_000 },
        },
      ],
      { timeoutMs: 200 },
    );
    const reports = await controller.fetchDue({ signal });
    const byName = new Map(
      [...ids].map(([name, id]) => [name, reports.find((r) => r.feedId === id)]),
    );
    expect(byName.get('ok')?.outcome).toBe('stored');
    expect(byName.get('broken')).toMatchObject({
      outcome: 'failed',
      error: expect.stringMatching(/malformed/) as string,
    });
    expect(byName.get('flaky')).toMatchObject({
      outcome: 'failed',
      error: expect.stringMatching(/HTTP 500/) as string,
    });
    expect(byName.get('slow')).toMatchObject({
      outcome: 'failed',
      error: expect.stringMatching(/within 200 ms/) as string,
    });
    expect(await store.getFeed(ids.get('broken') ?? 0, { signal })).toMatchObject({
      status: 'failed',
      consecutiveFailures: 1,
      lastError: expect.stringMatching(/malformed/) as string,
    });
  });

  it('rejects a refresh of a feed that is not in the store, and an aborted one', async () => {
    const { controller, ids } = await setup([{ name: 'nyt', host: '127.0.0.2', body: NYT }]);
    await expect(controller.refresh(999, { signal })).rejects.toThrow(/no feed with id 999/);
    const error: unknown = await controller
      .refresh(ids.get('nyt') ?? 0, { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(isAbortError(error)).toBe(true);
  });
});

describe('FetchController: watch and stop', () => {
  it('watch fetches what is due, then sleeps until stopped', async () => {
    const { controller, server } = await setup([{ name: 'nyt', host: '127.0.0.2', body: NYT }]);
    const stop = new AbortController();
    const watching = controller.watch({ signal: stop.signal });
    await expect.poll(() => server.feedStats().get('nyt')?.requests).toBe(1);
    await expect.poll(() => controller.pool.snapshot().counts.succeeded).toBe(1);
    stop.abort();
    await watching;
  });

  it("a fetch whose job an operator cancels ends 'cancelled', not counted against its feed", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'workbus-fetch-'));
    dirs.push(dir);
    const store = await SqliteFeedStore.open(join(dir, 'feeds.db'), { signal });
    stores.push(store);
    const tracker = await FailureTracker.open(store.database, { signal });
    const { controller, server, ids } = await setup(
      [{ name: 's', host: '127.0.0.2', body: NYT, behaviour: { kind: 'slow', delayMs: 60_000 } }],
      { store, tracker },
    );
    const fetching = controller.fetchDue({ signal });
    await expect.poll(() => server.hostStats().get('127.0.0.2')?.open).toBe(1);
    const [job] = controller.pool.snapshot().running;
    expect(controller.pool.cancel(job?.id ?? '')).toBe(true);
    const [report] = await fetching;
    expect(report).toMatchObject({ outcome: 'cancelled', added: 0 });
    expect(await store.getFeed(ids.get('s') ?? 0, { signal })).toMatchObject({
      consecutiveFailures: 0,
      lastFetchedAt: null,
      status: null,
    });
    expect(tracker.list()).toEqual([]);
  });

  it('a fetch cut short by stop() is not counted against its feed', async () => {
    const { store, controller, server, ids } = await setup([
      { name: 's', host: '127.0.0.2', body: NYT, behaviour: { kind: 'slow', delayMs: 60_000 } },
    ]);
    const fetching = controller.refresh(ids.get('s') ?? 0, { signal }).catch((e: unknown) => e);
    await expect.poll(() => server.hostStats().get('127.0.0.2')?.open).toBe(1);
    await controller.stop({ signal, deadline: Date.now() });
    expect(await fetching).toBeInstanceOf(Error);
    expect(await store.getFeed(ids.get('s') ?? 0, { signal })).toMatchObject({
      consecutiveFailures: 0,
      lastFetchedAt: null,
      status: null,
    });
  });

  it('refuses bad options, naming them', () => {
    const store = new MemoryFeedStore();
    expect(() => new FetchController({ store, perHost: 0 })).toThrow(/perHost/);
    expect(() => new FetchController({ store, minIntervalMs: 10, maxIntervalMs: 5 })).toThrow(
      /at least minIntervalMs/,
    );
    expect(() => new FetchController({ store, parseOn: 'gpu' as never })).toThrow(/parseOn/);
    expect(() => new FetchController({ store, pollMs: 5 } as never)).toThrow(/pollMs/);
    expect(() => new FetchController({ store: {} as never })).toThrow(/FeedStore/);
  });
});

describe('FetchController: a page that is not a feed', () => {
  it('fails it naming the feeds the page advertises', async () => {
    const html = `<!doctype html><html><head><title>Blog</title>
<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body>hi</body></html>`;
    const { controller, server, ids } = await setup([
      { name: 'page', host: '127.0.0.2', body: html, contentType: 'text/html; charset=utf-8' },
    ]);
    const report = await controller.refresh(ids.get('page') ?? 0, { signal });
    const base = new URL(server.url('page'));
    expect(report).toMatchObject({
      outcome: 'failed',
      error: expect.stringContaining(`not-a-feed`) as string,
    });
    expect(report.error).toContain(`it advertises ${base.origin}/feed.xml`);
  });
});

describe('FetchController with a FailureTracker', () => {
  async function tracked(feeds: readonly ServedFeed[], time: { now: () => number }) {
    const dir = mkdtempSync(join(tmpdir(), 'workbus-fetch-'));
    dirs.push(dir);
    const store = await SqliteFeedStore.open(join(dir, 'feeds.db'), { signal, now: time.now });
    stores.push(store);
    const tracker = await FailureTracker.open(store.database, {
      signal,
      now: time.now,
      random: () => 1 - Number.EPSILON,
      baseMs: 60_000,
      permanentTtlMs: 24 * 60 * MINUTE,
    });
    return { tracker, ...(await setup(feeds, { store, tracker, now: time.now })) };
  }

  it('skips a feed that backs off, without a request, and asks again when its backoff ends', async () => {
    const time = clock();
    const { controller, server, store, ids } = await tracked(
      [{ name: 'f', host: '127.0.0.2', body: NYT, behaviour: { kind: 'flaky', failures: 1 } }],
      time,
    );
    const id = ids.get('f') ?? 0;
    expect((await controller.fetchDue({ signal }))[0]?.outcome).toBe('failed');
    // Due again by the store's schedule, but the tracker holds the key for its backoff.
    await store.updateFeed(id, { nextFetchAt: null }, { signal });
    expect((await controller.fetchDue({ signal }))[0]).toMatchObject({ outcome: 'skipped' });
    expect(server.feedStats().get('f')?.requests).toBe(1);
    time.advance(60_000);
    await store.updateFeed(id, { nextFetchAt: null }, { signal });
    expect((await controller.fetchDue({ signal }))[0]).toMatchObject({ outcome: 'stored' });
    expect(server.feedStats().get('f')?.requests).toBe(2);
  });

  it('410 fails a feed for good: skipped until a refresh by hand forgives it', async () => {
    const time = clock();
    const { controller, server, store, tracker, ids } = await tracked(
      [{ name: 'g', host: '127.0.0.2', body: NYT, behaviour: { kind: 'gone' } }],
      time,
    );
    const id = ids.get('g') ?? 0;
    const [gone] = await controller.fetchDue({ signal });
    expect(gone?.outcome).toBe('failed');
    expect(tracker.get(feedKey(id))).toMatchObject({ permanent: true });
    await store.updateFeed(id, { nextFetchAt: null }, { signal });
    const [skipped] = await controller.fetchDue({ signal });
    expect(skipped).toMatchObject({ outcome: 'skipped' });
    expect(server.feedStats().get('g')?.requests).toBe(1);
    const manual = await controller.refresh(id, { signal });
    expect(manual.outcome).toBe('failed');
    expect(server.feedStats().get('g')?.requests).toBe(2);
  });

  it('fetchIfDue forgives nothing: a feed failed for good stays skipped', async () => {
    const time = clock();
    const { controller, server, store, ids } = await tracked(
      [{ name: 'g', host: '127.0.0.2', body: NYT, behaviour: { kind: 'gone' } }],
      time,
    );
    const id = ids.get('g') ?? 0;
    expect((await controller.fetchIfDue(id, { signal })).outcome).toBe('failed');
    await store.updateFeed(id, { nextFetchAt: null }, { signal });
    expect(await controller.fetchIfDue(id, { signal })).toMatchObject({ outcome: 'skipped' });
    expect(server.feedStats().get('g')?.requests).toBe(1);
  });
});

describe('FetchController with a DedupIndex', () => {
  it('stores a story told by two feeds once, and keeps a feed fetched again', async () => {
    const atom = feedFile('rsparser__DaringFireball.atom');
    const json = feedFile('rsparser__DaringFireball.json');
    const time = clock();
    const { store, controller, server, ids } = await setup(
      [
        { name: 'atom', host: '127.0.0.2', body: atom },
        { name: 'json', host: '127.0.0.3', body: json, contentType: 'application/feed+json' },
      ],
      { dedup: new DedupIndex(), now: time.now, fetchers: 1 },
    );
    const reports = await controller.fetchDue({ signal });
    const byFeed = new Map(reports.map((r) => [r.feedId, r]));
    const first = byFeed.get(ids.get('atom') ?? 0);
    const second = byFeed.get(ids.get('json') ?? 0);
    expect(first).toMatchObject({ outcome: 'stored', duplicates: 0 });
    expect((first?.added ?? 0) + (second?.added ?? 0)).toBe(await store.countItems({}, { signal }));
    // The same site's two formats: the JSON feed's stories are (nearly all) the Atom feed's.
    expect(second?.duplicates).toBeGreaterThanOrEqual(40);
    expect(second?.added).toBeLessThanOrEqual(8);
    server.setBody('atom', atom, { etag: '"v2"' });
    time.advance(30 * MINUTE);
    const [again] = await controller.fetchDue({ signal });
    expect(again).toMatchObject({
      outcome: 'stored',
      duplicates: 0,
      added: 0,
      unchanged: first?.added,
    });
  });

  it('a feed that renames every item stores nothing twice, after a restart too (the index is warmed from the store)', async () => {
    const time = clock();
    const { store, controller, server } = await setup(
      [{ name: 'nyt', host: '127.0.0.2', body: NYT }],
      { dedup: new DedupIndex(), now: time.now },
    );
    const [first] = await controller.fetchDue({ signal });
    const stored = await store.countItems({}, { signal });
    expect(first).toMatchObject({ outcome: 'stored', added: stored });
    await controller.stop({ signal, deadline: Date.now() + 5000 });
    // New guids for every item, and one new story among them.
    let n = 0;
    const renamed = NYT.toString('utf8')
      .replace(/<guid[^>]*>[^<]*<\/guid>/g, () => `<guid isPermaLink="false">urn:nyt:${n++}</guid>`)
      .replace(
        '<item>',
        '<item><title>A story never told before</title><link>https://www.nytimes.com/new.html</link><description>Something else entirely happened today in a place nobody had heard of</description></item><item>',
      );
    server.setBody('nyt', Buffer.from(renamed), { etag: '"renamed"' });
    time.advance(30 * MINUTE);
    const restarted = new FetchController({
      store,
      parseOn: 'main',
      now: time.now,
      dedup: new DedupIndex(),
    });
    controllers.push(restarted);
    const [again] = await restarted.fetchDue({ signal });
    expect(again).toMatchObject({ outcome: 'stored', added: 1, duplicates: n });
    expect(await store.countItems({}, { signal })).toBe(stored + 1);
  });

  it('refuses a dedup that is not a DedupIndex', () => {
    expect(() => new FetchController({ store: new MemoryFeedStore(), dedup: {} as never })).toThrow(
      /dedup must be a DedupIndex/,
    );
  });
});
