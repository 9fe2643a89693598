/**
 * Every file of the shared feed fixtures served over loopback HTTP from eight hosts and
 * fetched by one FetchController into a real SQLite store, parsing on worker threads:
 * each feed stores its items or records a clear failure, no feed affects another, the
 * per-host and per-feed limits hold, and a second pass (after a restart too) asks
 * nothing before its time and stores nothing twice.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedServer, type ServedFeed } from '../../../src/cli/feed-server.js';
import type { FeedId } from '../../../src/feed/feed-store.js';
import { FetchController, type FetchReport } from '../../../src/feed/fetch/fetch-controller.js';
import { intakeOutcome } from '../../../src/feed/intake/intake.js';
import { SqliteFeedStore } from '../../../src/feed/sqlite-feed-store.js';
import { FailureTracker } from '../../../src/store/failure-tracker.js';
import { fixture, FIXTURES } from '../intake/helpers.js';
import '../../helpers/http.js';

const signal = new AbortController().signal;
const HOSTS = 8;
const PER_HOST = 2;
const CONTENT_TYPE = 'application/xml';
const HOUR = 3_600_000;

const files = readdirSync(FIXTURES)
  .filter((name) => !/^(MANIFEST\.tsv|README\.md|NOTICE\.md)$/.test(name))
  .sort();
const served: ServedFeed[] = files.map((name, i) => ({
  name,
  host: `127.0.0.${2 + (i % HOSTS)}`,
  body: fixture(name),
  contentType: CONTENT_TYPE,
}));

let dir: string;
let server: FeedServer;
let store: SqliteFeedStore;
let tracker: FailureTracker;
let t = Date.parse('2026-11-30T12:00:00Z');
const now = (): number => t;
const controllers: FetchController[] = [];
/** Each file's report of the first pass. */
const reports = new Map<string, FetchReport>();
const ids = new Map<string, FeedId>();
/** The tracker's failure count of each file after the first pass. */
const firstFailures = new Map<string, number>();
/** A restart half an hour later (nothing due), then another when every feed is due again. */
let secondPass: {
  early: readonly FetchReport[];
  late: readonly FetchReport[];
  requestsBefore: number;
  requestsAsked: number;
  itemsBefore: number;
  itemsAfter: number;
};

function controller(): FetchController {
  const c = new FetchController({
    store,
    tracker,
    now,
    perHost: PER_HOST,
    parseWorker: new URL('./fixtures/intake.worker.mjs', import.meta.url),
    fetchers: 8,
    minIntervalMs: HOUR,
    maxIntervalMs: 2 * HOUR,
  });
  controllers.push(c);
  return c;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'workbus-corpus-'));
  server = await FeedServer.start(served, { latencyMs: 2 });
  store = await SqliteFeedStore.open(join(dir, 'feeds.db'), { signal, now });
  tracker = await FailureTracker.open(store.database, { signal, now });
  for (const { name } of served) {
    ids.set(name, (await store.addFeed({ url: server.url(name) }, { signal })).id);
  }
  const byId = new Map([...ids].map(([name, id]) => [id, name]));
  for (const report of await controller().fetchDue({ signal })) {
    reports.set(byId.get(report.feedId) ?? '?', report);
  }
  for (const [name, id] of ids) firstFailures.set(name, tracker.get(`feed:${id}`)?.failures ?? 0);
  // The second pass runs here too: its HTTP keep-alive sockets and timers outlive any one test.
  const requests = (): number =>
    [...server.feedStats().values()].reduce((sum, s) => sum + s.requests, 0);
  const itemsBefore = await store.countItems({}, { signal });
  const requestsBefore = requests();
  t += HOUR / 2;
  const early = await controller().fetchDue({ signal });
  const requestsAsked = requests();
  t += 2 * HOUR;
  const late = await controller().fetchDue({ signal });
  const itemsAfter = await store.countItems({}, { signal });
  secondPass = { early, late, requestsBefore, requestsAsked, itemsBefore, itemsAfter };
}, 120_000);

afterAll(async () => {
  for (const c of controllers) await c.stop({ signal, deadline: Date.now() + 5000 });
  await store?.stop({ signal, deadline: Date.now() + 5000 });
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the fixture corpus over loopback HTTP', () => {
  it('fetches every feed once, each ending as the pipeline in this thread ends it', () => {
    expect(reports.size).toBe(files.length);
    const mismatches: string[] = [];
    for (const name of files) {
      const report = reports.get(name);
      const expected = intakeOutcome({
        bytes: fixture(name),
        contentType: CONTENT_TYPE,
        url: server.url(name),
      });
      const got =
        report?.outcome === 'stored'
          ? `stored ${report.added}`
          : `${report?.outcome}: ${report?.error ?? ''}`;
      const want = expected.ok
        ? `stored ${expected.result.document.items.length}`
        : `failed: ${server.url(name)}: ${expected.failure.kind}: ${expected.failure.message}`;
      if (!got.startsWith(want)) mismatches.push(`${name}: got "${got}", want "${want}"`);
    }
    expect(mismatches).toEqual([]);
  });

  it('stores what the reports say, and records each failure on its feed with its kind and message', async () => {
    const added = [...reports.values()].reduce((sum, r) => sum + (r.added ?? 0), 0);
    expect(await store.countItems({}, { signal })).toBe(added);
    const failed = [...reports].filter(([, r]) => r.outcome === 'failed');
    for (const [name, report] of reports) {
      if (report.outcome !== 'failed') expect(firstFailures.get(name), name).toBe(0);
    }
    expect(failed.length).toBeGreaterThan(0);
    for (const [name, report] of failed) {
      const feed = await store.getFeed(ids.get(name) ?? 0, { signal });
      expect(feed?.lastError, name).toBe(report.error);
      expect(feed?.lastError, name).toMatch(/: (malformed|empty|not-a-feed|too-large|encoding): /);
      expect(firstFailures.get(name), name).toBe(1);
    }
  });

  it('kept to the per-host limit, and never fetched one feed twice at once', () => {
    const hosts = [...server.hostStats().values()];
    expect(hosts).toHaveLength(HOSTS);
    for (const host of hosts) expect(host.maxConcurrent).toBeLessThanOrEqual(PER_HOST);
    // The limit was reached: the test would pass vacuously against one-at-a-time fetching.
    expect(Math.max(...hosts.map((h) => h.maxConcurrent))).toBe(PER_HOST);
    for (const stats of server.feedStats().values()) expect(stats.maxConcurrent).toBe(1);
  });

  it('a restarted controller asks nothing before its time, then gets 304s and stores nothing twice', () => {
    expect(secondPass.early.map((r) => `${r.url} ${r.outcome} ${r.error}`)).toEqual([]);
    expect(secondPass.requestsBefore).toBe(secondPass.requestsAsked);
    const stored = [...reports].filter(([, r]) => r.outcome === 'stored').map(([name]) => name);
    expect(secondPass.late.filter((r) => r.outcome === 'not-modified')).toHaveLength(stored.length);
    for (const name of stored) expect(server.feedStats().get(name)?.notModified, name).toBe(1);
    expect(secondPass.itemsAfter).toBe(secondPass.itemsBefore);
  });
});
