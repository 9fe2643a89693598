/**
 * The FeedStore contract, as one suite run against every implementation
 * (`sqlite-feed-store.test.ts`, `memory-feed-store.test.ts`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isAbortError } from '../../src/abort.js';
import { ClosedError, DuplicateFeedError, NotFoundError } from '../../src/errors.js';
import type {
  Embedding,
  Feed,
  FeedStore,
  Item,
  ItemInput,
  ItemQuery,
} from '../../src/feed/feed-store.js';

/** A signal that never aborts, for calls a test does not cancel. */
export const signal = new AbortController().signal;

/** Opens an empty store whose clock is `now`. */
export type OpenStore = (now: () => number) => Promise<FeedStore>;

/** A clock that moves 1 s per reading, from a fixed start: every run reads the same times. */
export function fakeClock(start = Date.UTC(2026, 0, 1)): () => number {
  let t = start;
  return () => (t += 1000);
}

export const stopContext = { signal, deadline: Date.now() + 60_000 };

/** Everything a store holds, read through its API: what "nothing changed" compares. */
export async function dump(store: FeedStore, models: readonly string[] = ['m']): Promise<unknown> {
  const feeds = await store.listFeeds({ signal });
  const items: Item[] = [];
  let cursor: string | undefined;
  for (;;) {
    const query: ItemQuery = cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor };
    const page = await store.listItems(query, { signal });
    items.push(...page.items);
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  const embeddings: Embedding[] = [];
  for (const model of models)
    embeddings.push(...(await store.getEmbeddings({ model }, { signal })));
  return {
    feeds,
    items,
    embeddings: embeddings.map((e) => ({ ...e, vector: [...e.vector] })),
  };
}

const day = (n: number): number => Date.UTC(2026, 0, n);

function items(...guids: string[]): ItemInput[] {
  return guids.map((guid, i) => ({ guid, title: `title ${guid}`, published: day(i + 1) }));
}

export function feedStoreContract(name: string, openStore: OpenStore): void {
  describe(`${name}: the FeedStore contract`, () => {
    const open: FeedStore[] = [];
    afterEach(async () => {
      for (const store of open.splice(0)) await store.stop(stopContext);
    });
    async function fresh(now = fakeClock()): Promise<FeedStore> {
      const store = await openStore(now);
      open.push(store);
      return store;
    }

    describe('feeds', () => {
      it('adds a feed with an empty fetch state, ids from 1, found by id and by URL', async () => {
        const store = await fresh();
        const feed = await store.addFeed(
          { url: 'https://example.org/a.xml', title: 'A' },
          { signal },
        );
        expect(feed).toEqual({
          id: 1,
          url: 'https://example.org/a.xml',
          title: 'A',
          siteUrl: null,
          etag: null,
          lastModified: null,
          lastFetchedAt: null,
          nextFetchAt: null,
          status: null,
          consecutiveFailures: 0,
          lastError: null,
          addedAt: Date.UTC(2026, 0, 1) + 1000,
        });
        expect(Object.isFrozen(feed)).toBe(true);
        const b = await store.addFeed({ url: 'https://example.org/b.xml' }, { signal });
        expect(b.id).toBe(2);
        expect(await store.getFeed(1, { signal })).toEqual(feed);
        expect(await store.getFeedByUrl('https://example.org/b.xml', { signal })).toEqual(b);
        expect(await store.getFeed(3, { signal })).toBeUndefined();
        expect(await store.getFeedByUrl('https://example.org/c.xml', { signal })).toBeUndefined();
        expect(await store.listFeeds({ signal })).toEqual([feed, b]);
      });

      it('refuses a second feed with the same URL, and the refusal takes no id', async () => {
        const store = await fresh();
        await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        const error = await store
          .addFeed({ url: 'https://example.org/a.xml' }, { signal })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DuplicateFeedError);
        expect((error as DuplicateFeedError).code).toBe('DUPLICATE_FEED');
        expect((error as DuplicateFeedError).url).toBe('https://example.org/a.xml');
        const next = await store.addFeed({ url: 'https://example.org/b.xml' }, { signal });
        expect(next.id).toBe(2);
      });

      it('updates the fetch state field by field; null clears; the ETag is kept byte for byte', async () => {
        const store = await fresh();
        const feed = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        const etag = 'W/"5e-\u00e9\u00a0 \t\u{1F600}"';
        const fetched = await store.updateFeed(
          feed.id,
          {
            etag,
            lastModified: 'Wed, 21 Oct 2015 07:28:00 GMT',
            lastFetchedAt: day(2),
            nextFetchAt: day(2) + 3_600_000,
            status: 'ok',
            consecutiveFailures: 0,
            title: 'A',
            siteUrl: 'https://example.org/',
          },
          { signal },
        );
        expect(fetched).toMatchObject({ etag, status: 'ok', nextFetchAt: day(2) + 3_600_000 });
        const failed = await store.updateFeed(
          feed.id,
          { status: 'http-500', consecutiveFailures: 1, lastError: 'HTTP 500', etag: null },
          { signal },
        );
        expect(failed).toEqual({
          ...fetched,
          status: 'http-500',
          consecutiveFailures: 1,
          lastError: 'HTTP 500',
          etag: null,
        });
        expect(await store.getFeed(feed.id, { signal })).toEqual(failed);
        expect(await store.updateFeed(feed.id, {}, { signal })).toEqual(failed);
      });

      it('moves a feed to a new URL (a permanent redirect), unless another feed has it', async () => {
        const store = await fresh();
        const a = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        await store.addFeed({ url: 'https://example.org/b.xml' }, { signal });
        const moved = await store.updateFeed(
          a.id,
          { url: 'https://example.com/a.xml' },
          { signal },
        );
        expect(moved.url).toBe('https://example.com/a.xml');
        expect(await store.getFeedByUrl('https://example.org/a.xml', { signal })).toBeUndefined();
        expect((await store.getFeedByUrl('https://example.com/a.xml', { signal }))?.id).toBe(a.id);
        const before = await dump(store);
        await expect(
          store.updateFeed(a.id, { url: 'https://example.org/b.xml', title: 'x' }, { signal }),
        ).rejects.toBeInstanceOf(DuplicateFeedError);
        expect(await dump(store)).toEqual(before);
      });

      it('updateFeed of a feed that is not there is a NotFoundError; bad patches are refused', async () => {
        const store = await fresh();
        const error = await store
          .updateFeed(9, { status: 'ok' }, { signal })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(NotFoundError);
        expect(error).toMatchObject({ code: 'NOT_FOUND', entity: 'feed', id: 9 });
        const feed = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        const bad: unknown[] = [
          { etg: 'x' },
          { consecutiveFailures: -1 },
          { consecutiveFailures: 1.5 },
          { lastFetchedAt: 'yesterday' },
          { url: '' },
          { url: null },
          { status: 404 },
          null,
        ];
        for (const patch of bad) {
          await expect(
            store.updateFeed(feed.id, patch as never, { signal }),
            JSON.stringify(patch),
          ).rejects.toThrow(/updateFeed patch/);
        }
        await expect(store.updateFeed(feed.id, { etg: 'x' } as never, { signal })).rejects.toThrow(
          "did you mean 'etag'?",
        );
      });

      it('removes a feed with its items and their embeddings; ids are never reused', async () => {
        const store = await fresh();
        const a = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        const b = await store.addFeed({ url: 'https://example.org/b.xml' }, { signal });
        const { addedItems } = await store.replaceItems(a.id, items('1', '2'), { signal });
        await store.replaceItems(b.id, items('3'), { signal });
        const [first] = addedItems;
        await store.saveEmbeddings(
          [{ itemId: first?.id ?? 0, model: 'm', vector: new Float32Array([1, 2]) }],
          { signal },
        );
        expect(await store.removeFeed(a.id, { signal })).toBe(true);
        expect(await store.removeFeed(a.id, { signal })).toBe(false);
        expect(await store.getFeed(a.id, { signal })).toBeUndefined();
        expect(await store.countItems({}, { signal })).toBe(1);
        expect(await store.getEmbeddings({ model: 'm' }, { signal })).toEqual([]);
        const c = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        expect(c.id).toBe(3);
        const again = await store.replaceItems(c.id, items('1'), { signal });
        expect(again.addedItems[0]?.id).toBe(4);
      });
    });

    describe('replaceItems', () => {
      it('adds every item of a new feed, in the order given, with ids from 1', async () => {
        const store = await fresh();
        const feed = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        const result = await store.replaceItems(
          feed.id,
          [
            {
              guid: 'a',
              link: 'https://example.org/a',
              title: 'A',
              summary: 'plain',
              content: '<p>A</p>',
              author: 'Ann',
              published: day(1),
            },
            { guid: 'b' },
          ],
          { signal },
        );
        expect(result).toMatchObject({ added: 2, updated: 0, removed: 0, unchanged: 0 });
        expect(result.updatedItems).toEqual([]);
        expect(result.removedIds).toEqual([]);
        const [a, b] = result.addedItems;
        expect(a).toEqual({
          id: 1,
          feedId: feed.id,
          guid: 'a',
          link: 'https://example.org/a',
          title: 'A',
          summary: 'plain',
          content: '<p>A</p>',
          author: 'Ann',
          published: day(1),
          contentHash: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
          addedAt: Date.UTC(2026, 0, 1) + 2000,
          read: false,
          saved: false,
        });
        expect(b).toMatchObject({ id: 2, guid: 'b', title: null, published: null });
        expect(
          Object.isFrozen(result) && Object.isFrozen(result.addedItems) && Object.isFrozen(a),
        ).toBe(true);
        expect(await store.getItem(1, { signal })).toEqual(a);
      });

      it('adds new, updates changed in place, leaves unchanged untouched, removes gone', async () => {
        const store = await fresh();
        const feed = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        const first = await store.replaceItems(feed.id, items('keep', 'edit', 'drop'), { signal });
        const [keep, edit, drop] = first.addedItems as [Item, Item, Item];
        await store.setRead([keep.id, edit.id], true, { signal });
        await store.setSaved([edit.id], true, { signal });
        await store.saveEmbeddings(
          [
            { itemId: keep.id, model: 'm', vector: new Float32Array([1]) },
            { itemId: edit.id, model: 'm', vector: new Float32Array([2]) },
          ],
          { signal },
        );
        const second = await store.replaceItems(
          feed.id,
          [
            { guid: 'new', title: 'new', published: day(9) },
            { guid: 'edit', title: 'edited', published: day(2) },
            { guid: 'keep', title: 'title keep', published: day(1) },
          ],
          { signal },
        );
        expect(second).toMatchObject({ added: 1, updated: 1, removed: 1, unchanged: 1 });
        expect(second.removedIds).toEqual([drop.id]);
        expect(second.addedItems).toEqual([
          expect.objectContaining({ id: 4, guid: 'new', read: false, saved: false }),
        ]);
        const edited = { ...edit, title: 'edited', read: true, saved: true };
        expect(second.updatedItems).toEqual([
          { ...edited, contentHash: expect.not.stringMatching(edit.contentHash) as unknown },
        ]);
        expect(await store.getItem(keep.id, { signal })).toEqual({ ...keep, read: true });
        expect(await store.getItem(edit.id, { signal })).toEqual(second.updatedItems[0]);
        expect(await store.getItem(drop.id, { signal })).toBeUndefined();
        // The edited item's embedding described its old content; the unchanged one's stays.
        expect(
          (await store.getEmbeddings({ model: 'm' }, { signal })).map((e) => e.itemId),
        ).toEqual([keep.id]);
        const third = await store.replaceItems(
          feed.id,
          [
            { guid: 'new', title: 'new', published: day(9) },
            { guid: 'edit', title: 'edited', published: day(2) },
            { guid: 'keep', title: 'title keep', published: day(1) },
          ],
          { signal },
        );
        expect(third).toMatchObject({ added: 0, updated: 0, removed: 0, unchanged: 3 });
      });

      it('touches only its own feed; the same guid in two feeds is two items', async () => {
        const store = await fresh();
        const a = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        const b = await store.addFeed({ url: 'https://example.org/b.xml' }, { signal });
        await store.replaceItems(a.id, items('x', 'y'), { signal });
        await store.replaceItems(b.id, items('x'), { signal });
        const emptied = await store.replaceItems(a.id, [], { signal });
        expect(emptied).toMatchObject({ removed: 2, removedIds: [1, 2] });
        expect(await store.countItems({ feedId: b.id }, { signal })).toBe(1);
      });

      it('refuses bad input before changing anything', async () => {
        const store = await fresh();
        const feed = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        await store.replaceItems(feed.id, items('a'), { signal });
        const before = await dump(store);
        const cases: [unknown, RegExp][] = [
          [
            [{ guid: 'x' }, { guid: 'y' }, { guid: 'x' }],
            /items\[2\]\.guid "x" repeats items\[0\]\.guid/,
          ],
          [[{ title: 'no guid' }], /items\[0\]\.guid must be a non-empty string/],
          [[{ guid: '' }], /items\[0\]\.guid/],
          [[{ guid: 'x', published: 1.5 }], /items\[0\]\.published must be an integer/],
          [[{ guid: 'x', published: '2026-01-01' }], /items\[0\]\.published/],
          [[{ guid: 'x', title: 7 }], /items\[0\]\.title must be a string or null/],
          [[{ guid: 'x', tilte: 'a' }], /unknown option 'tilte'; did you mean 'title'/],
          [[null], /items\[0\] must be an object/],
          ['not a list', /replaceItems items must be an array/],
        ];
        for (const [input, message] of cases) {
          await expect(
            store.replaceItems(feed.id, input as never, { signal }),
            JSON.stringify(input),
          ).rejects.toThrow(message);
        }
        await expect(store.replaceItems(0, [], { signal })).rejects.toThrow(
          /replaceItems feedId must be a positive integer, got 0/,
        );
        const missing = await store
          .replaceItems(99, items('a'), { signal })
          .catch((e: unknown) => e);
        expect(missing).toMatchObject({ code: 'NOT_FOUND', entity: 'feed', id: 99 });
        await expect(store.saveItems(99, [], { signal })).rejects.toBeInstanceOf(NotFoundError);
        expect(await dump(store)).toEqual(before);
      });

      it('handles 10,000 items in one call, and a second call finds them unchanged', async () => {
        const store = await fresh();
        const feed = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        const many = Array.from({ length: 10_000 }, (_, i) => ({
          guid: `g${i}`,
          title: `item ${i}`,
          content: 'x'.repeat(200),
          published: day(1) + i,
        }));
        const first = await store.replaceItems(feed.id, many, { signal });
        expect(first.added).toBe(10_000);
        expect(first.addedItems.at(-1)?.id).toBe(10_000);
        const changed = many.map((item, i) =>
          i % 10 === 0 ? { ...item, title: 'changed' } : item,
        );
        const second = await store.replaceItems(feed.id, changed.slice(0, 9_000), { signal });
        expect(second).toMatchObject({ added: 0, updated: 900, removed: 1_000, unchanged: 8_100 });
        expect(await store.countItems({ feedId: feed.id }, { signal })).toBe(9_000);
      });
    });

    describe('saveItems', () => {
      it('adds and updates like replaceItems but removes nothing', async () => {
        const store = await fresh();
        const feed = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        await store.saveItems(feed.id, items('a', 'b'), { signal });
        const result = await store.saveItems(
          feed.id,
          [
            { guid: 'b', title: 'changed', published: day(2) },
            { guid: 'c', title: 'new' },
          ],
          { signal },
        );
        expect(result).toMatchObject({
          added: 1,
          updated: 1,
          removed: 0,
          unchanged: 0,
          removedIds: [],
        });
        expect(await store.countItems({ feedId: feed.id }, { signal })).toBe(3);
      });
    });

    describe('listItems', () => {
      async function withItems(): Promise<{ store: FeedStore; all: Item[] }> {
        const store = await fresh();
        const a = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        const b = await store.addFeed({ url: 'https://example.org/b.xml' }, { signal });
        // Same dates in both feeds (ties broken by id), and undated items (listed by addedAt).
        await store.replaceItems(
          a.id,
          [
            { guid: '1', published: day(3) },
            { guid: '2', published: day(1) },
            { guid: '3' },
            { guid: '4', published: day(3) },
          ],
          { signal },
        );
        await store.replaceItems(
          b.id,
          [
            { guid: '5', published: day(3) },
            { guid: '6', published: Date.UTC(2030, 0, 1) },
            { guid: '7', published: Date.UTC(1969, 0, 1) },
          ],
          { signal },
        );
        const all = (await store.listItems({ limit: 1000 }, { signal })).items as Item[];
        return { store, all };
      }

      it('lists newest first: by published (or addedAt when undated), then by id, descending', async () => {
        const { all } = await withItems();
        // Item 3 has no date: it is listed by its addedAt, 2026-01-01 00:00:04.
        expect(all.map((item) => item.guid)).toEqual(['6', '5', '4', '1', '3', '2', '7']);
      });

      it('pages through everything, each item once, and the last page says so', async () => {
        const { store, all } = await withItems();
        for (const limit of [1, 2, 3, 7, 8]) {
          const seen: Item[] = [];
          let cursor: string | undefined;
          let pages = 0;
          for (;;) {
            const query: ItemQuery = cursor === undefined ? { limit } : { limit, cursor };
            const page = await store.listItems(query, { signal });
            pages++;
            seen.push(...page.items);
            if (page.nextCursor === null) break;
            expect(page.items).toHaveLength(limit);
            cursor = page.nextCursor;
          }
          expect(seen, `limit ${limit}`).toEqual(all);
          expect(pages).toBe(Math.max(1, Math.ceil(all.length / limit)));
        }
      });

      it('keeps its place when items are added and removed between pages', async () => {
        const { store, all } = await withItems();
        const first = await store.listItems({ limit: 3 }, { signal });
        // A newer item and an older one arrive; one not yet listed goes.
        const [b, a] = [all[0]?.feedId ?? 0, all[2]?.feedId ?? 0];
        await store.saveItems(
          b,
          [
            { guid: 'newest', published: Date.UTC(2031, 0, 1) },
            { guid: 'oldest', published: Date.UTC(1960, 0, 1) },
          ],
          { signal },
        );
        await store.replaceItems(
          a,
          [{ guid: '2', published: day(1) }, { guid: '3' }, { guid: '4', published: day(3) }],
          { signal },
        );
        const rest: Item[] = [];
        let cursor = first.nextCursor;
        while (cursor !== null) {
          const page = await store.listItems({ limit: 3, cursor }, { signal });
          rest.push(...page.items);
          cursor = page.nextCursor;
        }
        expect([...first.items, ...rest].map((item) => item.guid)).toEqual([
          ...all.map((item) => item.guid).filter((guid) => guid !== '1'),
          'oldest',
        ]);
      });

      it('filters by feed, unread and saved, and counts the same way', async () => {
        const { store, all } = await withItems();
        const [i6, i5, i4] = all as [Item, Item, Item];
        expect(await store.setRead([i6.id, i5.id, 999], true, { signal })).toBe(2);
        expect(await store.setRead([i6.id], true, { signal })).toBe(0);
        expect(await store.setSaved([i5.id, i4.id, i4.id], true, { signal })).toBe(2);
        const list = async (query: ItemQuery): Promise<string[]> =>
          (await store.listItems({ ...query, limit: 100 }, { signal })).items.map((i) => i.guid);
        expect(await list({ unread: true })).toEqual(['4', '1', '3', '2', '7']);
        expect(await list({ unread: false })).toEqual(['6', '5']);
        expect(await list({ saved: true })).toEqual(['5', '4']);
        expect(await list({ saved: false, unread: true })).toEqual(['1', '3', '2', '7']);
        expect(await list({ feedId: i6.feedId })).toEqual(['6', '5', '7']);
        expect(await list({ feedId: i6.feedId, unread: true })).toEqual(['7']);
        expect(await list({ feedId: 99 })).toEqual([]);
        expect(await store.countItems({}, { signal })).toBe(7);
        expect(await store.countItems({ unread: true }, { signal })).toBe(5);
        expect(await store.countItems({ saved: true, feedId: i6.feedId }, { signal })).toBe(1);
        expect(await store.setRead([i6.id], false, { signal })).toBe(1);
        expect((await store.getItem(i6.id, { signal }))?.read).toBe(false);
      });

      it('refuses a cursor it did not hand out, and bad queries', async () => {
        const { store } = await withItems();
        const page = await store.listItems({ limit: 2 }, { signal });
        const cursor = page.nextCursor ?? '';
        for (const bad of [
          '',
          'nonsense',
          `${cursor}x`,
          cursor.slice(1),
          Buffer.from('c1.5.0').toString('base64url'),
        ]) {
          await expect(store.listItems({ cursor: bad }, { signal }), bad).rejects.toThrow(
            RangeError,
          );
        }
        await expect(store.listItems({ cursor: 5 as never }, { signal })).rejects.toThrow(
          TypeError,
        );
        await expect(store.listItems({ limit: 0 }, { signal })).rejects.toThrow(
          /limit must be an integer from 1 to 1000, got 0/,
        );
        await expect(store.listItems({ limit: 1001 }, { signal })).rejects.toThrow(RangeError);
        await expect(store.listItems({ unread: 'yes' } as never, { signal })).rejects.toThrow(
          /unread must be true or false/,
        );
        await expect(store.listItems({ feed: 1 } as never, { signal })).rejects.toThrow(
          /did you mean 'feedId'/,
        );
        await expect(store.setRead([0], true, { signal })).rejects.toThrow(/itemIds\[0\]/);
      });
    });

    describe('embeddings', () => {
      it('stores, replaces and returns copies, by item id', async () => {
        const store = await fresh();
        const feed = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        const { addedItems } = await store.replaceItems(feed.id, items('a', 'b', 'c'), { signal });
        const [a, b, c] = addedItems.map((item) => item.id) as [number, number, number];
        const vector = new Float32Array([0.5, -1.25, 3e-8]);
        await store.saveEmbeddings(
          [
            { itemId: c, model: 'm', vector },
            { itemId: a, model: 'm', vector: new Float32Array([1, 2, 3]) },
            { itemId: a, model: 'other', vector: new Float32Array([9]) },
          ],
          { signal },
        );
        vector[0] = 42;
        const got = await store.getEmbeddings({ model: 'm' }, { signal });
        expect(got.map((e) => [e.itemId, e.model, [...e.vector]])).toEqual([
          [a, 'm', [1, 2, 3]],
          [c, 'm', [0.5, -1.25, new Float32Array([3e-8])[0]]],
        ]);
        expect(got[0]?.vector).toBeInstanceOf(Float32Array);
        (got[0] as Embedding).vector[0] = 7;
        expect([
          ...((await store.getEmbeddings({ model: 'm', itemIds: [a] }, { signal }))[0]?.vector ??
            []),
        ]).toEqual([1, 2, 3]);
        await store.saveEmbeddings([{ itemId: a, model: 'm', vector: new Float32Array([4]) }], {
          signal,
        });
        const some = await store.getEmbeddings({ model: 'm', itemIds: [b, a, a, 99] }, { signal });
        expect(some.map((e) => [e.itemId, [...e.vector]])).toEqual([[a, [4]]]);
        expect(await store.getEmbeddings({ model: 'none' }, { signal })).toEqual([]);
      });

      it('refuses an item that is not there, or one (item, model) twice, storing nothing', async () => {
        const store = await fresh();
        const feed = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        await store.replaceItems(feed.id, items('a'), { signal });
        const before = await dump(store);
        const missing = await store
          .saveEmbeddings(
            [
              { itemId: 1, model: 'm', vector: new Float32Array([1]) },
              { itemId: 77, model: 'm', vector: new Float32Array([1]) },
            ],
            { signal },
          )
          .catch((e: unknown) => e);
        expect(missing).toMatchObject({ code: 'NOT_FOUND', entity: 'item', id: 77 });
        await expect(
          store.saveEmbeddings(
            [
              { itemId: 1, model: 'm', vector: new Float32Array([1]) },
              { itemId: 1, model: 'm', vector: new Float32Array([2]) },
            ],
            { signal },
          ),
        ).rejects.toThrow(/embeddings\[1\] repeats item 1 under model "m"/);
        await expect(
          store.saveEmbeddings([{ itemId: 1, model: 'm', vector: [1] as never }], { signal }),
        ).rejects.toThrow(/vector must be a non-empty Float32Array/);
        await expect(
          store.saveEmbeddings([{ itemId: 1, model: '', vector: new Float32Array([1]) }], {
            signal,
          }),
        ).rejects.toThrow(/model must be a non-empty string/);
        expect(await dump(store)).toEqual(before);
      });
    });

    describe('cancellation and stop', () => {
      /** Every method, called with `options`, on a store holding feed 1 with items 1 and 2. */
      function calls(options: {
        signal: AbortSignal;
      }): [string, (store: FeedStore) => Promise<unknown>][] {
        return [
          ['addFeed', (s) => s.addFeed({ url: 'https://example.org/new.xml' }, options)],
          ['getFeed', (s) => s.getFeed(1, options)],
          ['getFeedByUrl', (s) => s.getFeedByUrl('https://example.org/a.xml', options)],
          ['listFeeds', (s) => s.listFeeds(options)],
          ['updateFeed', (s) => s.updateFeed(1, { status: 'ok', etag: 'x' }, options)],
          ['removeFeed', (s) => s.removeFeed(1, options)],
          ['replaceItems', (s) => s.replaceItems(1, items('x', '1'), options)],
          ['saveItems', (s) => s.saveItems(1, items('y'), options)],
          ['getItem', (s) => s.getItem(1, options)],
          ['listItems', (s) => s.listItems({}, options)],
          ['countItems', (s) => s.countItems({}, options)],
          ['setRead', (s) => s.setRead([1, 2], true, options)],
          ['setSaved', (s) => s.setSaved([1], true, options)],
          [
            'saveEmbeddings',
            (s) =>
              s.saveEmbeddings([{ itemId: 2, model: 'm', vector: new Float32Array([5]) }], options),
          ],
          ['getEmbeddings', (s) => s.getEmbeddings({ model: 'm' }, options)],
        ];
      }

      async function seeded(): Promise<FeedStore> {
        const store = await fresh();
        await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
        await store.replaceItems(1, items('1', '2'), { signal });
        await store.saveEmbeddings([{ itemId: 1, model: 'm', vector: new Float32Array([1]) }], {
          signal,
        });
        return store;
      }

      it('every method rejects at once with an abort error when its signal is already aborted, and changes nothing', async () => {
        const store = await seeded();
        const before = await dump(store);
        const controller = new AbortController();
        const reason = new Error('user gave up');
        controller.abort(reason);
        for (const [method, call] of calls({ signal: controller.signal })) {
          let settled = false;
          const promise = call(store).finally(() => (settled = true));
          // "At once": settled within a few microtask turns, before any I/O could happen.
          for (let i = 0; i < 5; i++) await Promise.resolve();
          expect(settled, method).toBe(true);
          const error = await promise.catch((e: unknown) => e);
          expect(isAbortError(error), method).toBe(true);
          expect((error as Error).cause, method).toBe(reason);
        }
        expect(await dump(store)).toEqual(before);
        // Not consumed either: the next feed still gets id 2.
        expect((await store.addFeed({ url: 'https://example.org/b.xml' }, { signal })).id).toBe(2);
      });

      it('every method refuses options without a signal, or with an unknown key', async () => {
        const store = await seeded();
        for (const [method, call] of calls({} as never)) {
          await expect(call(store), method).rejects.toThrow(
            /options\.signal must be an AbortSignal/,
          );
        }
        for (const [method, call] of calls({ signal, timeout: 5 } as never)) {
          await expect(call(store), method).rejects.toThrow(/unknown option 'timeout'/);
        }
      });

      it('after stop(), every method rejects with ClosedError; a second stop does nothing', async () => {
        const store = await seeded();
        await expect(store.stop({ signal } as never)).rejects.toThrow(/deadline/);
        await store.stop(stopContext);
        for (const [method, call] of calls({ signal })) {
          await expect(call(store), method).rejects.toBeInstanceOf(ClosedError);
        }
        await store.stop(stopContext);
      });
    });

    it('hands out frozen copies: changing what it returned changes nothing stored', async () => {
      const store = await fresh();
      const feed: Feed = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
      expect(() => {
        (feed as { title: string | null }).title = 'x';
      }).toThrow(TypeError);
      const list = await store.listFeeds({ signal });
      expect(Object.isFrozen(list)).toBe(true);
      const page = await store.listItems({}, { signal });
      expect(Object.isFrozen(page) && Object.isFrozen(page.items)).toBe(true);
      expect(await store.getFeed(feed.id, { signal })).toEqual(feed);
    });
  });
}
