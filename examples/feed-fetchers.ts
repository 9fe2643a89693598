/**
 * The feed kit's fetchers across processes (`workbus/distributed` + `workbus/feed`): a
 * fetcher and a scheduler on one Redis and one SQLite file, in one process here (each
 * pool holds its own connections, as another process would). The README's "Scaling out"
 * feed code and the TSDoc examples of `src/distributed/feed-fetchers.ts` are copied from
 * here; `test/examples.test.ts` runs it against the tests' Redis.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DistributedPool,
  feedFetchHandlers,
  feedFetchTypes,
  scheduleFeedFetches,
  watchFeedFetches,
} from 'workbus/distributed';
import { FetchController, SqliteFeedStore } from 'workbus/feed';

const RSS = `<rss version="2.0"><channel><title>Example</title>
<item><guid>1</guid><title>First</title></item>
<item><guid>2</guid><title>Second</title></item>
</channel></rss>`;

export async function feedFetchers(
  url: string,
  name: string,
  log: (line: string) => void = console.log,
): Promise<void> {
  const server = createServer((_, response) => {
    response.writeHead(200, { 'content-type': 'application/rss+xml' }).end(RSS);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const feedUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feed.xml`;
  const directory = await mkdtemp(join(tmpdir(), 'workbus-fetchers-'));
  const { signal } = new AbortController();
  const store = await SqliteFeedStore.open(join(directory, 'feeds.db'), { signal });
  await store.addFeed({ url: feedUrl }, { signal });

  // Every process: the same store file ('shared' mode, the default) and the same types.
  const types = { ...feedFetchTypes({ concurrency: 4, perHost: 2 }) };
  // A fetcher process: its own FetchController over the shared store handles the jobs.
  const controller = new FetchController({ store, fetchers: 4, parseOn: 'main' });
  const fetcher = await DistributedPool.open({
    connection: url,
    name,
    types,
    handlers: { ...feedFetchHandlers(controller) },
  });
  // Any process: submits the due feeds, one job per feed (keyed `feed:<id>`).
  const scheduler = await DistributedPool.open({ connection: url, name, types });
  const jobs = await scheduleFeedFetches(scheduler, store, { signal });
  const reports = await Promise.all(jobs.map((job) => job.result));
  for (const report of reports) log(`${report.outcome}: ${report.added} items added`);

  // Run again at once: the feed is not due, so nothing is submitted.
  log(`due again: ${(await scheduleFeedFetches(scheduler, store, { signal })).length}`);
  // Or keep the feeds fetched until a signal aborts, from any number of processes.
  const stop = new AbortController();
  const watching = watchFeedFetches(scheduler, store, { signal: stop.signal });
  stop.abort();
  await watching;
  await scheduler.close();
  await fetcher.close();
  await controller.stop({ signal, deadline: Date.now() + 5000 });
  await store.stop({ signal, deadline: Date.now() + 5000 });
  await rm(directory, { recursive: true, force: true });
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
