/**
 * `Retry-After` (RFC 9110 §10.2.3): a number of seconds or an HTTP date. Servers send
 * both forms, and a polite client honours either; a value that is neither is ignored
 * rather than guessed at.
 */

/**
 * The time (ms since the epoch) before which the server asked not to be asked again, or
 * `undefined` when the header is missing or is neither form. A date in the past, or a
 * delay of 0, means "now".
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return now + Number(text) * 1000;
  // An HTTP date names its weekday and a GMT zone; Date.parse alone would also take
  // "5" or "2026" as dates, which a server meant as something else.
  if (!/[a-z]{3},? .*\d{2}:\d{2}:\d{2}/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(at, now);
}
