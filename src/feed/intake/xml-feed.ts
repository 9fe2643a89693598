/** RSS 0.9x/1.0/2.0 and Atom 0.3/1.0, read by `@rowanmanning/feed-parser` into a {@link ParsedFeed}. */
import { parseFeed as parseXml } from '@rowanmanning/feed-parser';
import { FeedParseError, messageOf } from './errors.js';
import { rootElement } from './sniff.js';
import { timeOf, type ParsedFeed, type ParsedItem } from './parsed.js';

type XmlFeed = ReturnType<typeof parseXml>;
type XmlItem = XmlFeed['items'][number];

/**
 * Parses an XML feed. Leading whitespace before `<?xml` (a common defect of real feeds,
 * which strict parsers refuse) is dropped first.
 *
 * @throws FeedParseError `'not-a-feed'` for XML without an `<rss>`, `<rdf:RDF>` or
 * `<feed>` element, `'malformed'` when the XML cannot be read at all.
 */
export function parseXmlFeed(text: string): ParsedFeed {
  let feed: XmlFeed;
  try {
    feed = parseXml(text.trimStart());
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'INVALID_FEED') throw notAFeed(text, error);
    throw new FeedParseError('malformed', 'The XML document could not be parsed', {
      cause: error,
      parserMessage: messageOf(error),
    });
  }
  // feed-parser reads lazily through getters: a defect deep in the document surfaces
  // here, and is the same per-feed failure.
  try {
    return {
      format: feed.meta.type === 'atom' ? 'atom' : 'rss',
      version: feed.meta.version,
      title: feed.title,
      siteUrl: feed.url,
      selfUrl: feed.self,
      items: feed.items.map(itemOf),
    };
  } catch (error) {
    throw new FeedParseError('malformed', 'The feed could not be read', {
      cause: error,
      parserMessage: messageOf(error),
    });
  }
}

/** feed-parser's "no feed here", told apart: an RSS/RDF root without a channel, or another document. */
function notAFeed(text: string, error: unknown): FeedParseError {
  const root = rootElement(text);
  const local = root?.split(':').pop()?.toLowerCase();
  const options = { cause: error, parserMessage: messageOf(error) };
  if (local === 'rss' || local === 'rdf') {
    return new FeedParseError(
      'empty',
      `The <${root}> document has no <channel>, so it holds no feed`,
      options,
    );
  }
  const found = root === undefined ? 'no root element was found' : `its root element is <${root}>`;
  return new FeedParseError(
    'not-a-feed',
    `The XML document is not a feed: expected <rss>, <rdf:RDF> or <feed>, but ${found}`,
    options,
  );
}

function itemOf(item: XmlItem): ParsedItem {
  const authors: string[] = [];
  for (const author of item.authors) {
    const name = author.name ?? author.email;
    if (name !== null && name.trim() !== '') authors.push(name.trim());
  }
  return {
    id: nonBlank(item.id),
    url: nonBlank(item.url),
    title: item.title,
    description: item.description,
    content: item.content,
    authors,
    published: timeOf(item.published),
    updated: timeOf(item.updated),
  };
}

function nonBlank(value: string | null): string | null {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? null : trimmed;
}
