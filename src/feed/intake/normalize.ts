/**
 * {@link ParsedFeed} → {@link FeedDocument}: what the store keeps of a feed. Every item
 * gets a key that stays the same across fetches, absolute links, numeric dates and a
 * plain-text summary.
 */
import { createHash } from 'node:crypto';
import { throwIfAborted } from '../../abort.js';
import { integer, optionalSignal, options as checkOptions } from '../../validate.js';
import { htmlToText, truncate } from './html-text.js';
import type { FeedFormat, ParsedFeed, ParsedItem } from './parsed.js';
import { normalizeLink, resolveUrl } from './url.js';

/** Where an item's key came from. */
export type KeySource = 'guid' | 'link' | 'hash';

/** One item as the store keeps it. Plain data: it crosses threads and ports. */
export interface NormalizedItem {
  /**
   * Stable identity within its feed: the guid (in its normal link form when it is an
   * http(s) URL), else the normalised link, else `sha256:` + a hash of title and date.
   * @see normalizeLink for the link rules (tracking parameters and fragments dropped).
   */
  readonly key: string;
  readonly keySource: KeySource;
  /** The guid as the feed gives it, or null. */
  readonly guid: string | null;
  /** The item's page, absolute; null when the feed gives none or it cannot be resolved. */
  readonly link: string | null;
  /** The title as plain text, whitespace collapsed; null when absent. */
  readonly title: string | null;
  /** Plain text (HTML stripped, entities decoded, whitespace collapsed), at most `summaryLength` characters. */
  readonly summary: string | null;
  /** The content as HTML, as the feed gives it (not sanitised: sanitise before display). */
  readonly content: string | null;
  /** The first author's name, or null. */
  readonly author: string | null;
  /**
   * When published, in milliseconds since the epoch; the updated date when only that is
   * given; null when neither is (never NaN).
   */
  readonly publishedAt: number | null;
  readonly updatedAt: number | null;
}

/** A feed document as the store keeps it. */
export interface FeedDocument {
  readonly format: FeedFormat;
  readonly version: string | null;
  readonly title: string | null;
  /** The site the feed is for, absolute, or null. */
  readonly siteUrl: string | null;
  /** Items in feed order, one per key: a repeated key keeps its first item. */
  readonly items: readonly NormalizedItem[];
  /** How many items were dropped for repeating an earlier item's key. */
  readonly duplicates: number;
}

/** Options of {@link normalizeFeed}. */
export interface NormalizeOptions {
  /** The URL the feed was fetched from: relative links resolve against it. */
  readonly url?: string | undefined;
  /**
   * The longest summary, in characters.
   * @default 500
   */
  readonly summaryLength?: number | undefined;
  /** Checked between items, so a huge feed stops soon after an abort. */
  readonly signal?: AbortSignal | undefined;
}

/** @see NormalizeOptions.summaryLength */
export const DEFAULT_SUMMARY_LENGTH = 500;

/**
 * Normalises a parsed feed. Relative links resolve against the `xml:base` the parser
 * applied, then the feed's URL (`options.url`), then the site URL.
 *
 * Keys, in order of preference:
 * 1. the guid: the publisher's own identity for the item. An http(s) guid loses its
 *    tracking parameters (not its fragment: `page#a1` and `page#a2` are two posts);
 * 2. the normalised link, when no other item of this document has the same one (a
 *    podcast that links every episode to one page must not become one item);
 * 3. a SHA-256 of title and date (and, for an untitled item, its text).
 *
 * Items repeating an earlier key are dropped (counted in `duplicates`): a repeated guid
 * is the publisher saying it is the same item, and the same title at the same time is.
 *
 * @throws an abort error when `signal` aborts; TypeError/RangeError for bad options.
 */
export function normalizeFeed(feed: ParsedFeed, options: NormalizeOptions = {}): FeedDocument {
  const record = checkOptions('normalizeFeed options', options, ['url', 'summaryLength', 'signal']);
  const signal = optionalSignal('normalizeFeed options.signal', record['signal']);
  const url = options.url;
  const summaryLength =
    options.summaryLength === undefined
      ? DEFAULT_SUMMARY_LENGTH
      : integer('normalizeFeed options.summaryLength', options.summaryLength, 1);
  const siteUrl = resolveUrl(feed.siteUrl, url) ?? null;
  const links = feed.items.map((item) => resolveUrl(item.url, url, siteUrl) ?? null);
  const linkUses = new Map<string, number>();
  for (const link of links) {
    const key = link === null ? undefined : normalizeLink(link);
    if (key !== undefined) linkUses.set(key, (linkUses.get(key) ?? 0) + 1);
  }
  const items: NormalizedItem[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  for (const [index, parsed] of feed.items.entries()) {
    throwIfAborted(signal);
    const link = links[index] ?? null;
    const item = normalizeItem(parsed, link, linkUses, summaryLength);
    if (seen.has(item.key)) {
      duplicates++;
      continue;
    }
    seen.add(item.key);
    items.push(item);
  }
  return {
    format: feed.format,
    version: feed.version,
    title: plain(feed.title),
    siteUrl,
    items,
    duplicates,
  };
}

function normalizeItem(
  item: ParsedItem,
  link: string | null,
  linkUses: ReadonlyMap<string, number>,
  summaryLength: number,
): NormalizedItem {
  const title = plain(item.title);
  const publishedAt = item.published ?? item.updated;
  const summarySource = item.description ?? item.content;
  const summaryText = summarySource === null ? '' : htmlToText(summarySource);
  return {
    ...keyOf(item, link, linkUses, title, publishedAt),
    guid: item.id,
    link,
    title,
    summary: summaryText === '' ? null : truncate(summaryText, summaryLength),
    content: item.content,
    author: item.authors[0] ?? null,
    publishedAt,
    updatedAt: item.updated,
  };
}

function keyOf(
  item: ParsedItem,
  link: string | null,
  linkUses: ReadonlyMap<string, number>,
  title: string | null,
  publishedAt: number | null,
): { key: string; keySource: KeySource } {
  if (item.id !== null) {
    return { key: normalizeLink(item.id, 'keep') ?? item.id, keySource: 'guid' };
  }
  const normalized = link === null ? undefined : normalizeLink(link);
  if (normalized !== undefined && linkUses.get(normalized) === 1) {
    return { key: normalized, keySource: 'link' };
  }
  // Nothing names the item alone: what it says and when is the best identity left.
  // Without a title its text stands in, so two untitled items stay two.
  const text = title === null ? (item.content ?? item.description ?? '') : '';
  const basis = JSON.stringify([title ?? '', publishedAt ?? '', text]);
  return { key: `sha256:${createHash('sha256').update(basis).digest('hex')}`, keySource: 'hash' };
}
/** Title text: whitespace collapsed, null when blank. */
function plain(text: string | null): string | null {
  const collapsed = text?.replace(/\s+/g, ' ').trim();
  return collapsed === undefined || collapsed === '' ? null : collapsed;
}
