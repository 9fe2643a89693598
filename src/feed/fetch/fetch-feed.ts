/**
 * One polite HTTP request for a feed: conditional (the stored ETag sent back as it came,
 * Last-Modified as If-Modified-Since), bounded in time and size, with redirects followed
 * by hand so a permanent move (301/308) can be told from a temporary one (302/303/307).
 *
 * Every answer a server can give is an outcome, as plain data, for the caller to act on
 * (store, back off, forget the feed); only the caller's own abort rejects. That keeps the
 * policy — what counts as a failure strike, when to poll again — in one place, the
 * controller, and this module free of it.
 */
import { abortErrorOf, LinkedSignal, throwIfAborted } from '../../abort.js';
import { duration, integer, options as checkOptions, requiredSignal } from '../../validate.js';
import { parseRetryAfter } from './retry-after.js';

/** What to ask for: the feed's URL and the validators stored from its last answer. */
export interface FeedRequest {
  readonly url: string;
  /** The `ETag` of the last 200, sent back byte for byte as `If-None-Match`. */
  readonly etag?: string | undefined;
  /** The `Last-Modified` of the last 200, sent back as `If-Modified-Since`. */
  readonly lastModified?: string | undefined;
}

/** Options of {@link fetchFeed}. */
export interface FetchFeedOptions {
  /** Aborting it closes the HTTP request; `fetchFeed` then rejects with the abort error. */
  readonly signal: AbortSignal;
  /** Time for the whole exchange, redirects and body included, in ms. @default 30000 */
  readonly timeoutMs?: number | undefined;
  /** Largest body read, in bytes (after decompression); more ends as `too-large`. @default 10485760 */
  readonly maxBytes?: number | undefined;
  /** Redirects followed before giving up. @default 5 */
  readonly maxRedirects?: number | undefined;
  /** The `User-Agent` header. @default 'workbus-feeds/0.1' */
  readonly userAgent?: string | undefined;
  /** The clock `Retry-After` delays count from (ms since the epoch). @default Date.now */
  readonly now?: (() => number) | undefined;
}

/** Fields of every outcome. */
interface OutcomeBase {
  /** The URL that gave the final answer (after redirects). */
  readonly url: string;
  /**
   * Where the feed now lives, when the redirects from the requested URL began with
   * permanent ones (301/308): the last URL reached through permanent redirects only.
   * A temporary redirect (302/303/307) never moves a feed.
   */
  readonly movedTo: string | undefined;
}

/** How a feed request ended. */
export type FetchOutcome =
  /** 2xx with a body: `body` is the raw bytes, to be decoded with `contentType`. */
  | (OutcomeBase & {
      readonly kind: 'fetched';
      readonly status: number;
      readonly body: Uint8Array;
      readonly contentType: string | undefined;
      readonly etag: string | undefined;
      readonly lastModified: string | undefined;
    })
  /** 304: nothing changed. `etag`/`lastModified` are the server's, when it sent new ones. */
  | (OutcomeBase & {
      readonly kind: 'not-modified';
      readonly etag: string | undefined;
      readonly lastModified: string | undefined;
    })
  /** 429 or 503: the server asked for time; not the feed's fault. */
  | (OutcomeBase & {
      readonly kind: 'retry-later';
      readonly status: 429 | 503;
      /** From `Retry-After` (seconds or an HTTP date), when the server sent one. */
      readonly retryAt: number | undefined;
    })
  /** 410: the feed is gone for good. */
  | (OutcomeBase & { readonly kind: 'gone'; readonly status: 410 })
  /** Anything else that produced no feed body. */
  | (OutcomeBase & {
      readonly kind: 'failed';
      readonly reason: 'http' | 'timeout' | 'network' | 'too-large' | 'redirects';
      /** The HTTP status, for `reason: 'http'` (404, 500, …). */
      readonly status: number | undefined;
      readonly message: string;
    });

const OPTIONS = ['signal', 'timeoutMs', 'maxBytes', 'maxRedirects', 'userAgent', 'now'] as const;
const REQUEST = ['url', 'etag', 'lastModified'] as const;
const ACCEPT =
  'application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8';
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const PERMANENT = new Set([301, 308]);

interface Settings {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly maxRedirects: number;
  readonly userAgent: string;
  readonly now: () => number;
}

function settingsOf(value: unknown): Settings {
  const given = checkOptions('fetchFeed options', value, OPTIONS);
  const userAgent = given['userAgent'] ?? 'workbus-feeds/0.1';
  if (typeof userAgent !== 'string' || userAgent === '') {
    throw new TypeError(`userAgent must be a non-empty string, got ${typeof userAgent}`);
  }
  const now = given['now'] ?? Date.now;
  if (typeof now !== 'function') throw new TypeError(`now must be a function, got ${typeof now}`);
  return {
    signal: requiredSignal('fetchFeed options.signal', given['signal']),
    timeoutMs: duration('timeoutMs', given['timeoutMs'] ?? 30_000, 1),
    maxBytes: integer('maxBytes', given['maxBytes'] ?? 10 * 1024 * 1024, 1),
    maxRedirects: integer('maxRedirects', given['maxRedirects'] ?? 5, 0, 20),
    userAgent,
    now: now as () => number,
  };
}

function httpUrl(field: string, value: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(`${field} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
  }
  return url.href;
}

function optionalText(field: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new TypeError(`${field} must be a string, got ${typeof value}`);
  return value;
}

/**
 * Requests a feed once, following up to `maxRedirects` redirects, and says how it went.
 * Waits for the headers and, on a 2xx, for the whole body (up to `maxBytes`).
 *
 * @returns the outcome; see {@link FetchOutcome}. A timeout, a network error, an
 *   oversized body or an HTTP error is an outcome, not a rejection.
 * @throws the abort error of `options.signal` when it aborts (the request is closed);
 *   TypeError / RangeError for bad arguments, before any request is made.
 */
export async function fetchFeed(
  request: FeedRequest,
  options: FetchFeedOptions,
): Promise<FetchOutcome> {
  const settings = settingsOf(options);
  const given = checkOptions('fetchFeed request', request, REQUEST);
  const url = httpUrl('request.url', given['url']);
  const etag = optionalText('request.etag', given['etag']);
  const lastModified = optionalText('request.lastModified', given['lastModified']);
  throwIfAborted(settings.signal);
  const link = new LinkedSignal(settings.signal, { timeoutMs: settings.timeoutMs });
  const headers: Record<string, string> = { accept: ACCEPT, 'user-agent': settings.userAgent };
  if (etag !== undefined) headers['if-none-match'] = etag;
  if (lastModified !== undefined) headers['if-modified-since'] = lastModified;
  let current = url;
  let movedTo: string | undefined;
  let permanentSoFar = true;
  try {
    for (let hop = 0; ; hop++) {
      const response = await fetch(current, { headers, redirect: 'manual', signal: link.signal });
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || location === null) {
        return await outcomeOf(response, { url: current, movedTo }, settings, link.signal);
      }
      await response.body?.cancel();
      if (hop === settings.maxRedirects) {
        return failed(
          { url: current, movedTo },
          'redirects',
          undefined,
          `more than ${settings.maxRedirects} redirects`,
        );
      }
      const next = new URL(location, current).href;
      permanentSoFar &&= PERMANENT.has(response.status);
      if (permanentSoFar) movedTo = next;
      current = next;
    }
  } catch (error) {
    if (settings.signal.aborted) throw abortErrorOf(settings.signal);
    const base = { url: current, movedTo };
    if (link.signal.aborted) {
      return failed(
        base,
        'timeout',
        undefined,
        `no complete answer within ${settings.timeoutMs} ms`,
      );
    }
    return failed(base, 'network', undefined, networkMessage(error));
  } finally {
    link.dispose();
  }
}

async function outcomeOf(
  response: Response,
  base: OutcomeBase,
  settings: Settings,
  signal: AbortSignal,
): Promise<FetchOutcome> {
  const { status } = response;
  const etag = response.headers.get('etag') ?? undefined;
  const lastModified = response.headers.get('last-modified') ?? undefined;
  if (status >= 200 && status < 300) {
    const body = await readBody(response, settings.maxBytes, signal);
    if (body === undefined) {
      return failed(
        base,
        'too-large',
        status,
        `the body is larger than ${settings.maxBytes} bytes`,
      );
    }
    const contentType = response.headers.get('content-type') ?? undefined;
    return { ...base, kind: 'fetched', status, body, contentType, etag, lastModified };
  }
  await response.body?.cancel();
  if (status === 304) return { ...base, kind: 'not-modified', etag, lastModified };
  if (status === 429 || status === 503) {
    const retryAt = parseRetryAfter(response.headers.get('retry-after'), settings.now());
    return { ...base, kind: 'retry-later', status, retryAt };
  }
  if (status === 410) return { ...base, kind: 'gone', status };
  const text = response.statusText === '' ? '' : ` ${response.statusText}`;
  return failed(base, 'http', status, `HTTP ${status}${text}`);
}

/** The whole body, or `undefined` once it passes `maxBytes` (the rest is never read). */
async function readBody(
  response: Response,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Uint8Array | undefined> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes || response.body === null) {
    await response.body?.cancel();
    return declared > maxBytes ? undefined : new Uint8Array(0);
  }
  // The DOM typings leave a fetch body's chunk type open; Node's are always bytes.
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  throwIfAborted(signal);
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function failed(
  base: OutcomeBase,
  reason: 'http' | 'timeout' | 'network' | 'too-large' | 'redirects',
  status: number | undefined,
  message: string,
): FetchOutcome {
  return { ...base, kind: 'failed', reason, status, message };
}

/** undici reports "fetch failed" and keeps the reason (ECONNREFUSED, ENOTFOUND, …) in `cause`. */
function networkMessage(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message;
  }
  return String(cause);
}
