/**
 * normalizeFeed: stable keys (guid, else a link no other item shares, else a hash),
 * absolute links, numeric dates, plain-text summaries, repeated keys.
 */
import { describe, expect, it } from 'vitest';
import { isAbortError } from '../../../src/abort.js';
import {
  intakeFeed,
  normalizeFeed,
  normalizeLink,
  type ParsedFeed,
  type ParsedItem,
} from '../../../src/feed/intake/index.js';
import { thrownBy } from '../../pool/work-pool.helpers.js';
import { bytes, parsedItem } from './helpers.js';

function feed(items: ParsedItem[], fields: Partial<ParsedFeed> = {}): ParsedFeed {
  return {
    format: 'rss',
    version: '2.0',
    title: 'F',
    siteUrl: null,
    selfUrl: null,
    items,
    ...fields,
  };
}

/** A guid-less RSS feed as one fetch serves it, its links decorated by `suffix`. */
function guidlessRss(suffix: string): Uint8Array {
  const entry = (n: number) =>
    `<item><title>Post ${n}</title><link>https://Blog.Example.ORG/posts/${n}${suffix}</link><pubDate>Tue, 02 Jan 2024 0${n}:00:00 GMT</pubDate></item>`;
  return bytes(
    `<rss version="2.0"><channel><title>B</title><link>https://blog.example.org/</link>${entry(1)}${entry(2)}</channel></rss>`,
  );
}

describe('keys', () => {
  it('stay the same when a guid-less feed starts adding tracking parameters and fragments to its links', () => {
    const before = intakeFeed({ bytes: guidlessRss('') }).document.items;
    const after = intakeFeed({
      bytes: guidlessRss('?utm_source=rss&utm_medium=feed&fbclid=x#comments'),
    }).document.items;
    expect(before.map((i) => i.keySource)).toEqual(['link', 'link']);
    expect(after.map((i) => i.key)).toEqual(before.map((i) => i.key));
    expect(before.map((i) => i.key)).toEqual([
      'https://blog.example.org/posts/1',
      'https://blog.example.org/posts/2',
    ]);
    // The link itself is kept as the feed gives it (made absolute), only the key is normal.
    expect(after[0]?.link).toBe(
      'https://blog.example.org/posts/1?utm_source=rss&utm_medium=feed&fbclid=x#comments',
    );
  });

  it('prefer the guid; a URL guid loses tracking parameters but keeps its fragment (two posts on one page)', () => {
    const doc = normalizeFeed(
      feed([
        parsedItem({ id: 'tag:example.org,2024:1', url: 'https://example.org/1' }),
        parsedItem({ id: 'http://scripting.com/2017/06/26.html#a080605?' }),
        parsedItem({ id: 'http://scripting.com/2017/06/26.html?utm_campaign=x#a030658' }),
      ]),
    );
    expect(doc.items.map((i) => [i.key, i.keySource])).toEqual([
      ['tag:example.org,2024:1', 'guid'],
      ['http://scripting.com/2017/06/26.html#a080605?', 'guid'],
      ['http://scripting.com/2017/06/26.html#a030658', 'guid'],
    ]);
  });

  it('a link shared by several items is no key: each gets a hash of its title and date (a podcast linking every episode to one page)', () => {
    const items = [
      parsedItem({ url: 'https://radio.example/show', title: 'Episode 1', published: 1000 }),
      parsedItem({ url: 'https://radio.example/show#x', title: 'Episode 2', published: 2000 }),
    ];
    const first = normalizeFeed(feed(items)).items;
    expect(first.map((i) => i.keySource)).toEqual(['hash', 'hash']);
    expect(first[0]?.key).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first[0]?.key).not.toBe(first[1]?.key);
    // The same items fetched again, in another order, keep their keys.
    const again = normalizeFeed(feed([...items].reverse())).items;
    expect(again.map((i) => i.key)).toEqual([first[1]?.key, first[0]?.key]);
  });

  it('untitled, undated items without guid or link are told apart by their text', () => {
    const doc = normalizeFeed(
      feed([parsedItem({ description: 'one' }), parsedItem({ description: 'two' })]),
    );
    expect(doc.items).toHaveLength(2);
    expect(doc.duplicates).toBe(0);
  });

  it('a repeated key keeps its first item and counts the rest', () => {
    const doc = normalizeFeed(
      feed([
        parsedItem({ id: 'g', title: 'first' }),
        parsedItem({ id: 'g', title: 'second' }),
        parsedItem({ id: 'h' }),
      ]),
    );
    expect(doc.items.map((i) => i.title)).toEqual(['first', null]);
    expect(doc.duplicates).toBe(1);
  });

  it.each([
    ['HTTPS://Example.COM:443/a?b=1&utm_source=x#frag', 'https://example.com/a?b=1'],
    ['http://example.com/a?gclid=1&utm_medium=2', 'http://example.com/a'],
    ['http://example.com/a?q=a%20b', 'http://example.com/a?q=a+b'],
    ['http://example.com/a?q=a+b&utm_term=z', 'http://example.com/a?q=a+b'],
  ])('normalizeLink(%s) is %s', (url, normal) => {
    expect(normalizeLink(url)).toBe(normal);
  });

  it('normalizeLink leaves non-http(s) and unparseable links alone', () => {
    expect(normalizeLink('mailto:a@b.c')).toBeUndefined();
    expect(normalizeLink('/relative')).toBeUndefined();
  });
});

describe('links', () => {
  it('resolve against the feed URL, then the site URL', () => {
    const items = [
      parsedItem({ id: '1', url: '/posts/1' }),
      parsedItem({ id: '2', url: 'posts/2' }),
    ];
    const withUrl = normalizeFeed(feed(items, { siteUrl: '/' }), {
      url: 'https://feeds.example/blog/rss.xml',
    });
    expect(withUrl.siteUrl).toBe('https://feeds.example/');
    expect(withUrl.items.map((i) => i.link)).toEqual([
      'https://feeds.example/posts/1',
      'https://feeds.example/blog/posts/2',
    ]);
    const bySite = normalizeFeed(feed(items, { siteUrl: 'https://site.example/news/' }));
    expect(bySite.items.map((i) => i.link)).toEqual([
      'https://site.example/posts/1',
      'https://site.example/news/posts/2',
    ]);
  });

  it('a link that cannot be made absolute is null, and the item is keyed by hash', () => {
    const doc = normalizeFeed(feed([parsedItem({ url: 'posts/1', title: 'T' })]));
    expect(doc.items[0]).toMatchObject({ link: null, keySource: 'hash' });
  });

  // An absolute xml:base wins over the fetch URL. (A relative xml:base on the root is not
  // combined with the fetch URL: feed-parser never sees that URL; docs/architecture.md.)
  it('xml:base (applied by the parser) and the fetch URL together', () => {
    const { document } = intakeFeed({
      bytes: bytes(
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example/b/"><title>A</title><entry><id>e1</id><link href="p/1"/></entry><entry><id>e2</id><link href="https://other.example/x"/></entry><entry xml:base=""><id>e3</id></entry></feed>',
      ),
      url: 'https://host.example/feeds/atom.xml',
    });
    expect(document.items.map((i) => i.link)).toEqual([
      'https://blog.example/b/p/1',
      'https://other.example/x',
      null,
    ]);
  });
});

describe('dates', () => {
  it('published in ms; the updated date when only that is given; null, never NaN, when neither', () => {
    const doc = normalizeFeed(
      feed([
        parsedItem({ id: 'a', published: 1000, updated: 2000 }),
        parsedItem({ id: 'b', updated: 3000 }),
        parsedItem({ id: 'c' }),
      ]),
    );
    expect(doc.items.map((i) => [i.publishedAt, i.updatedAt])).toEqual([
      [1000, 2000],
      [3000, 3000],
      [null, null],
    ]);
  });

  it('unreadable dates in a document come out null', () => {
    const { document } = intakeFeed({
      bytes: bytes(
        '<rss version="2.0"><channel><item><guid>x</guid><pubDate>the day after tomorrow</pubDate></item></channel></rss>',
      ),
    });
    expect(document.items[0]?.publishedAt).toBeNull();
  });
});

describe('text', () => {
  it('summary: HTML stripped, hidden elements dropped, entities decoded, whitespace collapsed', () => {
    const doc = normalizeFeed(
      feed([
        parsedItem({
          id: '1',
          title: '  Tom &amp;\n Jerry ',
          description:
            '<p>Caf&eacute; &amp; <b>bar</b>&nbsp;&#8217;s</p>\n\n<script>alert(1)</script><style>p{}</style><!-- note --><p>next&hellip;</p>',
          content: '<p>full</p>',
        }),
      ]),
    );
    expect(doc.items[0]).toMatchObject({
      title: 'Tom &amp; Jerry',
      summary: 'Café & bar ’s next…',
      content: '<p>full</p>',
    });
  });

  it('the summary comes from the content when there is no description, and is null when there is no text', () => {
    const doc = normalizeFeed(
      feed([
        parsedItem({ id: '1', content: '<div><img src="x.png"></div><p>Hello</p>' }),
        parsedItem({ id: '2', content: '<img src="x">' }),
      ]),
    );
    expect(doc.items.map((i) => i.summary)).toEqual(['Hello', null]);
  });

  it('a long summary is cut at a word boundary with an ellipsis, within summaryLength, never splitting an emoji', () => {
    const words = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
    const [long] = normalizeFeed(feed([parsedItem({ id: '1', description: words })]), {
      summaryLength: 50,
    }).items;
    expect(Array.from(long?.summary ?? '').length).toBeLessThanOrEqual(50);
    expect(long?.summary).toMatch(/^word0 word1 .* word\d+…$/);
    const [emoji] = normalizeFeed(feed([parsedItem({ id: '1', description: '😀'.repeat(30) })]), {
      summaryLength: 10,
    }).items;
    expect(emoji?.summary).toBe(`${'😀'.repeat(9)}…`);
  });

  it('the first author names the item', () => {
    const doc = normalizeFeed(
      feed([parsedItem({ id: '1', authors: ['Ann', 'Bob'] }), parsedItem({ id: '2' })]),
    );
    expect(doc.items.map((i) => i.author)).toEqual(['Ann', null]);
  });
});

describe('abort and arguments', () => {
  it('an aborted signal stops normalising', () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    expect(
      thrownBy(() => normalizeFeed(feed([parsedItem({ id: '1' })]), { signal: controller.signal })),
    ).toSatisfy(isAbortError);
  });

  it('refuses unknown options and a bad summaryLength', () => {
    expect(() => normalizeFeed(feed([]), { baseUrl: 'x' } as never)).toThrow(
      /unknown option 'baseUrl'/,
    );
    expect(() => normalizeFeed(feed([]), { summaryLength: 0 })).toThrow(RangeError);
  });
});
