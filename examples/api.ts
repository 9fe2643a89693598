/**
 * The `@example` blocks of the API's TSDoc, runnable. Every `@example` in `src/` is
 * copied from this file (or another example the tests run), and `test/examples.test.ts`
 * checks that they still match and that this runs.
 */
import { fileURLToPath } from 'node:url';
import {
  Channel,
  EventBus,
  KeyedSemaphore,
  Lifecycle,
  WorkPool,
  sleep,
  type PoolEvents,
} from 'workbus';

interface FeedEvents {
  'feed.updated': { url: string; newItems: number };
}

/** A 404, which no retry can fix. */
class NotFound extends Error {
  override readonly name = 'NotFound';
}

export async function apiExamples(log: (line: string) => void = console.log): Promise<void> {
  const url = 'https://example.org/feed.xml';
  const controller = new AbortController();
  const { signal } = controller;

  // WorkPool
  const pool = new WorkPool({
    concurrency: 4,
    types: {
      fetch: { concurrency: 3, defaults: { timeoutMs: 5_000 } },
      embed: { concurrency: 1, rate: { limit: 5, intervalMs: 1000 } },
    },
  });
  const page = await pool.run('fetch', ({ signal }) => download(url, signal), { priority: 5 });

  // WorkPool.submit
  const job = pool.submit('fetch', ({ signal }) => download(url, signal), {
    key: url, // a second submit of this url joins this job
    retry: { attempts: 3, retryIf: (error) => !(error instanceof NotFound) },
  });
  job.cancel(); // or: await job.result

  // WorkPool.run
  const text = await pool.run('fetch', ({ signal }) => download(url, signal), { signal });
  log(`${page} ${text} ${job.status}`);

  // KeyedSemaphore
  const perHost = new KeyedSemaphore({ limit: 2, name: 'fetch.host' });
  const body = await perHost.run(new URL(url).hostname, () => download(url, signal), { signal });
  log(body);

  // EventBus.subscribe
  const bus = new EventBus<FeedEvents>();
  const updates = bus.subscribe(['feed.updated'], { buffer: 64, whenFull: 'drop-oldest' });
  bus.publish('feed.updated', { url, newItems: 2 });
  bus.close(); // the loop below drains what the subscription holds, then ends
  for await (const { payload } of updates) log(`${payload.url}: ${payload.newItems} new`);

  // Subscription.batches
  const feedBus = new EventBus<FeedEvents>();
  const batched = feedBus.subscribe('feed.updated', { buffer: 1024 });
  for (const newItems of [1, 2, 3]) feedBus.publish('feed.updated', { url, newItems });
  feedBus.close(); // the last batches hold what was buffered, then the loop ends
  for await (const batch of batched.batches()) {
    log(`${batch.length} updates: ${batch.map(({ payload }) => payload.newItems).join(',')}`);
  }

  // Channel.takeAll
  const inbox = new Channel<string>({ capacity: 16 });
  for (const item of ['a', 'b']) inbox.trySend(item);
  const taken = inbox.takeAll(); // everything buffered, without waiting
  log(`took ${taken.join(',')}; ${inbox.size} left`);

  // Lifecycle.add
  const app = new Lifecycle({ graceMs: 5_000 });
  const poolBus = new EventBus<PoolEvents>();
  app.add('bus', poolBus);
  app.add('pool', pool, { dependsOn: ['bus'] }); // stops before the bus it reports to
  await app.start();
  const report = await app.stop();
  log(report.components.map((c) => `${c.name}:${c.outcome}`).join(' '));
}

async function download(url: string, signal: AbortSignal): Promise<string> {
  await sleep(1, { signal });
  return `<rss from ${url}>`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await apiExamples();
