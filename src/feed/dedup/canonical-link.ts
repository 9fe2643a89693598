/**
 * One key per story link: the same article reached through `http` and `https`, with or
 * without `www.`, a fragment, tracking parameters or a trailing slash is one link.
 */

/** Query parameters that track a click and never choose the content. */
const TRACKING = /^(?:utm_[a-z]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_hsenc|_hsmi|ref_src)$/i;

/**
 * The canonical form of an absolute http(s) link: host without `www.` (lower case, as
 * URL gives it), path without a trailing slash, the remaining query parameters sorted;
 * scheme, port 80/443, fragment and tracking parameters dropped. `undefined` for
 * anything that is not an absolute http(s) URL (a bare guid, a `tag:` URI).
 */
export function canonicalLink(link: string): string | undefined {
  if (!URL.canParse(link.trim())) return undefined;
  const url = new URL(link.trim());
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const host = url.hostname.replace(/^www\./, '');
  const port = url.port === '' ? '' : `:${url.port}`;
  const path = url.pathname.replace(/\/+$/, '');
  const params = [...url.searchParams].filter(([name]) => !TRACKING.test(name));
  params.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const query = params.length === 0 ? '' : `?${new URLSearchParams(params).toString()}`;
  return `${host}${port}${path}${query}`;
}
