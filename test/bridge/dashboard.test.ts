/**
 * The live dashboard in a real Chromium: the page script bundled as `npm run build` does,
 * served by `serveDashboard` over a real pool, bus, SQLite store and failure tracker, read
 * and clicked through playwright-core as a user would.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { bundlePage } from '../../src/bridge/dashboard/bundle.js';
import { serveDashboard, type DashboardServer } from '../../src/bridge/dashboard/server.js';
import { EventBus, waitForAbort, WorkPool, type TaskContext } from '../../src/index.js';
import { Database } from '../../src/store/database.js';
import { FailureTracker } from '../../src/store/failure-tracker.js';
import { FeedServer } from '../../src/cli/feed-server.js';
import { demoFeeds } from '../../src/cli/demo-feeds.js';
import { FetchController, type FeedEvents } from '../../src/feed/fetch/fetch-controller.js';
import { MemoryFeedStore } from '../../src/feed/memory-feed-store.js';
import { launchChromium } from '../helpers/browser.js';
import '../helpers/http.js';

/** Where the test's artefacts go (beside vitest's report; not committed). */
const REPORTS = fileURLToPath(new URL('../../.reports/', import.meta.url));

const signal = new AbortController().signal;
let dir: string;
let script: string;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'workbus-dashboard-'));
  script = join(dir, 'page.js');
  writeFileSync(script, await bundlePage());
  browser = await launchChromium();
  mkdirSync(REPORTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What a test runs against: a pool of three types, its bus, a store and a tracker. */
interface Host {
  readonly pool: WorkPool;
  readonly bus: EventBus<object>;
  readonly db: Database;
  readonly tracker: FailureTracker;
  readonly dashboard: DashboardServer;
  readonly page: Page;
}

let host: Host | undefined;
let dbCount = 0;

afterEach(async () => {
  if (host === undefined) return;
  const { page, dashboard, pool, db } = host;
  host = undefined;
  await page.close();
  await dashboard.close();
  await pool.close({ graceMs: 0 });
  await db.stop({ signal, deadline: Date.now() + 5000 });
});

async function start(readOnly = false): Promise<Host> {
  const db = await Database.open(join(dir, `store-${dbCount++}.db`), { signal });
  const tracker = await FailureTracker.open(db, { signal });
  const bus = new EventBus<object>();
  const pool = new WorkPool({
    concurrency: 8,
    bus,
    tracker,
    progressIntervalMs: 0,
    types: {
      fetch: { concurrency: 2 },
      parse: { concurrency: 2, rate: { limit: 1, intervalMs: 3_600_000 } },
      quick: { concurrency: 2 },
    },
  });
  const dashboard = await serveDashboard({
    pool,
    bus,
    tracker,
    store: db,
    readOnly,
    script,
    refreshMs: 100,
  });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(dashboard.url);
  await untilText(page, 'status', 'live');
  expect(errors).toEqual([]);
  host = { pool, bus, db, tracker, dashboard, page };
  return host;
}

/** A job that runs until it is cancelled, saying how far it got. */
function blocked(note: string) {
  return async ({ signal: jobSignal, progress }: TaskContext): Promise<void> => {
    progress(0.25, note);
    await waitForAbort(jobSignal);
  };
}

/** The text of each row of the table body `id`, cells joined with ' | '. */
function rowsOf(page: Page, id: string): Promise<string[]> {
  return page.$$eval(`#${id} tr`, (rows) =>
    (rows as unknown as PageNode[]).map((row) =>
      Array.from(row.children)
        .map((cell) => cell.textContent ?? '')
        .join(' | '),
    ),
  );
}

/**
 * The little of the page's DOM the waits below read. They run in the page, serialised
 * as source: this file's own imports must not appear in them.
 */
interface PageNode {
  readonly textContent: string | null;
  readonly children: ArrayLike<PageNode>;
}
declare const document: {
  getElementById(id: string): PageNode | null;
  querySelector(selector: string): PageNode | null;
};

/** Waits until the element `id`'s text contains `text` (or, with `absent`, does not). */
function untilText(page: Page, id: string, text: string, absent = false): Promise<unknown> {
  return page.waitForFunction(
    ([node, wanted, not]) =>
      (document.getElementById(node)?.textContent?.includes(wanted) ?? false) !== not,
    [id, text, absent] as const,
  );
}

/** Waits until the table `id` has a row containing `text`. */
function untilRow(page: Page, id: string, text: string): Promise<unknown> {
  return page.waitForFunction(
    ([table, wanted]) =>
      Array.from(document.getElementById(table)?.children ?? []).some(
        (row) => row.textContent?.includes(wanted) ?? false,
      ),
    [id, text] as const,
  );
}

describe('the dashboard page', () => {
  it("shows each type's running/limit, queue, rate hold and oldest wait, and running jobs with progress and attempt", async () => {
    const { pool, page } = await start();
    for (let i = 0; i < 3; i++) pool.submit('fetch', blocked(`feed ${i}`)).result.catch(() => {});
    for (let i = 0; i < 3; i++) pool.submit('parse', () => i).result.catch(() => {});
    await untilRow(page, 'types', 'held by rate');
    const types = await rowsOf(page, 'types');
    expect(types[0]).toMatch(/^fetch \| 2\/2 \| 1 \| {2}\| \d+(\.\d)? (ms|s) \| pause$/);
    expect(types[1]).toMatch(/^parse \| 0\/2 \| 2 \| held by rate \| \d+(\.\d)? (ms|s) \| pause$/);
    expect(types[2]).toBe('quick | 0/2 | 0 |  |  | pause');
    const running = await rowsOf(page, 'running');
    expect(running).toHaveLength(2);
    expect(running[0]).toMatch(/^job-\d+ \| fetch \| {2}\| .+ \| 25% feed 0 \| 1 \| cancel$/);
  });

  it('lists the first 50 of thousands queued, in dispatch order, and says how many there are', async () => {
    const { pool, page } = await start();
    for (let i = 0; i < 2; i++) pool.submit('fetch', blocked('busy')).result.catch(() => {});
    for (let i = 0; i < 3000; i++) pool.submit('fetch', blocked('low')).result.catch(() => {});
    const urgent = pool.submit('fetch', blocked('urgent'), { priority: 5 });
    urgent.result.catch(() => {});
    await untilText(page, 'queued-note', 'of 3001');
    const queued = await rowsOf(page, 'queued');
    expect(queued).toHaveLength(50);
    expect(queued[0]).toMatch(new RegExp(`^${urgent.id} \\| fetch \\| 5 \\|`));
    expect(queued[1]).toMatch(/^job-3 \| fetch \| 0 \|/);
  });

  it('shows what jobs say as text, never as markup', async () => {
    const { pool, page } = await start();
    const attack = `<img src=x onerror="document.title='owned'">`;
    pool.submit('fetch', blocked(attack)).result.catch(() => {});
    await untilRow(page, 'running', attack);
    expect(await page.title()).toBe('workbus dashboard');
    expect(await page.$$('#running img')).toEqual([]);
  });

  it('cancel ends a running job cancelled', async () => {
    const { pool, page } = await start();
    const job = pool.submit('fetch', blocked('to cancel'));
    const outcome = job.result.catch((error: unknown) => error);
    await untilRow(page, 'running', job.id);
    await page.click(`#running tr[data-job="${job.id}"] button[data-action="cancel"]`);
    expect(await outcome).toMatchObject({ name: 'AbortError' });
    expect(job.status).toBe('cancelled');
    await untilRow(page, 'finished', 'cancelled');
  });

  it('pause holds a type back and resume lets it go on', async () => {
    const { pool, page } = await start();
    await page.click('#types tr[data-type="quick"] button[data-action="pause"]');
    await untilRow(page, 'types', 'paused');
    expect(pool.snapshot().types['quick']?.paused).toBe(true);
    const job = pool.submit('quick', () => 'ran');
    await page.click('#types tr[data-type="quick"] button[data-action="resume"]');
    expect(await job.result).toBe('ran');
    expect(pool.snapshot().types['quick']?.paused).toBe(false);
  });

  it("lists the tracker's failures with when they may run again, and retry now forgives one", async () => {
    const { tracker, page } = await start();
    await tracker.recordFailure('feed:7', new Error('HTTP 500 from example.org'), { signal });
    await tracker.recordFailure('feed:9', new Error('410 Gone'), { signal, permanent: true });
    await untilRow(page, 'failures', 'feed:9');
    const failures = await rowsOf(page, 'failures');
    expect(failures).toEqual([
      expect.stringMatching(
        /^feed:7 \| 1 \| Error: HTTP 500 from example.org \| (next attempt in .+|due now) \| retry now$/,
      ),
      expect.stringMatching(
        /^feed:9 \| 1 \| Error: 410 Gone \| permanent until \d{4}-.+ \| retry now$/,
      ),
    ]);
    await page.click('#failures tr[data-key="feed:9"] button[data-action="retry"]');
    await untilText(page, 'failures', 'feed:9', true);
    expect(tracker.get('feed:9')).toBeUndefined();
    expect(tracker.get('feed:7')?.failures).toBe(1);
  });

  it('shows store health, bus subscribers with what they dropped, and throughput once jobs finish', async () => {
    const { pool, bus, db, page } = await start();
    const slow = bus.subscribe('*', { buffer: 2 });
    for (let i = 0; i < 10; i++) await pool.run('quick', () => i);
    await db.get('SELECT 1 AS one', [], { signal });
    await page.waitForFunction(
      () => document.querySelector('#throughput rect:not([height="0"])') !== null,
    );
    await untilRow(page, 'subscribers', 'drop-oldest');
    const subscribers = await rowsOf(page, 'subscribers');
    const [row] = subscribers;
    const [topics, buffered, whenFull, , dropped] = (row ?? '').split(' | ');
    expect([topics, buffered, whenFull]).toEqual(['*', '2/2', 'drop-oldest']);
    expect(Number(dropped)).toBeGreaterThan(0);
    expect(await page.textContent('#store')).toMatch(
      new RegExp(
        `^${db.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} · \\d+ calls · \\d+ pending · 0 failed`,
      ),
    );
    slow.close();
  });
});

describe('the read-only dashboard', () => {
  it('offers no action, and a command sent over its socket anyway is refused while the job runs on', async () => {
    const { pool, page } = await start(true);
    const job = pool.submit('fetch', blocked('watched'));
    job.result.catch(() => {});
    await untilRow(page, 'running', job.id);
    expect(await page.$$('button')).toEqual([]);
    expect(await page.textContent('h1')).toBe('workbus (read-only)');
    // Forge the client's frames from the page itself: hello, then a cancel.
    // A string, so the test's own imports are not rewritten into the page's code.
    const reply = await page.evaluate(`(async (id) => {
      const socket = new WebSocket(new URL('/bridge', location.href.replace('http', 'ws')));
      const frames = [];
      await new Promise((resolve) => socket.addEventListener('open', resolve));
      socket.addEventListener('message', (event) => frames.push(JSON.parse(String(event.data))));
      socket.send(JSON.stringify({ t: 'hello', id: 1, protocol: 1 }));
      socket.send(JSON.stringify({ t: 'cancel', id: 2, job: id }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      socket.close();
      return JSON.stringify(frames);
    })(${JSON.stringify(job.id)})`);
    expect(reply).toMatch(/"id":2,"ok":false,"error":\{"name":"ForbiddenError"/);
    expect(job.status).toBe('running');
  });
});

describe('the dashboard server', () => {
  it('answers only its own host name, and takes a WebSocket only from its own page', async () => {
    const { dashboard } = await start();
    // A DNS-rebinding page reaches the port under its own host name.
    const forged = await new Promise<number | undefined>((resolve, reject) => {
      request(dashboard.url, { headers: { host: 'evil.example:80' } }, (response) => {
        response.resume();
        resolve(response.statusCode);
      })
        .on('error', reject)
        .end();
    });
    expect(forged).toBe(403);
    const refused = await new Promise<string>((resolve) => {
      const socket = new WebSocket(`${dashboard.url.replace('http', 'ws')}bridge`, {
        origin: 'http://evil.example',
      });
      socket.on('unexpected-response', (_, response) => {
        resolve(String(response.statusCode));
        socket.terminate();
      });
      socket.on('open', () => {
        resolve('open');
        socket.close();
      });
      socket.on('error', (error) => resolve(error.message));
    });
    expect(refused).toBe('403');
  });

  it('refuses a host that is not loopback, and a missing page script names it', async () => {
    const pool = new WorkPool({ concurrency: 1, types: { a: { concurrency: 1 } } });
    await expect(serveDashboard({ pool, host: '0.0.0.0', script })).rejects.toThrow(
      /host must be a loopback address .* got 0\.0\.0\.0/,
    );
    await expect(serveDashboard({ pool, script: join(dir, 'missing.js') })).rejects.toThrow(
      /missing\.js cannot be read \(run `npm run build`\)/,
    );
    await expect(serveDashboard({ pool, scripts: script } as never)).rejects.toThrow(
      /did you mean 'script'/,
    );
    await pool.close();
  });
});

describe("the dashboard on the demo's pool", () => {
  it('shows the counts change while the demo fetches; a fetch cancelled from the page ends cancelled (screenshot saved)', async () => {
    // The demo's feeds and misbehaviours, with its slow feed slower still: it is the one
    // cancelled, so it must be running whenever the test clicks.
    const slow = 'rsparser__natasha.xml';
    const served = demoFeeds().map((feed) =>
      feed.name === slow
        ? { ...feed, behaviour: { kind: 'slow' as const, delayMs: 300_000 } }
        : feed,
    );
    const server = await FeedServer.start(served, { latencyMs: 30 });
    const store = new MemoryFeedStore();
    const ids = new Map<string, number>();
    for (const feed of served) {
      ids.set(feed.name, (await store.addFeed({ url: server.url(feed.name) }, { signal })).id);
    }
    const bus = new EventBus<FeedEvents>();
    const controller = new FetchController({
      store,
      bus,
      parseOn: 'main',
      fetchers: 3,
      perHost: 1,
      timeoutMs: 600_000,
    });
    const dashboard = await serveDashboard({ pool: controller.pool, bus, script, refreshMs: 100 });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.goto(dashboard.url);
      await untilText(page, 'status', 'live');
      const before = (await page.textContent('#summary')) ?? '';
      const fetching = controller.fetchDue({ signal });
      await page.waitForFunction((first) => {
        const now = document.getElementById('summary')?.textContent ?? '';
        return now !== first && /[1-9]\d* succeeded/.test(now);
      }, before);
      const key = `feed:${ids.get(slow)}`;
      await untilRow(page, 'running', key);
      await page.screenshot({ path: join(REPORTS, 'dashboard.png'), fullPage: true });
      const jobId = await page.getAttribute(`#running tr[data-key="${key}"]`, 'data-job');
      await page.click(`#running tr[data-key="${key}"] button[data-action="cancel"]`);
      const reports = await fetching;
      expect(reports.find((r) => r.feedId === ids.get(slow))?.outcome).toBe('cancelled');
      const finished = controller.pool.snapshot().history.find((job) => job.id === jobId);
      expect(finished?.status).toBe('cancelled');
      await untilRow(page, 'finished', 'cancelled');
    } finally {
      await page.close();
      await dashboard.close();
      await controller.stop({ signal, deadline: Date.now() + 5000 });
      await server.close();
    }
  });
});
