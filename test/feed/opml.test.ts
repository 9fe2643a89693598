import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OpmlError } from '../../src/errors.js';
import { formatOpml, parseOpml, type OpmlFeed } from '../../src/feed/opml.js';

const EXPORT = `<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="Tech" title="Tech">
      <outline type="rss" text="Cloudflare &amp; friends" xmlUrl="https://blog.cloudflare.com/rss/" htmlUrl="https://blog.cloudflare.com/"/>
      <outline text="Languages">
        <outline title="Go blog" xmlUrl="https://go.dev/blog/feed.atom"/>
      </outline>
    </outline>
    <outline type="rss" text="No folder" xmlUrl="http://example.com/feed.xml"/>
    <outline type="rss" text="Again" xmlUrl="http://example.com/feed.xml"/>
    <outline type="rss" text="Relative" xmlUrl="/feed.xml"/>
    <outline type="rss" text="Mail" xmlUrl="mailto:a@b.c"/>
  </body>
</opml>`;

describe('parseOpml', () => {
  it('reads feeds with their titles, site URLs and nested folders, each URL once', () => {
    const document = parseOpml(EXPORT);
    expect(document.title).toBe('My feeds');
    expect(document.feeds).toEqual([
      {
        url: 'https://blog.cloudflare.com/rss/',
        title: 'Cloudflare & friends',
        siteUrl: 'https://blog.cloudflare.com/',
        category: 'Tech',
      },
      {
        url: 'https://go.dev/blog/feed.atom',
        title: 'Go blog',
        siteUrl: undefined,
        category: 'Tech / Languages',
      },
      {
        url: 'http://example.com/feed.xml',
        title: 'No folder',
        siteUrl: undefined,
        category: undefined,
      },
    ]);
  });

  it('lists outlines whose xmlUrl cannot be a feed, with the reason', () => {
    expect(parseOpml(EXPORT).skipped).toEqual([
      { outline: 'Relative', reason: 'xmlUrl "/feed.xml" is not an absolute http(s) URL' },
      { outline: 'Mail', reason: 'xmlUrl "mailto:a@b.c" is not an absolute http(s) URL' },
    ]);
  });

  it.each([
    ['<opml><body><outline text="a">', /not well-formed XML at line 1, column \d+/],
    ['<rss version="2.0"><channel/></rss>', /no <opml> root element/],
    ['<opml version="2.0"><head/></opml>', /no <body>/],
    ['', /the file is empty/],
    ['<?xml version="1.0"?>', /not well-formed XML at line 1/],
  ])('refuses %j with an OpmlError naming the problem', (text, message) => {
    expect(() => parseOpml(text)).toThrow(OpmlError);
    expect(() => parseOpml(text)).toThrow(message);
  });
});

describe('formatOpml', () => {
  const url = fc.webUrl({ validSchemes: ['http', 'https'] }).map((u) => new URL(u).href);
  const text = fc.string({ minLength: 1 }).filter((s) => s.trim() === s && !s.includes(' / '));
  const feed: fc.Arbitrary<OpmlFeed> = fc.record({
    url,
    title: fc.option(text, { nil: undefined }),
    siteUrl: fc.option(url, { nil: undefined }),
    category: fc.option(text, { nil: undefined }),
  });

  it('writes what parseOpml reads back: every feed, its title, site and folder', () => {
    fc.assert(
      fc.property(fc.uniqueArray(feed, { selector: (f) => f.url, maxLength: 20 }), (feeds) => {
        const back = parseOpml(formatOpml(feeds, { title: 'x & <y>' }));
        expect(back.title).toBe('x & <y>');
        const expected = feeds.map((f) => ({ ...f, title: f.title ?? f.url }));
        expect([...back.feeds].sort((a, b) => a.url.localeCompare(b.url))).toEqual(
          expected.sort((a, b) => a.url.localeCompare(b.url)),
        );
      }),
    );
  });
});
