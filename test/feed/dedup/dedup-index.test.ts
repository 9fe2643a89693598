import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { isAbortError } from '../../../src/abort.js';
import { canonicalLink } from '../../../src/feed/dedup/canonical-link.js';
import {
  DedupIndex,
  type DedupCandidate,
  type DedupVerdict,
} from '../../../src/feed/dedup/dedup-index.js';
import { hammingDistance, simhash } from '../../../src/feed/dedup/simhash.js';
import { HashingEmbedder, type Embedder } from '../../../src/feed/embed/embedder.js';
import { WorkPool } from '../../../src/pool/work-pool.js';
import { lockdep } from '../../../src/sync/lockdep.js';

const SEED = 20261130;

const STORY =
  'NASA has launched the Artemis rocket toward the Moon after weeks of delays caused by a fuel leak and two hurricanes';
const OTHER =
  'Apple has released a new laptop with a faster chip, a brighter screen and a longer battery life than last year';

function item(id: string, fields: Partial<DedupCandidate> = {}): DedupCandidate {
  return { id, title: `Title of ${id}`, summary: '', ...fields };
}

describe('DedupIndex: exact keys', () => {
  it('finds duplicates by guid, then canonical link, then content hash', async () => {
    const index = new DedupIndex();
    await index.add(item('a', { guid: 'urn:a', link: 'https://example.com/a', contentHash: 'ha' }));
    await index.add(item('b', { guid: 'urn:b', link: 'https://example.com/b', contentHash: 'hb' }));
    expect(
      await index.check(item('x', { guid: ' urn:a ', link: 'https://example.com/b' })),
    ).toEqual({ kind: 'duplicate', of: 'a', by: 'guid' });
    expect(
      await index.check(
        item('x', { link: 'http://www.example.com/b/?utm_source=rss#comments', contentHash: 'ha' }),
      ),
    ).toEqual({ kind: 'duplicate', of: 'b', by: 'link' });
    expect(await index.check(item('x', { contentHash: 'ha' }))).toEqual({
      kind: 'duplicate',
      of: 'a',
      by: 'hash',
    });
    expect(await index.check(item('x', { guid: 'urn:c', link: 'https://example.com/c' }))).toEqual({
      kind: 'new',
    });
  });

  it('canonicalLink: one key per story link, and none for what is not an http(s) URL', () => {
    expect(canonicalLink('HTTPS://WWW.Example.com:443/Post/1/?b=2&utm_medium=x&a=1#top')).toBe(
      'example.com/Post/1?a=1&b=2',
    );
    expect(canonicalLink('http://example.com:8080/')).toBe('example.com:8080');
    expect(canonicalLink('tag:example.com,2026:post-1')).toBeUndefined();
    expect(canonicalLink('/relative/path')).toBeUndefined();
  });

  it('remove frees the keys; add replaces an entry of the same id', async () => {
    const index = new DedupIndex();
    await index.add(item('a', { guid: 'g1' }));
    await index.add(item('a', { guid: 'g2' }));
    expect(index.size).toBe(1);
    expect(await index.check(item('x', { guid: 'g1' }))).toEqual({ kind: 'new' });
    expect(await index.remove('a')).toBe(true);
    expect(await index.remove('a')).toBe(false);
    expect(await index.check(item('x', { guid: 'g2' }))).toEqual({ kind: 'new' });
    expect(index.size).toBe(0);
  });

  it('keeps at most maxEntries, evicting the oldest added', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 30 }),
        async (maxEntries, ids) => {
          const index = new DedupIndex({ maxEntries });
          const model: string[] = [];
          for (const n of ids) {
            const id = `i${n}`;
            await index.add(item(id, { guid: id }));
            model.splice(model.indexOf(id) >>> 0, model.includes(id) ? 1 : 0);
            model.push(id);
            if (model.length > maxEntries) model.shift();
            expect(index.size).toBe(model.length);
          }
          for (let n = 0; n < 10; n++) {
            const id = `i${n}`;
            expect(index.has(id)).toBe(model.includes(id));
            const verdict = await index.check(item('probe', { guid: id }));
            expect(verdict.kind).toBe(model.includes(id) ? 'duplicate' : 'new');
          }
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('DedupIndex: near duplicates', () => {
  it('finds the same story in another dress (markup, case, punctuation) by SimHash', async () => {
    const index = new DedupIndex();
    await index.add(item('rss', { title: 'Artemis launches', summary: STORY }));
    await index.add(item('other', { title: 'New laptop', summary: OTHER }));
    const verdict = await index.check(
      item('atom', { title: 'ARTEMIS LAUNCHES!', summary: `<p>${STORY.replace(/ /g, '  ')}.</p>` }),
    );
    expect(verdict).toEqual({ kind: 'duplicate', of: 'rss', by: 'simhash', distance: 0 });
  });

  it('within one feed, trusts the publisher: different guids are different items', async () => {
    const index = new DedupIndex();
    const post = { title: 'Sponsor', summary: STORY, link: 'https://sponsor.example/' };
    await index.add(item('df#9', { ...post, feed: 'df', guid: 'tag:df,9' }));
    expect(await index.check(item('df#28', { ...post, feed: 'df', guid: 'tag:df,28' }))).toEqual({
      kind: 'new',
    });
    // The same text at another link of one feed, without guids: two items too.
    const bot = new DedupIndex();
    await bot.add(item('p1', { feed: 'bot', title: '', summary: STORY, link: 'https://b/1' }));
    expect(
      await bot.check(item('p2', { feed: 'bot', title: '', summary: STORY, link: 'https://b/2' })),
    ).toEqual({ kind: 'new' });
    // Across feeds the same text and link are one story.
    expect(await index.check(item('x', { ...post, feed: 'other', guid: 'x' }))).toEqual({
      kind: 'duplicate',
      of: 'df#9',
      by: 'link',
    });
  });

  it('never matches short texts by SimHash (fewer than minWords words)', async () => {
    const index = new DedupIndex();
    await index.add(item('1', { title: 'Episode 1', summary: '' }));
    expect(await index.check(item('2', { title: 'Episode 1', summary: '' }))).toEqual({
      kind: 'new',
    });
    const loose = new DedupIndex({ minWords: 1 });
    await loose.add(item('1', { title: 'Episode 1', summary: '' }));
    expect(await loose.check(item('2', { title: 'episode 1', summary: '' }))).toMatchObject({
      by: 'simhash',
    });
  });

  it('the banded search finds exactly what a scan of every entry finds', async () => {
    const words = fc.array(fc.constantFrom(...STORY.split(' '), ...OTHER.split(' ')), {
      minLength: 8,
      maxLength: 30,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(words, { minLength: 1, maxLength: 25 }),
        words,
        async (entries, probe) => {
          const index = new DedupIndex();
          for (const [i, w] of entries.entries()) {
            await index.add(item(`e${i}`, { title: '', summary: w.join(' ') }));
          }
          const text = `\n${probe.join(' ')}`;
          const distances = entries.map((w) =>
            hammingDistance(simhash(`\n${w.join(' ')}`), simhash(text)),
          );
          const nearest = Math.min(...distances);
          const verdict = await index.check(item('p', { title: '', summary: probe.join(' ') }));
          if (nearest > 3) {
            expect(verdict).toEqual({ kind: 'new' });
          } else {
            expect(verdict).toMatchObject({ kind: 'duplicate', by: 'simhash', distance: nearest });
            const of = (verdict as { of: string }).of;
            expect(distances[Number(of.slice(1))]).toBe(nearest);
          }
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('with an embedder, finds what SimHash misses by cosine similarity', async () => {
    const edited = STORY.replace('two hurricanes', 'a tropical storm');
    expect(hammingDistance(simhash(`t\n${STORY}`), simhash(`t\n${edited}`))).toBeGreaterThan(3);
    const plain = new DedupIndex();
    const embedded = new DedupIndex({ embedder: new HashingEmbedder(), minSimilarity: 0.8 });
    for (const index of [plain, embedded]) {
      await index.add(item('a', { title: 't', summary: STORY }));
      await index.add(item('b', { title: 't', summary: OTHER }));
    }
    expect(await plain.check(item('x', { title: 't', summary: edited }))).toEqual({
      kind: 'new',
    });
    const verdict = await embedded.check(item('x', { title: 't', summary: edited }));
    expect(verdict).toMatchObject({ kind: 'duplicate', of: 'a', by: 'embedding' });
    expect((verdict as { distance: number }).distance).toBeLessThan(0.2);
  });
});

describe('DedupIndex: concurrency and cancellation', () => {
  afterEach(() => {
    lockdep.disable();
    lockdep.reset();
  });

  const stories = [STORY, OTHER, `${STORY} ${OTHER}`];
  const op = fc.record({
    kind: fc.constantFrom('add', 'admit', 'check-full', 'check-text'),
    story: fc.integer({ min: 0, max: stories.length - 1 }),
  });

  function storyItem(id: string, story: number, full: boolean): DedupCandidate {
    return full
      ? item(id, {
          guid: `guid-${story}`,
          link: `https://example.com/${story}`,
          contentHash: `hash-${story}`,
          title: 'A story',
          summary: stories[story] as string,
        })
      : item(id, { guid: id, title: 'A story', summary: stories[story] as string });
  }

  it('concurrent check/add/admit never see an entry half added; one admit per story wins', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(op, { minLength: 1, maxLength: 12 }),
        async (s, ops) => {
          const hashing = new HashingEmbedder({ dimensions: 32 });
          // The embedder's answers arrive in an order the scheduler picks: the await
          // before the lock is where interleavings differ.
          const embedder: Embedder = {
            model: hashing.model,
            dimensions: hashing.dimensions,
            embed: s.scheduleFunction((texts: readonly string[]) => hashing.embed(texts)),
          };
          const index = new DedupIndex({ embedder, minSimilarity: 0.999 });
          const verdicts: { kind: string; story: number; verdict: DedupVerdict }[] = [];
          const storyOf = new Map<string, number>();
          const runs = ops.map(async ({ kind, story }, i) => {
            const id = `op${i}`;
            storyOf.set(id, story);
            if (kind === 'add') return index.add(storyItem(id, story, true));
            const verdict =
              kind === 'admit'
                ? await index.admit(storyItem(id, story, true))
                : await index.check(storyItem(id, story, kind === 'check-full'));
            verdicts.push({ kind, story, verdict });
            if (verdict.kind === 'duplicate') expect(storyOf.get(verdict.of)).toBe(story);
            return undefined;
          });
          await s.waitFor(Promise.all(runs));
          for (const { kind, verdict } of verdicts) {
            // An entry is seen whole (by its guid, the first key tried) or not at all.
            if (kind !== 'check-text' && verdict.kind === 'duplicate') {
              expect(verdict.by).toBe('guid');
            }
            if (kind === 'check-text' && verdict.kind === 'duplicate') {
              expect(verdict).toMatchObject({ by: 'simhash', distance: 0 });
            }
          }
          for (let story = 0; story < stories.length; story++) {
            const wins = verdicts.filter(
              (v) => v.kind === 'admit' && v.story === story && v.verdict.kind === 'new',
            );
            expect(wins.length).toBeLessThanOrEqual(1);
          }
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('takes no lock while the embedder waits on the pool (lockdep raises nothing)', async () => {
    lockdep.enable();
    const pool = new WorkPool({ concurrency: 1, types: { embed: { concurrency: 1 } } });
    const hashing = new HashingEmbedder();
    const embedder: Embedder = {
      model: hashing.model,
      dimensions: hashing.dimensions,
      embed: (texts, options) =>
        pool.run('embed', () => hashing.embed(texts), { signal: options?.signal }),
    };
    const index = new DedupIndex({ embedder });
    await Promise.all([
      index.admit(item('a', { title: 't', summary: STORY })),
      index.check(item('b', { title: 't', summary: OTHER })),
      index.add(item('c', { title: 't', summary: OTHER })),
    ]);
    expect(index.size).toBe(2);
    await pool.close();
  });

  it('rejects at once for an aborted signal, and while the embedder works', async () => {
    const index = new DedupIndex({ embedder: new HashingEmbedder() });
    const aborted = AbortSignal.abort(new Error('stop'));
    await expect(index.check(item('a'), { signal: aborted })).rejects.toSatisfy(isAbortError);
    await expect(index.add(item('a'), { signal: aborted })).rejects.toSatisfy(isAbortError);
    await expect(index.remove('a', { signal: aborted })).rejects.toSatisfy(isAbortError);
    expect(index.size).toBe(0);
  });

  it('honours the signal inside a long embedding scan', async () => {
    const index = new DedupIndex({
      embedder: new HashingEmbedder({ dimensions: 8 }),
      minSimilarity: 1,
      maxEntries: 10_000,
    });
    for (let i = 0; i < 5000; i++) {
      await index.add(item(`e${i}`, { title: `entry number ${i}`, summary: OTHER }));
    }
    const controller = new AbortController();
    const check = index.check(item('p', { title: 'probe', summary: STORY }), {
      signal: controller.signal,
    });
    // Queued before the scan's first turn of the loop (after 4096 entries).
    setImmediate(() => controller.abort(new Error('user left')));
    await expect(check).rejects.toSatisfy(isAbortError);
  });

  it('refuses bad options and candidates, naming them', async () => {
    expect(() => new DedupIndex({ maxDistance: 4 })).toThrow(
      /maxDistance must be an integer from 0 to 3, got 4/,
    );
    expect(() => new DedupIndex({ minSimilarity: 1.5 })).toThrow(/minSimilarity must be in/);
    expect(() => new DedupIndex({ maxEntrie: 3 } as never)).toThrow(/did you mean 'maxEntries'/);
    const index = new DedupIndex();
    await expect(index.check({ ...item('a'), title: 3 } as never)).rejects.toThrow(
      /candidate.title must be a string, got number/,
    );
    const intakeItem = { ...item('a'), feedId: 'x', published: 0 };
    await expect(index.check(intakeItem)).resolves.toEqual({ kind: 'new' });
    await expect(index.check(null as never)).rejects.toThrow(/candidate must be an object/);
    await expect(index.check(item(''))).rejects.toThrow(/candidate.id must be a non-empty string/);
    await expect(index.check({ ...item('a'), feedItems: ['a'] } as never)).rejects.toThrow(
      /candidate.feedItems must be a Set of ids, got object/,
    );
  });
});
