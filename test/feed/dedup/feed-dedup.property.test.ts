/**
 * The fetch side of deduplication as a property: whatever a feed does between fetches
 * (renames items, drops them, adds stories, carries another feed's story) and however
 * often the process restarts, every story is stored exactly once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DedupIndex } from '../../../src/feed/dedup/dedup-index.js';
import { FeedDedup } from '../../../src/feed/dedup/feed-dedup.js';
import type { NormalizedItem } from '../../../src/feed/intake/normalize.js';
import { MemoryFeedStore } from '../../../src/feed/memory-feed-store.js';
import { prng } from '../../helpers/prng.js';

const signal = new AbortController().signal;

/** Twelve words of a 4000-word vocabulary, drawn for the story: distinct stories share few. */
function storyText(story: number): string {
  const random = prng(story + 1);
  return Array.from({ length: 12 }, () => `w${Math.floor(random() * 4000)}`).join(' ');
}

/** A story as a feed shows it, under the guid it has in this fetch. */
function shown(story: number, guid: string): NormalizedItem {
  return {
    key: guid,
    keySource: 'guid',
    guid,
    link: `https://news.example/story/${story}`,
    title: `Story ${story}`,
    summary: storyText(story),
    content: null,
    author: null,
    publishedAt: null,
    updatedAt: null,
  };
}

/** One fetch: for each feed, the stories it carries and the guid version each is under. */
const fetchArb = fc.array(
  fc.uniqueArray(fc.record({ story: fc.nat(24), version: fc.nat(2) }), {
    selector: (s) => s.story,
    maxLength: 8,
  }),
  { minLength: 2, maxLength: 2 },
);

describe('FeedDedup', () => {
  it('stores every story once, whatever the feeds rename, drop or share, across restarts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ feeds: fetchArb, restart: fc.boolean() }), { maxLength: 8 }),
        async (fetches) => {
          const store = new MemoryFeedStore();
          const feedIds = [
            (await store.addFeed({ url: 'https://a.example/feed' }, { signal })).id,
            (await store.addFeed({ url: 'https://b.example/feed' }, { signal })).id,
          ];
          let dedup = new FeedDedup(new DedupIndex(), store);
          const stories = new Set<number>();
          for (const { feeds, restart } of fetches) {
            if (restart) dedup = new FeedDedup(new DedupIndex(), store);
            for (const [f, carried] of feeds.entries()) {
              const feedId = feedIds[f] as number;
              const items = carried.map(({ story, version }) =>
                shown(story, `feed${f}:${story}:v${version}`),
              );
              const kept = await dedup.unseen(feedId, items, items, signal);
              await store.saveItems(
                feedId,
                kept.map((i) => ({
                  guid: i.key,
                  link: i.link,
                  title: i.title,
                  summary: i.summary,
                })),
                { signal },
              );
              for (const { story } of carried) stories.add(story);
            }
          }
          const { items } = await store.listItems({ limit: 1000 }, { signal });
          expect(items.map((i) => i.title).sort()).toEqual(
            [...stories].map((s) => `Story ${s}`).sort(),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps two items one feed carries at once, however alike (the publisher told them apart)', async () => {
    const store = new MemoryFeedStore();
    const feed = await store.addFeed({ url: 'https://a.example/feed' }, { signal });
    const dedup = new FeedDedup(new DedupIndex(), store);
    const sponsor = [shown(1, 'sponsor-week-9'), shown(1, 'sponsor-week-28')];
    expect(await dedup.unseen(feed.id, sponsor, sponsor, signal)).toEqual(sponsor);
  });
});
