/**
 * The feed app's store (`workbus/feed`): a differential update, a page of unread items,
 * and the same contract in memory. The TSDoc examples of `src/feed/` are copied from
 * here; `test/examples.test.ts` runs it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryFeedStore, SqliteFeedStore } from 'workbus/feed';

export async function feedStore(log: (line: string) => void = console.log): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'workbus-feed-'));
  const file = join(directory, 'feeds.db');
  const { signal } = new AbortController();
  try {
    const store = await SqliteFeedStore.open(file, { signal });
    const feed = await store.addFeed({ url: 'https://example.org/feed.xml' }, { signal });
    const first = await store.replaceItems(
      feed.id,
      [
        { guid: 'a', title: 'First', published: Date.UTC(2026, 0, 1) },
        { guid: 'b', title: 'Second', published: Date.UTC(2026, 0, 2) },
      ],
      { signal },
    );
    const again = await store.replaceItems(
      feed.id,
      [
        { guid: 'a', title: 'First', published: Date.UTC(2026, 0, 1) },
        { guid: 'b', title: 'Second (edited)', published: Date.UTC(2026, 0, 2) },
        { guid: 'c', title: 'Third', published: Date.UTC(2026, 0, 3) },
      ],
      { signal },
    );
    const page = await store.listItems({ unread: true, limit: 2 }, { signal });
    await store.stop({ signal, deadline: Date.now() + 5000 });

    log(`first: ${first.added} added`);
    log(
      `again: ${again.added} added (${again.addedItems.map((item) => item.guid).join()}), ${again.updated} updated, ${again.unchanged} unchanged`,
    );
    log(
      `newest unread: ${page.items.map((item) => item.title).join(', ')}; more: ${page.nextCursor !== null}`,
    );

    const memory = new MemoryFeedStore();
    const saved = await memory.addFeed({ url: 'https://example.org/feed.xml' }, { signal });
    await memory.saveItems(saved.id, [{ guid: 'a', title: 'First' }], { signal });
    const unread = await memory.countItems({ unread: true }, { signal });
    log(`in memory, same ids: feed ${saved.id}, ${unread} unread`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
