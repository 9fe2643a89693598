import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/errors.js';
import { SqliteFeedStore } from '../../src/feed/sqlite-feed-store.js';
import { tempFile } from '../store/helpers.js';
import { fakeClock, feedStoreContract, signal, stopContext } from './contract.js';

feedStoreContract('SqliteFeedStore', (now) => SqliteFeedStore.open(tempFile(), { signal, now }));

describe('SqliteFeedStore', () => {
  it('keeps everything across a stop and a reopen, and hands out ids where it left off', async () => {
    const file = tempFile();
    const first = await SqliteFeedStore.open(file, { signal });
    const feed = await first.addFeed({ url: 'https://example.org/a.xml' }, { signal });
    await first.replaceItems(feed.id, [{ guid: 'a' }, { guid: 'b' }], { signal });
    await first.removeFeed(feed.id, { signal });
    const kept = await first.addFeed({ url: 'https://example.org/b.xml' }, { signal });
    await first.replaceItems(kept.id, [{ guid: 'c' }], { signal });
    await first.setSaved([3], true, { signal });
    await first.stop(stopContext);
    const second = await SqliteFeedStore.open(file, { signal });
    try {
      expect(await second.listFeeds({ signal })).toEqual([kept]);
      expect(await second.getItem(3, { signal })).toMatchObject({ guid: 'c', saved: true });
      const next = await second.addFeed({ url: 'https://example.org/c.xml' }, { signal });
      expect(next.id).toBe(3);
      const { addedItems } = await second.replaceItems(next.id, [{ guid: 'd' }], { signal });
      expect(addedItems[0]?.id).toBe(4);
    } finally {
      await second.stop(stopContext);
    }
  });

  it('refuses unknown options before opening anything', async () => {
    await expect(
      SqliteFeedStore.open(tempFile(), { signal, busyTimeout: 5 } as never),
    ).rejects.toThrow(/did you mean 'busyTimeoutMs'/);
    await expect(SqliteFeedStore.open(tempFile(), { signal, now: 1 } as never)).rejects.toThrow(
      /now must be a function/,
    );
  });
});

describe('SqliteFeedStore against another writer between its read and its write', () => {
  /**
   * A store whose clock, read between the items' read and the transaction, runs `meddle`
   * once on a connection of its own (another writer, as another process would be): a gate
   * on "the difference has been worked out", not a sleep.
   */
  async function withMeddler(
    meddle: (other: BetterSqlite3.Database) => void,
  ): Promise<{ store: SqliteFeedStore; plans: () => number; close: () => Promise<void> }> {
    const file = tempFile();
    const clock = fakeClock();
    let armed = false;
    let plans = 0;
    const other = new BetterSqlite3(file, { timeout: 0 });
    other.pragma('foreign_keys = ON');
    const store = await SqliteFeedStore.open(file, {
      signal,
      now: () => {
        if (armed) {
          plans++;
          if (plans === 1) meddle(other);
        }
        return clock();
      },
    });
    const feed = await store.addFeed({ url: 'https://example.org/a.xml' }, { signal });
    await store.replaceItems(feed.id, [{ guid: 'a' }, { guid: 'b' }], { signal });
    armed = true;
    return {
      store,
      plans: () => plans,
      close: async () => {
        other.close();
        await store.stop(stopContext);
      },
    };
  }

  it('a mark set meanwhile makes the difference stale: it rolls back whole and is worked out again', async () => {
    const { store, plans, close } = await withMeddler((other) => {
      other.prepare('UPDATE item SET is_read = 1 WHERE guid = ?').run('b');
    });
    try {
      const result = await store.replaceItems(1, [{ guid: 'b', title: 'changed' }, { guid: 'c' }], {
        signal,
      });
      expect(plans()).toBe(2);
      expect(result).toMatchObject({ added: 1, updated: 1, removed: 1, unchanged: 0 });
      // The second round saw the mark: the updated item carries it.
      expect(result.updatedItems).toEqual([expect.objectContaining({ guid: 'b', read: true })]);
      expect(await store.getItem(2, { signal })).toEqual(result.updatedItems[0]);
      expect(result.addedItems.map((item) => item.id)).toEqual([3]);
    } finally {
      await close();
    }
  });

  it('items written meanwhile by another writer are not overwritten by a stale difference', async () => {
    const { store, plans, close } = await withMeddler((other) => {
      other
        .prepare(
          `INSERT INTO item (feed_id, guid, content_hash, added_at, sort_time) VALUES (1, 'z', 'h', 0, 0)`,
        )
        .run();
      other.prepare('UPDATE feed SET items_version = items_version + 1 WHERE id = 1').run();
    });
    try {
      const result = await store.replaceItems(1, [{ guid: 'a' }], { signal });
      expect(plans()).toBe(2);
      expect(result).toMatchObject({ added: 0, unchanged: 1, removed: 2 });
      expect(result.removedIds).toEqual([2, 3]);
    } finally {
      await close();
    }
  });

  it.each([
    ['with items to add (a foreign key fails)', [{ guid: 'a' }, { guid: 'new' }]],
    ['with only removals (the version row did not move)', [{ guid: 'a' }]],
  ])('a feed removed meanwhile is a NotFoundError, %s', async (_, items) => {
    const { store, close } = await withMeddler((other) => {
      other.prepare('DELETE FROM feed WHERE id = 1').run();
    });
    try {
      const error = await store.replaceItems(1, items, { signal }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect(await store.countItems({}, { signal })).toBe(0);
      expect(await store.listFeeds({ signal })).toEqual([]);
    } finally {
      await close();
    }
  });
});
