/**
 * The README's API tour, runnable. Every code block in README.md is copied from this
 * file, and `test/examples.test.ts` checks that they still match and that this runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Channel,
  Database,
  EventBus,
  KeyedMutex,
  Lifecycle,
  Mutex,
  LinkedSignal,
  NonRetryableError,
  RingBuffer,
  RWLock,
  Semaphore,
  SingleFlight,
  TimeoutError,
  WorkPool,
  isAbortError,
  lockdep,
  sleep,
  type PoolEvents,
} from 'workbus';

export async function tour(log: (line: string) => void = console.log): Promise<void> {
  // --- semaphore
  const network = new Semaphore(3, { name: 'network' });
  const controller = new AbortController();
  const page = await network.run(() => fetchPage('https://example.org/feed.xml'), {
    signal: controller.signal,
  });
  {
    using permit = await network.acquire(2); // weighted; released when the block ends
    log(`holding ${permit.weight} of ${network.capacity}, ${network.available} free`);
  }
  // --- end

  // --- rwlock
  const index = new RWLock({ name: 'dedup-index' });
  const hits = await index.runRead(() => lookup(page));
  await index.runWrite(() => insert(page));
  // --- end

  // --- keyed
  const perFeed = new KeyedMutex<string>({ name: 'feed' });
  await perFeed.run('https://example.org/feed.xml', () => refresh(page));
  log(`keyed locks alive after use: ${perFeed.size}`); // 0: entries are freed when idle

  const flights = new SingleFlight<string, string>();
  const [a, b] = await Promise.all([
    flights.run('feed-1', (signal) => download('feed-1', signal)),
    flights.run('feed-1', (signal) => download('feed-1', signal)), // joins the first call
  ]);
  // --- end

  // --- channel
  const events = new Channel<string>({ capacity: 2, whenFull: 'drop-oldest' });
  for (const event of ['a', 'b', 'c']) events.trySend(event); // never waits
  events.close(); // buffered values still drain
  const received: string[] = [];
  for await (const event of events) received.push(event);
  log(`received ${received.join(',')}; stats ${JSON.stringify(events.stats)}`);
  // received b,c; stats {"sent":3,"received":2,"dropped":1,"buffered":0,"highWater":2}
  // --- end

  // --- cancel
  using deadline = new LinkedSignal(controller.signal, { timeoutMs: 50 });
  try {
    await sleep(1_000, { signal: deadline.signal });
  } catch (error) {
    log(
      `timed out: ${String(error instanceof TimeoutError)}, abort: ${String(isAbortError(error))}`,
    );
  }
  // --- end

  // --- bus
  interface AppEvents {
    'feed.updated': { url: string; newItems: number };
    'app.notice': string;
  }
  const bus = new EventBus<AppEvents>({
    onError: (error) => log(`listener failed: ${String(error)}`),
  });
  const stopLogging = bus.on('app.notice', (text) => log(`notice: ${text}`)); // synchronous
  const updates = bus.subscribe(['feed.updated'], { buffer: 64, whenFull: 'drop-oldest' });
  bus.publish('feed.updated', { url: 'https://example.org/feed.xml', newItems: 3 }); // never waits
  bus.publish('app.notice', 'refreshed');
  bus.close(); // subscriptions drain what they hold, then their loops end
  for await (const { topic, payload, seq } of updates)
    log(`${seq} ${topic}: ${payload.newItems} new`);
  log(`updates ended: ${updates.closedReason ?? 'open'}`); // bus-closed
  stopLogging();
  // --- end

  // --- pool
  const pool = new WorkPool({
    concurrency: 4,
    types: {
      fetch: { concurrency: 3 },
      embed: { concurrency: 1, rate: { limit: 5, intervalMs: 1000 } }, // a singleton model server
    },
    queue: { capacity: 1_000, whenFull: 'reject' },
  });
  const feed = pool.submit('fetch', ({ signal }) => download('feed-2', signal), {
    priority: 5,
    key: 'https://example.org/feed.xml', // a second submit with this key joins this job
    timeoutMs: 5_000,
    retry: { attempts: 3, baseMs: 200 },
  });
  const vector = await pool.run('embed', ({ progress }) => {
    progress(0.5, 'tokenised');
    return [0.1, 0.2];
  }); // run() waits for queue room, then for the result
  log(`${await feed.result}, ${vector.length} dims, ${JSON.stringify(pool.snapshot().counts)}`);
  // feed-2#2, 2 dims, {"queued":0,"running":0,"retrying":0,"succeeded":2,"failed":0,"cancelled":0,"skipped":0}
  log(`closed: ${JSON.stringify(await pool.close({ graceMs: 1_000 }))}`);
  // closed: {"completed":0,"cancelled":0,"abandoned":[]}
  // --- end

  // --- pool-controls
  const crawler = new WorkPool({
    concurrency: 2,
    types: {
      fetch: {
        concurrency: 2,
        defaults: { timeoutMs: 5_000, retry: { attempts: 3, retryIf: (e) => !is404(e) } },
      },
    },
  });
  crawler.pause('fetch'); // queued jobs wait; running ones go on
  const mine = crawler.submit('fetch', () => 'page', { key: 'https://example.org/a' });
  const theirs = crawler.submit('fetch', () => 'page', { key: 'https://example.org/a' }); // joins
  theirs.cancel(); // only this caller stops waiting: the job goes on for `mine`
  log(`${JSON.stringify(crawler.load('fetch'))}, ${crawler.size} queued`);
  // {"running":0,"queued":1,"limit":2,"paused":true,"heldByRate":false}, 1 queued
  crawler.setConcurrency('fetch', 4);
  crawler.resume('fetch');
  const left = await theirs.result.catch((error: unknown) => isAbortError(error));
  log(`${await mine.result}; the caller who left got an abort: ${String(left)}`);
  // page; the caller who left got an abort: true
  const gone = crawler.submit('fetch', () => {
    throw new NonRetryableError('404 Not Found'); // fails at once, whatever retry allows
  });
  log(`${await gone.result.catch(String)} after ${gone.view().attempt} attempt`);
  // NonRetryableError: 404 Not Found after 1 attempt
  await crawler.close();
  // --- end

  // --- lifecycle
  const app = new Lifecycle({ graceMs: 5_000 });
  const appBus = new EventBus<PoolEvents>();
  const workers = new WorkPool({
    concurrency: 2,
    types: { fetch: { concurrency: 2 } },
    bus: appBus,
  });
  const producer = { stop: () => log('producer: no more submits') };
  app.add('bus', appBus);
  app.add('pool', workers, { dependsOn: ['bus'] }); // stops before the bus it reports to
  app.add('producer', producer, { dependsOn: ['pool'] }); // stops before the pool it feeds
  await app.start();
  const stopReport = await app.stop(); // also on SIGINT/SIGTERM with app.handleSignals()
  log(stopReport.components.map((c) => `${c.name}:${c.outcome}`).join(' '));
  // producer:stopped pool:stopped bus:stopped
  // --- end

  // --- lockdep
  lockdep.enable(); // or WORKBUS_LOCKDEP=1
  const feedLock = new Mutex({ name: 'feed' });
  const storeLock = new Mutex({ name: 'store' });
  await feedLock.run(() => storeLock.run(() => {})); // records the order feed → store
  try {
    await storeLock.run(() => feedLock.run(() => {})); // never deadlocked here, still refused
  } catch (error) {
    log(String(error)); // LockOrderError: Lock order cycle: store -> feed -> store
  }
  lockdep.disable();
  lockdep.reset();
  // --- end

  // --- store
  const file = join(mkdtempSync(join(tmpdir(), 'workbus-tour-')), 'feeds.db');
  const never = new AbortController().signal; // every store call requires a signal
  const db = await Database.open(file, {
    migrations: [{ version: 1, up: 'CREATE TABLE item (guid TEXT PRIMARY KEY, title TEXT)' }],
    signal: never,
  });
  const fresh = [
    ['a', 'First'],
    ['b', 'Second'],
  ];
  await db.batch('INSERT INTO item VALUES (?, ?)', fresh, { signal: never }); // one transaction
  await db.transaction(
    [
      { sql: 'UPDATE item SET title = ? WHERE guid = ?', params: ['First!', 'a'] },
      { sql: 'DELETE FROM item WHERE guid = ?', params: ['b'] },
    ],
    { signal: never },
  ); // all or nothing
  log(JSON.stringify(await db.all('SELECT * FROM item', [], { signal: never })));
  // [{"guid":"a","title":"First!"}]
  await db.stop({ signal: never, deadline: Date.now() + 5_000 }); // or app.add('store', db)
  // --- end
  rmSync(dirname(file), { recursive: true, force: true });

  // --- history
  const recent = new RingBuffer<string>(2);
  recent.push('job-1');
  const before = recent.toArray();
  recent.push('job-2');
  recent.push('job-3'); // evicts job-1
  log(`${JSON.stringify(before)} then ${JSON.stringify(recent.toArray())}`); // ["job-1"] then ["job-2","job-3"]
  // --- end

  log(`tour done: ${hits} hits, ${a === b ? 'one shared download' : 'two downloads'}`);
}

async function fetchPage(url: string): Promise<string> {
  await sleep(1);
  return `<rss from ${url}>`;
}
function lookup(page: string): number {
  return page.length;
}
function insert(_page: string): void {}
function refresh(_page: string): void {}
let downloads = 0;
async function download(key: string, signal: AbortSignal): Promise<string> {
  await sleep(1, { signal });
  return `${key}#${++downloads}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await tour();
}

function is404(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('404');
}
