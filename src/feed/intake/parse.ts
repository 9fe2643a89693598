/** Decoded text → {@link ParsedFeed}: sniff the format, then hand it to the parser for it. */
import { options as checkOptions } from '../../validate.js';
import { FeedParseError } from './errors.js';
import { parseJsonFeed } from './json-feed.js';
import type { ParsedFeed } from './parsed.js';
import { advertisedFeeds, sniffFormat } from './sniff.js';
import { parseXmlFeed } from './xml-feed.js';

/** Options of {@link parseFeedText}. */
export interface ParseOptions {
  /** Where the document came from: an HTML page's feed links are resolved against it. */
  readonly url?: string | undefined;
}

/**
 * Parses a feed document of any supported format: JSON Feed when it starts with `{`,
 * RSS/RDF/Atom when it starts with `<`.
 *
 * @throws FeedParseError: `'empty'` for an empty or blank document; `'not-a-feed'` for
 * an HTML page (with the feeds it advertises in `feedLinks`), XML that is not a feed,
 * JSON that is not a JSON Feed, or text that is neither XML nor JSON; `'malformed'`
 * when the parser cannot read the document.
 */
export function parseFeedText(text: string, options: ParseOptions = {}): ParsedFeed {
  const url = checkOptions('parseFeedText options', options, ['url'])['url'];
  if (typeof text !== 'string')
    throw new TypeError(`parseFeedText text must be a string, got ${typeof text}`);
  if (url !== undefined && typeof url !== 'string') {
    throw new TypeError(`parseFeedText options.url must be a string, got ${typeof url}`);
  }
  switch (sniffFormat(text)) {
    case 'empty':
      throw new FeedParseError('empty', 'The document is empty');
    case 'json':
      return parseJsonFeed(text);
    case 'xml':
      return parseXmlFeed(text);
    case 'html': {
      const feedLinks = advertisedFeeds(text, url);
      const named =
        feedLinks.length === 0 ? 'it advertises no feed' : `it advertises ${feedLinks.join(', ')}`;
      throw new FeedParseError('not-a-feed', `The document is an HTML page, not a feed; ${named}`, {
        feedLinks,
      });
    }
    case 'unknown':
      throw new FeedParseError(
        'not-a-feed',
        `The document is neither XML nor JSON: it starts with ${JSON.stringify(text.trimStart().slice(0, 20))}`,
      );
  }
}
