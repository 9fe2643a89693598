/**
 * JSON Feed 1.0 and 1.1 (jsonfeed.org) read into the same {@link ParsedFeed} as RSS and
 * Atom. Lenient where real feeds differ from the spec (a numeric `id`, a 1.0 `author`
 * object next to 1.1 `authors`, a `version` that is not the spec's URL) and strict about
 * the shape: an object with an `items` array.
 */
import { encode } from 'html-entities';
import { FeedParseError, messageOf } from './errors.js';
import { timeOf, type ParsedFeed, type ParsedItem } from './parsed.js';

type Json = Record<string, unknown>;

const VERSION_URL = /^https?:\/\/jsonfeed\.org\/version\/(\d+(?:\.\d+)?)\/?$/i;

/**
 * Parses a JSON Feed.
 *
 * @throws FeedParseError `'malformed'` for text that is not JSON; `'not-a-feed'` for
 * JSON that is not a JSON Feed (no `items` array, as RSS-in-JSON documents).
 */
export function parseJsonFeed(text: string): ParsedFeed {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\ufeff/, ''));
  } catch (error) {
    throw new FeedParseError('malformed', 'The document starts as JSON but is not valid JSON', {
      cause: error,
      parserMessage: messageOf(error),
    });
  }
  if (!isObject(value) || !Array.isArray(value['items'])) {
    throw new FeedParseError(
      'not-a-feed',
      `The JSON document is not a JSON Feed: expected an object with an "items" array, got ${describe(value)}`,
    );
  }
  const version = string(value['version']);
  const items: ParsedItem[] = [];
  for (const item of value['items']) {
    if (isObject(item)) items.push(itemOf(item));
  }
  return {
    format: 'json',
    version: (version === null ? null : VERSION_URL.exec(version)?.[1]) ?? version,
    title: string(value['title']),
    siteUrl: string(value['home_page_url']),
    selfUrl: string(value['feed_url']),
    items,
  };
}

function itemOf(item: Json): ParsedItem {
  const html = string(item['content_html']);
  const text = string(item['content_text']);
  return {
    id: identifier(item['id']),
    url: string(item['url']) ?? string(item['external_url']),
    title: string(item['title']),
    description: string(item['summary']),
    // `content` is HTML everywhere in the intake: plain text is escaped to say what it says.
    content: html ?? (text === null ? null : encode(text)),
    authors: authorsOf(item),
    published: timeOf(string(item['date_published'])),
    updated: timeOf(string(item['date_modified'])),
  };
}

/** 1.1 `authors` (an array), else 1.0 `author` (one object). */
function authorsOf(item: Json): string[] {
  const listed = Array.isArray(item['authors']) ? (item['authors'] as unknown[]) : [item['author']];
  const names: string[] = [];
  for (const author of listed) {
    const name = isObject(author) ? string(author['name']) : null;
    if (name !== null) names.push(name);
  }
  return names;
}

/** The spec says a string; numbers are seen in the wild and are just as unique. */
function identifier(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return string(value);
}

function string(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (isObject(value)) {
    const keys = Object.keys(value).slice(0, 5);
    return keys.length === 0 ? 'an empty object' : `an object with keys ${keys.join(', ')}`;
  }
  return value === null ? 'null' : typeof value;
}
