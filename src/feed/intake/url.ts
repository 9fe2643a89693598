/** URL rules of the intake: resolving links, and the normal form that item keys use. */

/**
 * `url` resolved against the first base it resolves against (an absolute `url` needs
 * none); undefined when it cannot be made absolute.
 */
export function resolveUrl(
  url: string | null | undefined,
  ...bases: readonly (string | null | undefined)[]
): string | undefined {
  if (url === null || url === undefined) return undefined;
  const trimmed = url.trim();
  if (trimmed === '') return undefined;
  for (const base of [undefined, ...bases]) {
    if (base === null) continue;
    try {
      return new URL(trimmed, base).href;
    } catch {
      // Not absolute against this base; try the next.
    }
  }
  return undefined;
}

/**
 * Query parameters that only say where a click came from. A feed that starts adding them
 * to its links must not make every guid-less item look new.
 */
const TRACKING =
  /^(?:utm_\w+|fbclid|gclid|dclid|msclkid|yclid|mc_cid|mc_eid|_hsenc|_hsmi|igshid)$/i;

/**
 * The normal form of an absolute http(s) URL for use as an item key: scheme and host
 * lowercased and the default port dropped (the WHATWG URL parser does both), the
 * fragment (unless `fragment` is `'keep'`) and tracking parameters (`utm_*`, `fbclid`,
 * `gclid`, …) removed. Other parameters keep their order (they may select the page), in
 * one serialisation. Undefined for anything else.
 */
export function normalizeLink(url: string, fragment: 'drop' | 'keep' = 'drop'): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  if (fragment === 'drop') parsed.hash = '';
  // Rebuilt whether or not anything is removed: removing re-serialises the query
  // (`%20` becomes `+`), and the same link with and without tracking must come out equal.
  const kept = new URLSearchParams();
  for (const [name, value] of parsed.searchParams) {
    if (!TRACKING.test(name)) kept.append(name, value);
  }
  parsed.search = kept.size === 0 ? '' : kept.toString();
  return parsed.href;
}
