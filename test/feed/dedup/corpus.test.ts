/**
 * The dedup claims on real feeds: ../shared/fixtures/feeds (see its MANIFEST.tsv). The
 * items are mapped here with a small mapping of this test's own (the intake's normaliser
 * is built elsewhere): id `file#n`, the file as the feed, guid, link, title, and the
 * content (else the description) as the summary.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseFeed } from '@rowanmanning/feed-parser';
import { describe, expect, it } from 'vitest';
import { canonicalLink } from '../../../src/feed/dedup/canonical-link.js';
import { DedupIndex, type DedupCandidate } from '../../../src/feed/dedup/dedup-index.js';
import { HashingEmbedder } from '../../../src/feed/embed/embedder.js';

const DIR = new URL('../../../../shared/fixtures/feeds/', import.meta.url);
if (!existsSync(new URL('MANIFEST.tsv', DIR))) {
  // A missing corpus is a broken checkout, not a reason to pass.
  throw new Error(
    `The feed fixture corpus is missing: expected ${DIR.pathname}MANIFEST.tsv (the shared/ folder beside this repository)`,
  );
}

function items(file: string): DedupCandidate[] {
  const text = readFileSync(new URL(file, DIR), 'utf8');
  if (file.endsWith('.json')) {
    const feed = JSON.parse(text) as { items?: Record<string, unknown>[] };
    return (feed.items ?? []).map((it, n) => ({
      id: `${file}#${n}`,
      feed: file,
      guid: it['id'] === undefined ? undefined : String(it['id'] as string | number),
      link: it['url'] as string | undefined,
      title: (it['title'] as string | undefined) ?? '',
      summary: (it['content_html'] ?? it['content_text'] ?? it['summary'] ?? '') as string,
    }));
  }
  return parseFeed(text).items.map((it, n) => ({
    id: `${file}#${n}`,
    feed: file,
    guid: it.id ?? undefined,
    link: it.url ?? undefined,
    title: it.title ?? '',
    summary: it.content ?? it.description ?? '',
  }));
}

/** Every item of every feed file the parser reads (a few odd encodings it refuses are left out). */
function corpus(): DedupCandidate[] {
  const rows = readFileSync(new URL('MANIFEST.tsv', DIR), 'utf8').trim().split('\n').slice(1);
  const all: DedupCandidate[] = [];
  for (const row of rows) {
    const [file = '', , , , kind = ''] = row.split('\t');
    if (!['rss2', 'atom', 'rdf', 'json'].includes(kind)) continue;
    try {
      all.push(...items(file));
    } catch {
      // UTF-16/32 and similar files the parser refuses: not items, not this test's concern.
    }
  }
  return all;
}

/** The items no other item shares a guid, a canonical link or a title with (first kept). */
function distinct(all: readonly DedupCandidate[]): DedupCandidate[] {
  const seen = new Set<string>();
  return all.filter((c) => {
    const keys = [
      c.guid === undefined ? '' : `guid ${c.guid}`,
      c.link === undefined ? '' : `link ${canonicalLink(c.link) ?? c.link}`,
      c.title.trim() === '' ? '' : `title ${c.title.trim().toLowerCase()}`,
    ].filter((k) => k !== '');
    if (keys.some((k) => seen.has(k))) return false;
    for (const k of keys) seen.add(k);
    return true;
  });
}

describe('dedup on the fixture corpus', () => {
  it.each([
    // One site, two formats: Atom and JSON Feed. Guids (tag: URIs vs URLs) and, for linked
    // posts, links differ; the text is the same up to markup and entities. Two posts of
    // the Atom feed (#9, #28) link to one sponsor's page: different guids keep them apart.
    ['rsparser__DaringFireball.atom', 'rsparser__DaringFireball.json', 48],
    // One site, two formats: RSS 2.0 (named .atom upstream) and JSON Feed.
    ['rsparser__allthis.atom', 'rsparser__allthis.json', 12],
  ])('stores the story once when %s and %s both carry it', async (first, second, count) => {
    const index = new DedupIndex();
    const a = items(first);
    const b = items(second);
    expect([a.length, b.length]).toEqual([count, count]);
    for (const c of a) expect([c.id, await index.admit(c)]).toEqual([c.id, { kind: 'new' }]);
    for (const [n, c] of b.entries()) {
      expect(await index.admit(c)).toMatchObject({ kind: 'duplicate', of: `${first}#${n}` });
      // Without guid and link (another aggregator's copy), the text alone finds it.
      const bare = {
        ...c,
        id: `bare ${c.id}`,
        feed: 'elsewhere',
        guid: undefined,
        link: undefined,
      };
      expect(await index.check(bare)).toMatchObject({
        kind: 'duplicate',
        of: `${first}#${n}`,
        by: 'simhash',
      });
    }
    expect(index.size).toBe(count);
  });

  it.each([
    ['SimHash', {}],
    ['SimHash and embeddings', { embedder: new HashingEmbedder() }],
  ])('never merges distinct items (%s)', async (_, options) => {
    const all = distinct(corpus());
    expect(all.length).toBeGreaterThanOrEqual(1000);
    const index = new DedupIndex({ maxEntries: all.length, ...options });
    const merged: string[] = [];
    for (const c of all) {
      const verdict = await index.admit(c);
      if (verdict.kind === 'duplicate') merged.push(`${c.id} -> ${verdict.of} by ${verdict.by}`);
    }
    // The one merge is one item listed twice: the RSS Board's 0.92 sample repeats an item
    // with no title, guid or link, and the same description, word for word.
    expect(merged).toEqual([
      'sample-feeds__example_rss-board-0-92-sample-feed.xml#21 -> sample-feeds__example_rss-board-0-92-sample-feed.xml#12 by simhash',
    ]);
    expect(index.size).toBe(all.length - 1);
  });
});
