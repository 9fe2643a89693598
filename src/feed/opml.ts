/**
 * OPML, the file feed readers exchange subscription lists in. Reading is lenient where
 * real exports differ (nested folders, `title` instead of `text`, a missing `type`) and
 * strict where a guess would lose a feed silently: a file that is not OPML is an error
 * naming the problem and where it is, and each outline that cannot be a feed is listed
 * with its reason rather than dropped.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { OpmlError } from '../errors.js';

/** A feed as OPML lists it. */
export interface OpmlFeed {
  /** The feed's URL (`xmlUrl`), absolute http(s). */
  readonly url: string;
  readonly title: string | undefined;
  /** The site's URL (`htmlUrl`). */
  readonly siteUrl: string | undefined;
  /** The folder the feed sits in (the enclosing outlines' titles, joined with " / "). */
  readonly category: string | undefined;
}

/** What {@link parseOpml} found. */
export interface OpmlDocument {
  readonly title: string | undefined;
  /** The feeds, in document order, each URL once. */
  readonly feeds: readonly OpmlFeed[];
  /** Outlines with an `xmlUrl` that is not an absolute http(s) URL, with the reason. */
  readonly skipped: readonly { readonly outline: string; readonly reason: string }[];
}

type Attributes = Record<string, unknown>;
interface Outline extends Attributes {
  readonly outline?: Outline[];
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  isArray: (name) => name === 'outline',
});

/**
 * Reads an OPML document.
 * @throws OpmlError when the text is not well-formed XML (with line and column), has no
 *   `<opml>` root or no `<body>`.
 */
export function parseOpml(text: string): OpmlDocument {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${typeof text}`);
  if (text.trim() === '') throw new OpmlError('the file is empty: there is no OPML in it');
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    const at = col === undefined ? `line ${line}` : `line ${line}, column ${col}`;
    throw new OpmlError(`not well-formed XML at ${at}: ${msg}`);
  }
  const root = (parser.parse(text) as Attributes)['opml'];
  if (typeof root !== 'object' || root === null) {
    throw new OpmlError('no <opml> root element: this is not an OPML file');
  }
  const { head, body } = root as { head?: unknown; body?: unknown };
  // An empty <body/> parses as '': a list of no feeds, not a missing body.
  if (body === undefined || body === null || (typeof body !== 'object' && body !== '')) {
    throw new OpmlError('the <opml> element has no <body> with outlines');
  }
  const feeds = new Map<string, OpmlFeed>();
  const skipped: { outline: string; reason: string }[] = [];
  const visit = (outlines: readonly Outline[], folders: readonly string[]): void => {
    for (const outline of outlines) {
      const name = textOf(outline['text']) ?? textOf(outline['title']);
      const xmlUrl = textOf(outline['xmlUrl']);
      if (xmlUrl === undefined) {
        visit(outline.outline ?? [], name === undefined ? folders : [...folders, name]);
        continue;
      }
      const url = httpUrl(xmlUrl);
      if (url === undefined) {
        skipped.push({
          outline: name ?? xmlUrl,
          reason: `xmlUrl ${JSON.stringify(xmlUrl)} is not an absolute http(s) URL`,
        });
        continue;
      }
      if (feeds.has(url)) continue;
      feeds.set(url, {
        url,
        title: name,
        siteUrl: httpUrl(textOf(outline['htmlUrl']) ?? ''),
        category: folders.length === 0 ? undefined : folders.join(' / '),
      });
    }
  };
  visit(body === '' ? [] : ((body as Outline).outline ?? []), []);
  const title =
    typeof head === 'object' && head !== null ? textOf((head as Attributes)['title']) : undefined;
  return { title, feeds: [...feeds.values()], skipped };
}

/** An attribute's text, trimmed; `undefined` when missing or blank. */
function textOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function httpUrl(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  format: true,
  suppressEmptyNode: true,
});

/**
 * Writes an OPML 2.0 document listing `feeds`, grouped into one level of folders by
 * `category`. {@link parseOpml} reads it back to the same feeds.
 */
export function formatOpml(feeds: readonly OpmlFeed[], { title = 'workbus-feeds' } = {}): string {
  const outline = (feed: OpmlFeed): Attributes => ({
    '@type': 'rss',
    '@text': feed.title ?? feed.url,
    '@xmlUrl': feed.url,
    ...(feed.siteUrl === undefined ? {} : { '@htmlUrl': feed.siteUrl }),
  });
  const loose: Attributes[] = [];
  const folders = new Map<string, Attributes[]>();
  for (const feed of feeds) {
    if (feed.category === undefined) loose.push(outline(feed));
    else folders.set(feed.category, [...(folders.get(feed.category) ?? []), outline(feed)]);
  }
  const outlines = [
    ...[...folders].map(([name, children]) => ({ '@text': name, outline: children })),
    ...loose,
  ];
  const document = {
    opml: {
      '@version': '2.0',
      head: { title, dateCreated: new Date().toUTCString() },
      body: { outline: outlines },
    },
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build(document)}`;
}
