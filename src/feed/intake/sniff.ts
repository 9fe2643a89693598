/**
 * What kind of document a decoded text is (JSON, XML, HTML), read from its start, and the
 * feeds an HTML page advertises: a site's home page served where its feed was expected
 * is common, and the links it names are where the feed really is.
 */
import { decode } from 'html-entities';
import { resolveUrl } from './url.js';

/** The format a document's first markup says it is in. */
export type SniffedFormat = 'json' | 'xml' | 'html' | 'empty' | 'unknown';

/**
 * Sniffs `text` from its start: whitespace and a BOM are skipped; `{` or `[` is JSON;
 * `<` is HTML when the first element (after the XML declaration, comments and any
 * doctype) is `<html>`, `<head>` or `<body>`, else XML. The doctype alone does not
 * decide: real feeds carry an XHTML doctype before `<rss>`.
 */
export function sniffFormat(text: string): SniffedFormat {
  const start = text.replace(/^[\s\ufeff]+/, '');
  if (start === '') return 'empty';
  const first = start[0];
  if (first === '{' || first === '[') return 'json';
  if (first !== '<') return 'unknown';
  const root = rootElement(start)?.toLowerCase();
  return root === 'html' || root === 'head' || root === 'body' ? 'html' : 'xml';
}

/**
 * The name of the first element of a markup document, as written (`'rss'`,
 * `'rdf:RDF'`), skipping the XML declaration, processing instructions, comments and a
 * doctype (with an internal subset); undefined when none starts in the first 64 KiB.
 */
export function rootElement(text: string): string | undefined {
  const head = text.slice(0, 65_536);
  const match =
    /^[\s\ufeff]*(?:(?:<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!doctype\b(?:[^[>]|\[[\s\S]*?\])*>)\s*)*<([A-Za-z_][\w:.-]*)/i.exec(
      head,
    );
  return match?.[1];
}

/** The `type`s of `<link rel="alternate">` that name a feed. */
const FEED_TYPES = new Set([
  'application/rss+xml',
  'application/atom+xml',
  'application/feed+json',
]);

/**
 * The feeds an HTML page advertises with `<link rel="alternate" type="…" href="…">` (RSS,
 * Atom, JSON Feed), in page order without repeats. Each `href` is resolved against the
 * page's `<base href>` and `pageUrl`; without a base to resolve against, a relative
 * `href` is kept as written.
 */
export function advertisedFeeds(html: string, pageUrl?: string): string[] {
  let base = resolveUrl(pageUrl);
  const baseTag = /<base\b[^>]*>/i.exec(html);
  if (baseTag !== null) {
    const href = attributesOf(baseTag[0]).get('href');
    if (href !== undefined) base = resolveUrl(href, base) ?? base;
  }
  const links: string[] = [];
  for (const [tag] of html.matchAll(/<link\b[^>]*>/gi)) {
    const attributes = attributesOf(tag);
    const rel = (attributes.get('rel') ?? '').toLowerCase().split(/\s+/);
    const type = (attributes.get('type') ?? '').toLowerCase().split(';')[0]?.trim() ?? '';
    const href = attributes.get('href')?.trim();
    if (!rel.includes('alternate') || !FEED_TYPES.has(type) || !href) continue;
    const link = resolveUrl(href, base) ?? href;
    if (!links.includes(link)) links.push(link);
  }
  return links;
}

/** A tag's attributes, names lowercased, values with entities decoded. */
function attributesOf(tag: string): Map<string, string> {
  const attributes = new Map<string, string>();
  const body = tag.replace(/^<\w+/, '').replace(/\/?>$/, '');
  for (const match of body.matchAll(
    /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g,
  )) {
    const name = match[1]?.toLowerCase();
    if (name === undefined || attributes.has(name)) continue;
    attributes.set(name, decode(match[2] ?? match[3] ?? match[4] ?? ''));
  }
  return attributes;
}
