/**
 * MemoryFeedStore and SqliteFeedStore side by side: the same calls give the same
 * results, the same ids and the same state (each is the other's oracle), and
 * `replaceItems` counts what a model of the difference says.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedStore, ItemInput } from '../../src/feed/feed-store.js';
import { MemoryFeedStore } from '../../src/feed/memory-feed-store.js';
import { SqliteFeedStore } from '../../src/feed/sqlite-feed-store.js';
import { tempFile } from '../store/helpers.js';
import { dump, fakeClock, signal, stopContext } from './contract.js';

// Few guids and few values, so lists overlap and items repeat with and without changes.
const itemArbitrary: fc.Arbitrary<ItemInput> = fc.record(
  {
    guid: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
    title: fc.option(fc.constantFrom('x', 'y'), { nil: null }),
    content: fc.constantFrom('', 'body'),
    published: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
  },
  { requiredKeys: ['guid'] },
);
const listArbitrary = fc.uniqueArray(itemArbitrary, {
  selector: (item) => item.guid,
  maxLength: 6,
});

/** The fields that make up an item's content, with what a left-out field means. */
const content = (item: ItemInput): string =>
  JSON.stringify([item.title ?? null, item.content ?? null, item.published ?? null]);

type Op =
  | { readonly kind: 'replace' | 'save'; readonly feed: number; readonly items: ItemInput[] }
  | { readonly kind: 'read' | 'saved'; readonly ids: number[]; readonly value: boolean }
  | { readonly kind: 'embed'; readonly ids: number[] }
  | { readonly kind: 'remove' | 'add'; readonly feed: number };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('replace' as const, 'save' as const),
    feed: fc.nat(2),
    items: listArbitrary,
  }),
  fc.record({
    kind: fc.constantFrom('read' as const, 'saved' as const),
    ids: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 4 }),
    value: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('embed' as const),
    ids: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 3 }),
  }),
  fc.record({ kind: fc.constantFrom('remove' as const, 'add' as const), feed: fc.nat(2) }),
);

/** Runs `op` and returns its result or its error's code and name: what must agree. */
async function apply(store: FeedStore, feeds: readonly number[], op: Op): Promise<unknown> {
  try {
    switch (op.kind) {
      case 'replace':
        return await store.replaceItems(feeds[op.feed] ?? 999, op.items, { signal });
      case 'save':
        return await store.saveItems(feeds[op.feed] ?? 999, op.items, { signal });
      case 'read':
        return await store.setRead(op.ids, op.value, { signal });
      case 'saved':
        return await store.setSaved(op.ids, op.value, { signal });
      case 'embed':
        return await store.saveEmbeddings(
          [...new Set(op.ids)].map((itemId) => ({
            itemId,
            model: 'm',
            vector: new Float32Array([itemId, 0.5]),
          })),
          { signal },
        );
      case 'remove':
        return await store.removeFeed(feeds[op.feed] ?? 999, { signal });
      case 'add':
        return await store.addFeed({ url: `https://example.org/${op.feed}.xml` }, { signal });
    }
  } catch (error) {
    return { failed: (error as Error).name, code: (error as { code?: string }).code };
  }
}

describe('MemoryFeedStore and SqliteFeedStore agree', () => {
  let memory: FeedStore;
  let sqlite: FeedStore;
  beforeAll(async () => {
    const now = fakeClock();
    memory = new MemoryFeedStore({ now: fakeClock() });
    sqlite = await SqliteFeedStore.open(tempFile(), { signal, now });
  });
  afterAll(async () => {
    await memory.stop(stopContext);
    await sqlite.stop(stopContext);
  });

  it('replaceItems twice: the same results and state in both, and the counts of the difference', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(listArbitrary, listArbitrary, async (first, second) => {
        // Each run on a feed of its own, in both stores: they keep step, ids included.
        run++;
        const results = [];
        for (const store of [memory, sqlite]) {
          const feed = await store.addFeed(
            { url: `https://example.org/run-${run}.xml` },
            { signal },
          );
          const r1 = await store.replaceItems(feed.id, first, { signal });
          const r2 = await store.replaceItems(feed.id, second, { signal });
          const r3 = await store.replaceItems(feed.id, second, { signal });
          const page = await store.listItems({ feedId: feed.id }, { signal });
          results.push({ feed, r1, r2, r3, items: page.items });
        }
        const [m, s] = results;
        expect(s).toEqual(m);
        const { r1, r2, r3, items } = m as NonNullable<typeof m>;
        const before = new Map(first.map((item) => [item.guid, content(item)]));
        const after = new Set(second.map((item) => item.guid));
        expect(r2.added).toBe(second.filter((item) => !before.has(item.guid)).length);
        expect(r2.removed).toBe(first.filter((item) => !after.has(item.guid)).length);
        expect(r2.updated).toBe(
          second.filter((item) => before.has(item.guid) && before.get(item.guid) !== content(item))
            .length,
        );
        expect(r2.unchanged).toBe(second.length - r2.added - r2.updated);
        expect(r3).toMatchObject({ added: 0, updated: 0, removed: 0, unchanged: second.length });
        // What is stored is the second list, and the items kept kept their ids.
        expect(items.map((item) => item.guid).sort()).toEqual([...after].sort());
        for (const item of items) {
          const old = r1.addedItems.find((added) => added.guid === item.guid);
          if (old !== undefined) expect(item.id).toBe(old.id);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('any sequence of calls: the same results, errors and state in both', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: 12 }), async (ops) => {
        run++;
        const feeds = [];
        for (const store of [memory, sqlite]) {
          const ids = [];
          for (const n of [0, 1, 2]) {
            ids.push(
              (await store.addFeed({ url: `https://example.org/seq-${run}-${n}.xml` }, { signal }))
                .id,
            );
          }
          feeds.push(ids);
        }
        expect(feeds[1]).toEqual(feeds[0]);
        const ids = feeds[0] ?? [];
        for (const op of ops) {
          const m = await apply(memory, ids, op);
          const s = await apply(sqlite, ids, op);
          expect(s, JSON.stringify(op)).toEqual(m);
        }
        expect(await dump(sqlite)).toEqual(await dump(memory));
      }),
      { numRuns: 250 },
    );
  });
});
