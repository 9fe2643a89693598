/**
 * Feeds: one fetch cycle (`FetchController.fetchDue`) over the bundled corpus
 * (`demo/feeds`, served on loopback by the demo's `FeedServer`, with no latency and no
 * misbehaviour), into a fresh SQLite store each run, parsing on worker threads vs on the
 * main thread: feeds/s, items/s (items parsed: stored or dropped as duplicates) and the
 * event loop's longest stall during the cycle. Runs alternate the two modes, so both see
 * the same machine; medians are printed, with the worker figures as a ratio of the main
 * thread's. Printed, not asserted. `npx tsx bench/feed.ts`, or through `npm run bench`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { demoFeeds } from '../src/cli/demo-feeds.js';
import { FeedServer, type ServedFeed } from '../src/cli/feed-server.js';
import { DedupIndex } from '../src/feed/dedup/dedup-index.js';
import { FetchController } from '../src/feed/fetch/fetch-controller.js';
import { intakeOutcome, type IntakeInput } from '../src/feed/intake/intake.js';
import { SqliteFeedStore } from '../src/feed/sqlite-feed-store.js';
import { withLoopDelay } from './harness.js';

type Mode = 'worker' | 'main';

interface Cycle {
  readonly seconds: number;
  readonly feeds: number;
  readonly items: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** The thread's intake module from its TypeScript source (a worker loads only JavaScript). */
const PARSE_WORKER = new URL('./intake.worker.mjs', import.meta.url);
const PARSERS = 2;

/**
 * The corpus `copies` times over, each copy under names of its own (so a copy is a feed
 * of its own, on the same three hosts), served as published: no latency, no misbehaviour.
 */
function corpus(copies: number): ServedFeed[] {
  const feeds = demoFeeds().map(({ behaviour: _ignored, ...feed }) => feed);
  return Array.from({ length: copies }, (_, copy) =>
    feeds.map((feed) => ({ ...feed, name: `c${copy}-${feed.name}` })),
  ).flat();
}

/** One cycle over every feed the server serves, into a fresh store under `dir`. */
async function cycle(server: FeedServer, served: readonly ServedFeed[], mode: Mode, dir: string) {
  const signal = new AbortController().signal;
  const stop = { signal, deadline: Date.now() + 30_000 };
  const store = await SqliteFeedStore.open(join(dir, `${mode}-${Date.now()}.db`), { signal });
  const controller = new FetchController({
    store,
    dedup: new DedupIndex(),
    parseOn: mode,
    parsers: PARSERS,
    parseWorker: PARSE_WORKER,
  });
  try {
    for (const feed of served) await store.addFeed({ url: server.url(feed.name) }, { signal });
    // Thread start, module load and JIT are not what the cycle measures: parse the corpus
    // once where the cycle will (for workers: spread over the pool's threads).
    const inputs: IntakeInput[] = served.map((feed) => ({
      bytes: Buffer.from(feed.body),
      contentType: feed.contentType,
      url: server.url(feed.name),
    }));
    if (mode === 'worker') {
      await Promise.all(inputs.map((input) => controller.pool.run('parse', input, { signal })));
    } else {
      for (const input of inputs) intakeOutcome(input, { signal });
    }
    let reports: Awaited<ReturnType<FetchController['fetchDue']>> = [];
    const sample = await withLoopDelay(async () => {
      reports = await controller.fetchDue({ signal });
    });
    const items = reports.reduce((n, r) => n + r.added + r.updated + r.unchanged + r.duplicates, 0);
    return { ...sample, feeds: reports.length, items };
  } finally {
    await controller.stop(stop);
    await store.stop(stop);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Runs the benchmark and prints its table: `scale` sets the corpus copies and the runs. */
export async function benchFeed(scale: number): Promise<void> {
  const copies = Math.max(1, Math.round(4 * scale));
  const runs = Math.max(1, Math.min(5, Math.round(5 * scale)));
  const served = corpus(copies);
  const server = await FeedServer.start(served);
  const dir = mkdtempSync(join(tmpdir(), 'workbus-bench-feed-'));
  const cycles: Record<Mode, Cycle[]> = { worker: [], main: [] };
  try {
    for (let run = 0; run < runs; run++) {
      for (const mode of ['worker', 'main'] as const) {
        cycles[mode].push(await cycle(server, served, mode, dir));
      }
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const row = (mode: Mode) => {
    const all = cycles[mode];
    return {
      feedsPerSec: median(all.map((c) => c.feeds / c.seconds)),
      itemsPerSec: median(all.map((c) => c.items / c.seconds)),
      p99Ms: median(all.map((c) => c.p99Ms)),
      maxMs: median(all.map((c) => c.maxMs)),
      feeds: all[0]?.feeds ?? 0,
      items: all[0]?.items ?? 0,
    };
  };
  const rows = { worker: row('worker'), main: row('main') };
  console.log(
    `\nfeed: one fetch cycle over ${rows.worker.feeds} feeds (${copies}× demo/feeds, loopback, ${rows.worker.items} items), fresh SQLite store, median of ${runs}`,
  );
  const names: Record<Mode, string> = {
    worker: `parse on ${PARSERS} worker threads`,
    main: 'parse on the main thread',
  };
  const width = Math.max(...Object.values(names).map((n) => n.length));
  for (const mode of ['worker', 'main'] as const) {
    const r = rows[mode];
    console.log(
      `  ${names[mode].padEnd(width)}  ${r.feedsPerSec.toFixed(1).padStart(7)} feeds/s  ${Math.round(r.itemsPerSec).toLocaleString('en-US').padStart(7)} items/s  loop stall max ${r.maxMs.toFixed(1).padStart(6)} ms, p99 ${r.p99Ms.toFixed(1).padStart(6)} ms`,
    );
  }
  const ratio = (a: number, b: number): string => (a / b).toFixed(2);
  const { worker, main } = rows;
  console.log(
    `  worker vs main: ${ratio(worker.feedsPerSec, main.feedsPerSec)}× feeds/s, ${ratio(worker.itemsPerSec, main.itemsPerSec)}× items/s, ${ratio(worker.maxMs, main.maxMs)}× longest stall`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const scale = Number(process.env.BENCH_SCALE ?? '1');
  await benchFeed(scale);
}
