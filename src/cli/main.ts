#!/usr/bin/env node
/**
 * `workbus-feeds`: the feed reader on workbus, as a command. Every command opens the
 * store, does its work, stops what it started in order, and exits 0; bad input ends
 * with one paragraph that names the problem and a non-zero exit, never a stack trace.
 */
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAbortError, sleep, waitForAbort } from '../abort.js';
import { serveDashboard, type DashboardServer } from '../bridge/dashboard/server.js';
import { EventBus } from '../bus/event-bus.js';
import {
  OpmlError,
  StoreCorruptError,
  StoreError,
  StoreLockedError,
  StoreSchemaError,
  WorkbusError,
} from '../errors.js';
import { DedupIndex } from '../feed/dedup/dedup-index.js';
import {
  FetchController,
  type FeedEvents,
  type FetchReport,
} from '../feed/fetch/fetch-controller.js';
import type { Feed } from '../feed/feed-store.js';
import { FailureTracker } from '../store/failure-tracker.js';
import { patternFilter, type FilterStage } from '../feed/intake/filter.js';
import { formatOpml, parseOpml } from '../feed/opml.js';
import { SqliteFeedStore } from '../feed/sqlite-feed-store.js';
import { writeFileAtomic } from '../fs/atomic-file.js';
import { parseCommand, USAGE, UsageError, type Command } from './args.js';
import { DEMO_TIMEOUT_MS, demoFeeds } from './demo-feeds.js';
import { FeedServer } from './feed-server.js';
import { Progress, reportLine, totalsOf, type Output, type Totals } from './progress.js';

/** The demo server's port on each of its hosts: fixed, so a second run finds the same feeds. */
const DEMO_PORT = 47821;
/** The demo asks a failed feed again only if its backoff ends within this. */
const AGAIN_WITHIN_MS = 10_000;
/** How long a stop may take before the second Ctrl-C is the only way out. */
const GRACE_MS = 5000;

/** The process's streams and signals, as `main` uses them (tests pass their own). */
export interface Io {
  readonly out: Output;
  readonly err: (text: string) => void;
  /** Aborts on the first Ctrl-C: stop gracefully. */
  readonly interrupt: AbortSignal;
}

/** Runs one command line; resolves with the exit code. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    const command = parseCommand(argv);
    return await run(command, io);
  } catch (error) {
    if (isAbortError(error) && io.interrupt.aborted) {
      io.err('workbus-feeds: interrupted; everything stored so far is kept.\n');
      return 130;
    }
    io.err(`workbus-feeds: ${explain(error)}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

/** An error in one paragraph, in the user's terms. */
export function explain(error: unknown): string {
  if (error instanceof UsageError) return `${error.message}. Run workbus-feeds --help for usage.`;
  if (error instanceof StoreCorruptError) {
    return `${error.path} is not a workbus-feeds database (not a SQLite file). Give another path with --db.`;
  }
  if (error instanceof StoreLockedError) {
    return `${error.path} is in use by another workbus-feeds (pid ${error.pid} on ${error.host}). Stop it, or give another --db.`;
  }
  if (error instanceof StoreSchemaError) {
    return `${error.path} was written by a newer or broken version (schema ${error.version}): ${error.message}`;
  }
  if (error instanceof StoreError) return `cannot use the database ${error.path}: ${error.message}`;
  if (error instanceof OpmlError) return `not an OPML file: ${error.message}`;
  if (error instanceof WorkbusError) return error.message;
  if (error instanceof Error && 'code' in error && 'path' in error) {
    return `cannot read ${String(error.path)}: ${String(error.code)} (${error.message})`;
  }
  return error instanceof Error ? error.message : String(error);
}

async function run(command: Command, io: Io): Promise<number> {
  const write = (text: string): void => io.out.write(text);
  const signal = io.interrupt;
  switch (command.name) {
    case 'help':
      write(USAGE);
      return 0;
    case 'version':
      write(`${await version()}\n`);
      return 0;
    case 'demo':
      return demo(command, io);
    default:
      break;
  }
  // One process owns the file while it runs (another gets a StoreLockedError naming it).
  const store = await SqliteFeedStore.open(command.db, { signal, mode: 'exclusive' });
  try {
    switch (command.name) {
      case 'import': {
        const document = parseOpml(await readFile(command.file, 'utf8'));
        let added = 0;
        for (const feed of document.feeds) {
          if ((await store.getFeedByUrl(feed.url, { signal })) !== undefined) continue;
          await store.addFeed(
            { url: feed.url, title: feed.title, siteUrl: feed.siteUrl },
            { signal },
          );
          added++;
        }
        write(`imported ${added} feed(s); ${document.feeds.length - added} already there\n`);
        for (const { outline, reason } of document.skipped)
          write(`skipped ${outline}: ${reason}\n`);
        return 0;
      }
      case 'export': {
        const feeds = await store.listFeeds({ signal });
        const opml = formatOpml(
          feeds.map((f) => ({
            url: f.url,
            title: f.title ?? undefined,
            siteUrl: f.siteUrl ?? undefined,
            category: undefined,
          })),
        );
        await writeFileAtomic(command.file, opml, { signal });
        write(`wrote ${feeds.length} feed(s) to ${command.file}\n`);
        return 0;
      }
      case 'feeds':
        for (const feed of await store.listFeeds({ signal })) write(`${feedLine(feed)}\n`);
        return 0;
      case 'list': {
        const page = await store.listItems(
          {
            unread: command.unread || undefined,
            saved: command.saved || undefined,
            feedId: command.feedId,
            limit: command.limit,
          },
          { signal },
        );
        for (const item of page.items) {
          const when =
            item.published === null
              ? '          '
              : new Date(item.published).toISOString().slice(0, 10);
          const marks = `${item.read ? ' ' : '•'}${item.saved ? '★' : ' '}`;
          write(
            `${String(item.id).padStart(6)} ${marks} ${when} ${item.title ?? item.link ?? item.guid}\n`,
          );
        }
        return 0;
      }
      case 'read': {
        const item = await store.getItem(command.itemId, { signal });
        if (item === undefined) throw new UsageError(`there is no item ${command.itemId}`);
        write(`${item.title ?? '(untitled)'}\n`);
        if (item.link !== null) write(`${item.link}\n`);
        if (item.published !== null) write(`${new Date(item.published).toISOString()}\n`);
        write(`\n${item.summary ?? ''}\n`);
        await store.setRead([item.id], true, { signal });
        return 0;
      }
      case 'refresh':
      case 'fetch':
        return await fetchCommand(command, store, io);
    }
  } finally {
    await store.stop({ signal: AbortSignal.timeout(GRACE_MS), deadline: Date.now() + GRACE_MS });
  }
}

async function fetchCommand(
  command: Extract<Command, { name: 'refresh' | 'fetch' }>,
  store: SqliteFeedStore,
  io: Io,
): Promise<number> {
  const signal = io.interrupt;
  const tracker = await FailureTracker.open(store.database, { signal });
  // Each fetch is told as it ends, so the progress counts feeds while the cycle runs.
  const bus = new EventBus<FeedEvents>();
  const controller = new FetchController({
    store,
    tracker,
    bus,
    dedup: new DedupIndex(),
    filters: filtersOf(command),
  });
  const dashboard =
    command.name === 'fetch' && command.dashboard !== undefined
      ? await dashboardFor(controller, bus, tracker, store, command.dashboard, command.readOnly, io)
      : undefined;
  try {
    const feeds = await store.listFeeds({ signal });
    const names = new Map(feeds.map((f) => [f.id, f.title ?? f.url]));
    if (command.name === 'refresh') {
      const feed = /^\d+$/.test(command.feed)
        ? feeds.find((f) => f.id === Number(command.feed))
        : feeds.find((f) => f.url === command.feed);
      if (feed === undefined)
        throw new UsageError(`there is no feed ${command.feed} (see workbus-feeds feeds)`);
      const report = await controller.refresh(feed.id, { signal });
      io.out.write(`${reportLine(report, names)}\n`);
      return report.outcome === 'failed' ? 1 : 0;
    }
    if (command.watch) {
      io.out.write(`watching ${feeds.length} feed(s); Ctrl-C stops\n`);
      await controller.watch({ signal });
      return 0;
    }
    const progress = new Progress(io.out, controller.pool, feeds.length, names);
    const unlisten = bus.on('feed.fetched', (report) => progress.add(report));
    const cycle = gracefully(controller, signal);
    try {
      await controller.fetchDue({ signal: cycle.signal });
    } finally {
      cycle.dispose();
      unlisten();
      progress.end();
    }
    io.out.write(summary(progress.totals));
    return 0;
  } finally {
    await dashboard?.close();
    await controller.stop({
      signal: AbortSignal.timeout(GRACE_MS),
      deadline: Date.now() + GRACE_MS,
    });
  }
}

/** Serves the live dashboard of `controller`'s pool and says where. */
async function dashboardFor(
  controller: FetchController,
  bus: EventBus<FeedEvents>,
  tracker: FailureTracker,
  store: SqliteFeedStore,
  port: number,
  readOnly: boolean,
  io: Io,
): Promise<DashboardServer> {
  const dashboard = await serveDashboard({
    pool: controller.pool,
    bus,
    tracker,
    store: store.database,
    port,
    readOnly,
  });
  io.out.write(`dashboard: ${dashboard.url}${readOnly ? ' (read-only)' : ''}\n`);
  return dashboard;
}

/**
 * A fetch cycle's signal for a graceful first Ctrl-C: once `interrupt` aborts, no fetch
 * starts any more (the pool's `fetch` type is paused, so feeds waiting for their host or
 * a slot stay queued), the fetches under way finish and store their items until the
 * grace ends, and then the cycle's signal aborts, giving up what is left (the next run
 * asks for it). Aborting at once instead would throw away requests already answered.
 */
function gracefully(
  controller: FetchController,
  interrupt: AbortSignal,
): { readonly signal: AbortSignal; dispose(): void } {
  const cycle = new AbortController();
  const stop = (): void => {
    controller.pool.pause('fetch');
    const deadline = Date.now() + GRACE_MS;
    void (async () => {
      // Polled: the pool tells when it is idle, not when one type has nothing running, and
      // the paused type's queue keeps it from idling.
      while (controller.pool.load('fetch').running > 0 && Date.now() < deadline) {
        await sleep(50, { signal: cycle.signal });
      }
      cycle.abort(interrupt.reason);
    })();
  };
  if (interrupt.aborted) stop();
  else interrupt.addEventListener('abort', stop, { once: true });
  return {
    signal: cycle.signal,
    dispose: () => interrupt.removeEventListener('abort', stop),
  };
}

/**
 * The demo: serves the bundled feeds on loopback, fetches them all into a SQLite file
 * (twice over the run's life: a feed that failed for a passing reason is asked again
 * once its back-off allows), shows progress, prints a summary. A second run of the demo
 * on the same file gets 304s and stores nothing twice.
 */
async function demo(command: Extract<Command, { name: 'demo' }>, io: Io): Promise<number> {
  const signal = io.interrupt;
  const served = demoFeeds();
  const server = await FeedServer.start(served, { latencyMs: 20, port: DEMO_PORT }).catch(() =>
    FeedServer.start(served, { latencyMs: 20 }),
  );
  const path = command.db ?? join(tmpdir(), 'workbus-feeds-demo.db');
  const store = await SqliteFeedStore.open(path, { signal, mode: 'exclusive' });
  const tracker = await FailureTracker.open(store.database, { signal, baseMs: 500 });
  const bus = new EventBus<FeedEvents>();
  const controller = new FetchController({
    tracker,
    bus,
    dedup: new DedupIndex(),
    store,
    filters: filtersOf(command),
    timeoutMs: DEMO_TIMEOUT_MS,
    minIntervalMs: 1000,
    maxIntervalMs: 2000,
  });
  const dashboard =
    command.dashboard === undefined
      ? undefined
      : await dashboardFor(controller, bus, tracker, store, command.dashboard, false, io);
  try {
    io.out.write(`serving ${served.length} feeds on 127.0.0.2-4:${DEMO_PORT}; database ${path}\n`);
    const names = new Map<number, string>();
    for (const feed of served) {
      const url = server.url(feed.name);
      const stored =
        (await store.getFeedByUrl(url, { signal })) ?? (await store.addFeed({ url }, { signal }));
      names.set(stored.id, feed.name);
    }
    const progress = new Progress(io.out, controller.pool, names.size, names);
    const last = new Map<number, FetchReport>();
    try {
      const first = await Promise.all(
        [...names.keys()].map(async (id) => {
          const report = await controller.refresh(id, { signal });
          progress.add(report);
          return report;
        }),
      );
      for (const report of first) last.set(report.feedId, report);
      // A feed in passing trouble is asked again once its backoff or Retry-After allows,
      // if that is soon; one failed for good (or backing off long) is left as it is.
      const again = first.filter(
        (r) =>
          (r.outcome === 'failed' || r.outcome === 'retry-later') &&
          r.nextFetchAt - Date.now() <= AGAIN_WITHIN_MS,
      );
      if (again.length > 0) {
        const later = Math.max(...again.map((r) => r.nextFetchAt)) - Date.now();
        if (!io.out.isTTY)
          io.out.write(`asking ${again.length} feed(s) again in ${Math.max(0, later)} ms\n`);
        await sleep(Math.max(0, later), { signal });
        for (const report of await Promise.all(
          again.map((r) => controller.refresh(r.feedId, { signal })),
        )) {
          last.set(report.feedId, report);
          if (report.outcome !== 'failed') progress.add(report);
        }
      }
    } finally {
      progress.end();
    }
    io.out.write('\n');
    for (const report of last.values()) io.out.write(`${reportLine(report, names)}\n`);
    io.out.write(summary(totalsOf(last.values())));
    io.out.write(`items in the store: ${await store.countItems({}, { signal })}\n`);
    if (dashboard !== undefined) {
      io.out.write(`the dashboard stays up at ${dashboard.url} until Ctrl-C\n`);
      await waitForAbort(signal).catch(() => undefined);
    }
    return 0;
  } finally {
    const stop = { signal: AbortSignal.timeout(GRACE_MS), deadline: Date.now() + GRACE_MS };
    await dashboard?.close();
    await controller.stop(stop);
    await store.stop(stop);
    await server.close();
  }
}

/** The filters `--exclude` asks for (`refresh` has none). */
function filtersOf(command: Command): FilterStage[] {
  if (!('exclude' in command) || command.exclude.length === 0) return [];
  return [patternFilter({ exclude: command.exclude })];
}

function summary(t: Totals): string {
  return `feeds: ${t.stored} stored, ${t.notModified} not modified, ${t.retryLater} asked to wait, ${t.skipped} skipped, ${t.failed} failed${t.cancelled > 0 ? `, ${t.cancelled} cancelled` : ''} · items: ${t.added} new, ${t.updated} updated, ${t.filtered} filtered out · duplicates dropped: ${t.duplicates}\n`;
}

function feedLine(feed: Feed): string {
  const at = (ms: number | null): string =>
    ms === null ? '-' : new Date(ms).toISOString().slice(0, 16);
  return [
    String(feed.id).padStart(4),
    (feed.status ?? 'new').padEnd(12),
    `failures ${feed.consecutiveFailures}`,
    `last ${at(feed.lastFetchedAt)}`,
    `next ${at(feed.nextFetchAt)}`,
    `etag ${feed.etag ?? '-'}`,
    feed.title ?? feed.url,
  ].join('  ');
}

async function version(): Promise<string> {
  const pkg = JSON.parse(
    await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return pkg.version;
}

/** The process's own streams; the first Ctrl-C stops gracefully, the second exits at once. */
function processIo(): Io {
  const interrupt = new AbortController();
  process.on('SIGINT', () => {
    if (interrupt.signal.aborted) {
      // Exiting ends the store's thread mid-transaction at worst: SQLite rolls that
      // transaction back on the next open, so nothing half-written is ever read.
      process.stderr.write(
        'workbus-feeds: forced to stop; fetches under way are dropped, and the next run asks for them again.\n',
      );
      process.exit(130);
    }
    process.stderr.write(
      `\nstopping: fetches under way finish within ${GRACE_MS / 1000} s (Ctrl-C again to force)…\n`,
    );
    interrupt.abort();
  });
  return {
    out: { write: (text) => process.stdout.write(text), isTTY: process.stdout.isTTY },
    err: (text) => process.stderr.write(text),
    interrupt: interrupt.signal,
  };
}

// Run as a program (directly, or through npm's bin link), not when imported.
if (
  process.argv[1] !== undefined &&
  fileURLToPath(import.meta.url) === realpathSync(process.argv[1])
) {
  process.exitCode = await main(process.argv.slice(2), processIo());
}
