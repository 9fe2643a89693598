/**
 * One key per story link: the same article reached through `http` and `https`, with or
 * without `www.`, a fragment, tracking parameters or a trailing slash is one link.
 */
import { normalizeLink } from '../intake/url.js';

/**
 * The canonical form of an absolute http(s) link: its item-key form (`normalizeLink`:
 * fragment and tracking parameters dropped, one rule for both), then host without
 * `www.`, path without a trailing slash, the remaining query parameters sorted and the
 * scheme dropped: looser than an item key, since two feeds of one site differ in exactly
 * these. `undefined` for anything that is not an absolute http(s) URL (a bare guid, a
 * `tag:` URI).
 */
export function canonicalLink(link: string): string | undefined {
  const normal = normalizeLink(link.trim());
  if (normal === undefined) return undefined;
  const url = new URL(normal);
  const host = url.hostname.replace(/^www\./, '');
  const port = url.port === '' ? '' : `:${url.port}`;
  const path = url.pathname.replace(/\/+$/, '');
  const params = [...url.searchParams];
  params.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const query = params.length === 0 ? '' : `?${new URLSearchParams(params).toString()}`;
  return `${host}${port}${path}${query}`;
}
