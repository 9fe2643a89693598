/** HTML → plain text for summaries: what a list of items shows under a title. */
import { decode } from 'html-entities';

/** Elements whose content is not text a reader sees. */
const HIDDEN = /<(script|style|template|noscript|iframe|object|svg|math)\b[\s\S]*?<\/\1\s*>/gi;

/**
 * The text of an HTML fragment: comments, CDATA markers, hidden elements (`script`,
 * `style`, …) and tags removed, entities decoded, whitespace collapsed to single spaces.
 * Tags become spaces, so `<p>a</p><p>b</p>` reads `a b`, not `ab`.
 */
export function htmlToText(html: string): string {
  const withoutMarkup = html
    .replace(/<!--[\s\S]*?(?:-->|$)/g, ' ')
    .replace(/<!\[CDATA\[|\]\]>/g, '')
    .replace(HIDDEN, ' ')
    .replace(/<\/?[A-Za-z][^>]*>/g, ' ');
  return decode(withoutMarkup).replace(/\s+/g, ' ').trim();
}

/**
 * `text` cut to at most `max` characters (code points: an emoji is never split), at a
 * word boundary when one is near, with `…` marking the cut.
 */
export function truncate(text: string, max: number): string {
  // Code units are never fewer than code points: a short text needs no counting.
  if (text.length <= max) return text;
  const points = Array.from(text);
  if (points.length <= max) return text;
  const cut = points.slice(0, Math.max(0, max - 1)).join('');
  const space = cut.lastIndexOf(' ');
  const kept = space >= cut.length * 0.6 ? cut.slice(0, space) : cut;
  return `${kept.trimEnd()}…`;
}
