/**
 * parseFeedText: the format sniff, JSON Feed 1.0/1.1, the feed-parser path, and the
 * typed failures (empty, malformed, not-a-feed with an HTML page's advertised feeds).
 */
import { describe, expect, it } from 'vitest';
import {
  advertisedFeeds,
  FeedParseError,
  parseFeedText,
  sniffFormat,
} from '../../../src/feed/intake/index.js';
import { thrownBy } from '../../pool/work-pool.helpers.js';
import { parsedItem } from './helpers.js';

function jsonFeed(extra: Record<string, unknown>, items: unknown[]): string {
  return JSON.stringify({
    version: 'https://jsonfeed.org/version/1.1',
    title: 'J',
    ...extra,
    items,
  });
}

describe('JSON Feed', () => {
  it('1.1: items with authors, HTML content, dates; the version read from its URL', () => {
    const feed = parseFeedText(
      jsonFeed(
        { home_page_url: 'https://example.org/', feed_url: 'https://example.org/feed.json' },
        [
          {
            id: 'a1',
            url: 'https://example.org/a1',
            title: 'First',
            summary: 'Short',
            content_html: '<p>Long</p>',
            date_published: '2024-01-02T03:04:05Z',
            date_modified: '2024-01-03T00:00:00+01:00',
            authors: [{ name: 'Ann' }, { name: 'Bob' }],
          },
        ],
      ),
    );
    expect(feed).toEqual({
      format: 'json',
      version: '1.1',
      title: 'J',
      siteUrl: 'https://example.org/',
      selfUrl: 'https://example.org/feed.json',
      items: [
        {
          id: 'a1',
          url: 'https://example.org/a1',
          title: 'First',
          description: 'Short',
          content: '<p>Long</p>',
          authors: ['Ann', 'Bob'],
          published: Date.UTC(2024, 0, 2, 3, 4, 5),
          updated: Date.UTC(2024, 0, 2, 23, 0, 0),
        },
      ],
    });
  });

  it('1.0: a single `author`, a numeric id, content_text escaped into HTML, external_url when no url', () => {
    const feed = parseFeedText(
      JSON.stringify({
        version: 'https://jsonfeed.org/version/1',
        items: [
          {
            id: 42,
            external_url: 'https://elsewhere.example/x',
            content_text: 'a < b & c',
            author: { name: 'Cy' },
          },
        ],
      }),
    );
    expect(feed.version).toBe('1');
    expect(feed.items[0]).toMatchObject({
      id: '42',
      url: 'https://elsewhere.example/x',
      content: 'a &lt; b &amp; c',
      authors: ['Cy'],
      title: null,
      published: null,
    });
  });

  it('unreadable dates are null, never NaN; blank strings are null; non-object items are skipped', () => {
    const feed = parseFeedText(
      jsonFeed({}, [{ id: ' ', title: '  ', date_published: 'last Tuesday' }, 'junk', null]),
    );
    expect(feed.items).toEqual([parsedItem({})]);
  });

  it('a version that is not the spec URL is kept as given', () => {
    expect(parseFeedText(jsonFeed({ version: 'jsonfeed 1.1 draft' }, [])).version).toBe(
      'jsonfeed 1.1 draft',
    );
  });

  it('JSON that is not a JSON Feed is not a feed, saying what it got (rsparser ScriptingNews: RSS-in-JSON)', () => {
    const error = thrownBy(() => parseFeedText('{"rss": {"channel": {}}}'));
    expect(error).toBeInstanceOf(FeedParseError);
    expect(error).toMatchObject({
      kind: 'not-a-feed',
      message:
        'The JSON document is not a JSON Feed: expected an object with an "items" array, got an object with keys rss',
    });
  });

  it("invalid JSON is malformed, with the JSON parser's message", () => {
    const error = thrownBy(() =>
      parseFeedText('{"version": "https://jsonfeed.org/version/1", "items": ['),
    ) as FeedParseError;
    expect(error.kind).toBe('malformed');
    expect(error.parserMessage).toMatch(/JSON/);
  });
});

describe('RSS and Atom through feed-parser', () => {
  it('RSS 2.0 maps to the same shape', () => {
    const feed = parseFeedText(`<?xml version="1.0"?>
      <rss version="2.0"><channel><title>R</title><link>https://r.example/</link>
        <item><guid>g1</guid><title>One</title><link>https://r.example/1</link>
          <description>&lt;b&gt;bold&lt;/b&gt;</description><pubDate>Tue, 02 Jan 2024 03:04:05 GMT</pubDate>
          <author>ann@r.example (Ann)</author></item>
      </channel></rss>`);
    expect(feed).toMatchObject({
      format: 'rss',
      version: '2.0',
      title: 'R',
      siteUrl: 'https://r.example/',
    });
    expect(feed.items[0]).toMatchObject({
      id: 'g1',
      url: 'https://r.example/1',
      title: 'One',
      description: '<b>bold</b>',
      published: Date.UTC(2024, 0, 2, 3, 4, 5),
    });
  });

  it('Atom resolves links against xml:base', () => {
    const feed =
      parseFeedText(`<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://a.example/blog/">
        <title>A</title><entry><id>tag:a,1</id><title>E</title><link href="posts/1"/><updated>2024-01-02T00:00:00Z</updated></entry></feed>`);
    expect(feed).toMatchObject({ format: 'atom', version: '1.0' });
    expect(feed.items[0]).toMatchObject({
      url: 'https://a.example/blog/posts/1',
      updated: Date.UTC(2024, 0, 2),
    });
  });

  it('tolerates whitespace and blank lines before <?xml', () => {
    const feed = parseFeedText(
      '\n\n   <?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>T</title><item><title>I</title></item></channel></rss>',
    );
    expect(feed.items.map((item) => item.title)).toEqual(['I']);
  });

  it('an XHTML doctype before <rss> does not make it a page (feedparser illformed_always_strip_doctype)', () => {
    const text =
      '<?xml version="1.0"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "x"><rss><channel><title>found</title></channel></rss>';
    expect(sniffFormat(text)).toBe('xml');
    expect(parseFeedText(text).title).toBe('found');
  });

  it('XML that is not a feed names its root element', () => {
    expect(
      thrownBy(() => parseFeedText('<?xml version="1.0"?><catalog><book/></catalog>')),
    ).toMatchObject({
      kind: 'not-a-feed',
      message:
        'The XML document is not a feed: expected <rss>, <rdf:RDF> or <feed>, but its root element is <catalog>',
      parserMessage: 'The XML document could not be parsed as a feed',
    });
  });

  it('an <rss> without a <channel> holds no feed', () => {
    expect(thrownBy(() => parseFeedText('<rss version="2.0"></rss>'))).toMatchObject({
      kind: 'empty',
      message: 'The <rss> document has no <channel>, so it holds no feed',
    });
  });
});

describe('sniffing and other documents', () => {
  it.each([
    ['', 'empty'],
    [' \n\t', 'empty'],
    ['\ufeff{"items":[]}', 'json'],
    ['<?xml version="1.0"?><rss/>', 'xml'],
    ['<!-- c --><feed/>', 'xml'],
    ['<!DOCTYPE html><html><head></head></html>', 'html'],
    ['<!doctype HTML>\n<head><title>x</title></head>', 'html'],
    ['<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>', 'html'],
    ['Not Found', 'unknown'],
  ] as const)('%j is %s', (text, format) => {
    expect(sniffFormat(text)).toBe(format);
  });

  it('an empty document fails as empty', () => {
    expect(thrownBy(() => parseFeedText('  \n'))).toMatchObject({
      kind: 'empty',
      code: 'FEED_PARSE',
    });
  });

  it('text that is neither XML nor JSON is not a feed, quoting how it starts', () => {
    expect(thrownBy(() => parseFeedText('Service Unavailable'))).toMatchObject({
      kind: 'not-a-feed',
      message: 'The document is neither XML nor JSON: it starts with "Service Unavailable"',
    });
  });

  it('an HTML page is not a feed, and names the feeds it advertises, resolved absolute', () => {
    const page = `<!DOCTYPE html><html><head>
      <link rel="stylesheet" href="/style.css">
      <link rel="alternate" type="application/rss+xml" title="RSS" href="/feed.xml">
      <LINK REL="Alternate" TYPE="application/atom+xml" HREF='atom.xml?a=1&amp;b=2'>
      <link rel="alternate" type="application/feed+json" href="https://cdn.example/feed.json" />
      <link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
      <link rel="alternate" type="application/rss+xml" href="/feed.xml">
    </head><body>hello</body></html>`;
    const error = thrownBy(() =>
      parseFeedText(page, { url: 'https://site.example/blog/index.html' }),
    );
    expect(error).toBeInstanceOf(FeedParseError);
    expect(error).toMatchObject({
      kind: 'not-a-feed',
      feedLinks: [
        'https://site.example/feed.xml',
        'https://site.example/blog/atom.xml?a=1&b=2',
        'https://cdn.example/feed.json',
      ],
      message:
        'The document is an HTML page, not a feed; it advertises https://site.example/feed.xml, https://site.example/blog/atom.xml?a=1&b=2, https://cdn.example/feed.json',
    });
  });

  it('<base href> decides where advertised links resolve; without any base they stay as written', () => {
    const page =
      '<html><head><base href="https://base.example/x/"><link rel="alternate" type="application/atom+xml" href="feed.atom"></head></html>';
    expect(advertisedFeeds(page, 'https://page.example/')).toEqual([
      'https://base.example/x/feed.atom',
    ]);
    expect(
      advertisedFeeds('<html><link rel="alternate" type="application/rss+xml" href="rss"></html>'),
    ).toEqual(['rss']);
  });

  it('refuses unknown options', () => {
    expect(() => parseFeedText('{}', { base: 'x' } as never)).toThrow(/unknown option 'base'/);
  });
});
