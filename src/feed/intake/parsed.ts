/**
 * A parsed feed as plain data, the same shape whichever parser read it (feed-parser for
 * RSS, RDF and Atom; our own reader for JSON Feed). Values are as the document gives
 * them: links may still be relative, text may hold HTML. `normalize.ts` turns this into
 * a `FeedDocument`.
 */

/** The feed formats the intake reads. */
export type FeedFormat = 'rss' | 'atom' | 'json';

/** One entry of a parsed feed. */
export interface ParsedItem {
  /** `<guid>`, `<id>`, JSON Feed `id`; null when absent or blank. */
  readonly id: string | null;
  /** The item's page (after `xml:base`, as feed-parser resolves it); may be relative. */
  readonly url: string | null;
  readonly title: string | null;
  /** A short description, HTML or text (`<description>`, `<summary>`, JSON `summary`). */
  readonly description: string | null;
  /** The full content as HTML (`content:encoded`, `<content>`, JSON `content_html`). */
  readonly content: string | null;
  /** Author names (an email address when that is all there is). */
  readonly authors: readonly string[];
  /** Milliseconds since the epoch, or null when absent or unreadable. */
  readonly published: number | null;
  readonly updated: number | null;
}

/** A parsed feed. */
export interface ParsedFeed {
  readonly format: FeedFormat;
  /** `'2.0'`, `'1.0'` (RDF), `'0.3'` (Atom), `'1.1'` (JSON Feed), …; null when not given. */
  readonly version: string | null;
  readonly title: string | null;
  /** The site the feed is for (`<link>`, Atom `rel="alternate"`, JSON `home_page_url`). */
  readonly siteUrl: string | null;
  /** The feed's own URL as it states it (Atom `rel="self"`, JSON `feed_url`). */
  readonly selfUrl: string | null;
  readonly items: readonly ParsedItem[];
}

/** A date as milliseconds, or null (never NaN). */
export function timeOf(date: Date | string | null | undefined): number | null {
  if (date === null || date === undefined) return null;
  const time = date instanceof Date ? date.getTime() : Date.parse(date);
  return Number.isFinite(time) ? time : null;
}
