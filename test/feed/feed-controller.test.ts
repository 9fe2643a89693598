/**
 * FeedController, the UI's side: pages, counts and marks through the store, with what
 * changed told on the bus — while a FetchController writes into the same store.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/bus/event-bus.js';
import { FeedServer } from '../../src/cli/feed-server.js';
import { FeedController, type ReaderEvents } from '../../src/feed/feed-controller.js';
import type { Item } from '../../src/feed/feed-store.js';
import { FetchController } from '../../src/feed/fetch/fetch-controller.js';
import { MemoryFeedStore } from '../../src/feed/memory-feed-store.js';
import '../helpers/http.js';

const signal = new AbortController().signal;
const feedFile = (name: string): Buffer =>
  readFileSync(new URL(`../../demo/feeds/${name}`, import.meta.url));
const FEEDS = [
  'feedreader__Rss20NYTimes.xml',
  'feedreader__AtomTheVerge.xml',
  'rsparser__KatieFloyd.rss',
  'rsparser__monkeydom.rss',
];

let server: FeedServer | undefined;
let fetcher: FetchController | undefined;

afterEach(async () => {
  await fetcher?.stop({ signal, deadline: Date.now() + 5000 });
  await server?.close();
  fetcher = undefined;
  server = undefined;
});

async function reader(latencyMs = 0) {
  server = await FeedServer.start(
    FEEDS.map((file, i) => ({ name: file, host: `127.0.0.${2 + (i % 2)}`, body: feedFile(file) })),
    { latencyMs },
  );
  const store = new MemoryFeedStore();
  for (const file of FEEDS) await store.addFeed({ url: server.url(file) }, { signal });
  const bus = new EventBus<ReaderEvents>();
  fetcher = new FetchController({ store, bus, parseOn: 'main', perHost: 1 });
  return { store, bus, fetcher, ui: new FeedController({ store, bus }) };
}

/** Every item, page by page. */
async function everyItem(ui: FeedController, limit: number): Promise<Item[]> {
  const all: Item[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await ui.items({ limit, ...(cursor === undefined ? {} : { cursor }) }, { signal });
    all.push(...page.items);
    if (page.nextCursor === null) return all;
    cursor = page.nextCursor;
  }
}

describe('FeedController', () => {
  it('pages, counts and marks; a mark is told on the bus only when it changed something', async () => {
    const { fetcher, ui, bus } = await reader();
    await fetcher.fetchDue({ signal });
    const marks = bus.subscribe(['items.marked'], { buffer: 10 });
    const items = await everyItem(ui, 7);
    expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
    expect(await ui.counts({}, { signal })).toEqual({ unread: items.length, saved: 0 });
    const two = items.slice(0, 2).map((i) => i.id);
    expect(await ui.markRead(two, true, { signal })).toBe(2);
    expect(await ui.markRead(two, true, { signal })).toBe(0);
    expect(await ui.markSaved([two[0] ?? 0], true, { signal })).toBe(1);
    expect(await ui.counts({}, { signal })).toEqual({ unread: items.length - 2, saved: 1 });
    expect((await ui.items({ saved: true }, { signal })).items.map((i) => i.id)).toEqual([two[0]]);
    bus.close();
    const told = [];
    for await (const { payload } of marks) told.push(payload);
    expect(told).toEqual([
      { itemIds: two, mark: 'read', value: true },
      { itemIds: [two[0]], mark: 'saved', value: true },
    ]);
  });

  it('is safe to use while feeds are fetched: pages never repeat an item, marks stick, changes are told', async () => {
    const { fetcher, ui, bus } = await reader(20);
    const changes = ui.changes({ buffer: 1000 });
    const fetching = fetcher.fetchDue({ signal });
    let done = false;
    void fetching.then(() => (done = true));
    const marked = new Set<number>();
    while (!done) {
      const items = await everyItem(ui, 5);
      expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
      const first = items.find((i) => !i.read);
      if (first !== undefined && (await ui.markRead([first.id], true, { signal })) === 1)
        marked.add(first.id);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const reports = await fetching;
    const all = await everyItem(ui, 9);
    expect(all).toHaveLength(reports.reduce((sum, r) => sum + r.added, 0));
    expect(
      all
        .filter((i) => i.read)
        .map((i) => i.id)
        .sort(),
    ).toEqual([...marked].sort());
    bus.close();
    const topics = new Map<string, number>();
    for await (const { topic } of changes) topics.set(topic, (topics.get(topic) ?? 0) + 1);
    expect(topics.get('items.added')).toBe(FEEDS.length);
    expect(topics.get('feed.fetched')).toBe(FEEDS.length);
    expect(topics.get('items.marked') ?? 0).toBe(marked.size);
  });

  it('refuses a missing store or bus', () => {
    const store = new MemoryFeedStore();
    expect(() => new FeedController({ store } as never)).toThrow(/bus must be an EventBus/);
    expect(() => new FeedController({ bus: new EventBus() } as never)).toThrow(
      /store must be a FeedStore/,
    );
    expect(() => new FeedController({ store, bus: new EventBus(), ui: 1 } as never)).toThrow(/ui/);
  });
});
