import { describe, expect, it } from 'vitest';
import { SqliteFeedStore } from '../../src/feed/sqlite-feed-store.js';
import { tempFile } from '../store/helpers.js';
import { feedStoreContract, signal, stopContext } from './contract.js';

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
