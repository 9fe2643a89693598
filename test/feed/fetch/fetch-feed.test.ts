/**
 * fetchFeed against a real HTTP server on loopback: conditional requests, redirects,
 * the answers that ask for time, limits on time and size, and the caller's abort.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { isAbortError } from '../../../src/abort.js';
import { fetchFeed, type FetchFeedOptions } from '../../../src/feed/fetch/fetch-feed.js';
import { closeServer, lastServer, serve } from '../../helpers/http.js';

const signal = new AbortController().signal;
const RSS = '<rss version="2.0"><channel><title>t</title></channel></rss>';

function options(extra: Partial<FetchFeedOptions> = {}): FetchFeedOptions {
  return { signal, ...extra };
}

describe('fetchFeed conditional requests', () => {
  it('returns the body, its type and validators on a 200', async () => {
    const base = await serve((_, res) => {
      res.writeHead(200, {
        'content-type': 'application/rss+xml',
        etag: '"v1"',
        'last-modified': 'Mon, 30 Nov 2026 10:00:00 GMT',
      });
      res.end(RSS);
    });
    const outcome = await fetchFeed({ url: `${base}/feed` }, options());
    expect(outcome).toMatchObject({
      kind: 'fetched',
      status: 200,
      url: `${base}/feed`,
      movedTo: undefined,
      contentType: 'application/rss+xml',
      etag: '"v1"',
      lastModified: 'Mon, 30 Nov 2026 10:00:00 GMT',
    });
    expect(outcome.kind === 'fetched' && Buffer.from(outcome.body).toString()).toBe(RSS);
  });

  it('sends the stored ETag back byte for byte and Last-Modified as If-Modified-Since', async () => {
    const seen: { etag: Buffer; since: string | undefined }[] = [];
    const base = await serve((req, res) => {
      const raw = req.rawHeaders;
      const at = raw.findIndex((name) => name.toLowerCase() === 'if-none-match');
      seen.push({
        etag: Buffer.from(raw[at + 1] ?? '', 'latin1'),
        since: req.headers['if-modified-since'],
      });
      res.writeHead(304);
      res.end();
    });
    // An opaque validator with a byte above 0x7f: it must not be re-encoded on the way back.
    const etag = Buffer.from([0x57, 0x2f, 0x22, 0x61, 0xe9, 0x22]).toString('latin1');
    const outcome = await fetchFeed(
      { url: base, etag, lastModified: 'Mon, 30 Nov 2026 10:00:00 GMT' },
      options(),
    );
    expect(outcome.kind).toBe('not-modified');
    expect(seen).toHaveLength(1);
    expect([...(seen[0]?.etag ?? [])]).toEqual([0x57, 0x2f, 0x22, 0x61, 0xe9, 0x22]);
    expect(seen[0]?.since).toBe('Mon, 30 Nov 2026 10:00:00 GMT');
  });

  it('reports a new ETag sent with a 304', async () => {
    const base = await serve((_, res) => {
      res.writeHead(304, { etag: '"v2"' });
      res.end();
    });
    expect(await fetchFeed({ url: base, etag: '"v1"' }, options())).toMatchObject({
      kind: 'not-modified',
      etag: '"v2"',
    });
  });

  it('sends no validators when none are stored', async () => {
    const headers: IncomingMessage['headers'][] = [];
    const base = await serve((req, res) => {
      headers.push(req.headers);
      res.end(RSS);
    });
    await fetchFeed({ url: base }, options());
    expect(headers[0]?.['if-none-match']).toBeUndefined();
    expect(headers[0]?.['if-modified-since']).toBeUndefined();
  });
});

describe('fetchFeed redirects', () => {
  /** A server whose paths redirect as the table says; '/feed' answers with the feed. */
  async function redirecting(table: Record<string, [number, string]>): Promise<string> {
    return serve((req, res) => {
      const hop = table[req.url ?? ''];
      if (hop === undefined) {
        res.end(RSS);
        return;
      }
      res.writeHead(hop[0], { location: hop[1] });
      res.end();
    });
  }

  it.each([301, 308])('a %i moves the feed', async (status) => {
    const base = await redirecting({ '/old': [status, '/feed'] });
    expect(await fetchFeed({ url: `${base}/old` }, options())).toMatchObject({
      kind: 'fetched',
      url: `${base}/feed`,
      movedTo: `${base}/feed`,
    });
  });

  it.each([302, 303, 307])('a %i does not move the feed', async (status) => {
    const base = await redirecting({ '/old': [status, '/feed'] });
    expect(await fetchFeed({ url: `${base}/old` }, options())).toMatchObject({
      kind: 'fetched',
      url: `${base}/feed`,
      movedTo: undefined,
    });
  });

  it('moves the feed only as far as the permanent redirects at the start of the chain', async () => {
    const base = await redirecting({ '/a': [301, '/b'], '/b': [302, '/c'], '/c': [301, '/feed'] });
    expect(await fetchFeed({ url: `${base}/a` }, options())).toMatchObject({
      kind: 'fetched',
      url: `${base}/feed`,
      movedTo: `${base}/b`,
    });
  });

  it('gives up after maxRedirects', async () => {
    const base = await redirecting({ '/a': [302, '/b'], '/b': [302, '/a'] });
    expect(await fetchFeed({ url: `${base}/a` }, options({ maxRedirects: 3 }))).toMatchObject({
      kind: 'failed',
      reason: 'redirects',
    });
  });
});

describe('fetchFeed answers that are not a feed body', () => {
  it.each([429, 503] as const)(
    'a %i with Retry-After in seconds asks for that long',
    async (status) => {
      const base = await serve((_, res) => {
        res.writeHead(status, { 'retry-after': '120' });
        res.end();
      });
      const now = Date.parse('2026-11-30T12:00:00Z');
      expect(await fetchFeed({ url: base }, options({ now: () => now }))).toEqual({
        kind: 'retry-later',
        status,
        retryAt: now + 120_000,
        url: `${base}/`,
        movedTo: undefined,
      });
    },
  );

  it('a Retry-After as an HTTP date is that time', async () => {
    const base = await serve((_, res) => {
      res.writeHead(429, { 'retry-after': 'Mon, 30 Nov 2026 12:05:00 GMT' });
      res.end();
    });
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(await fetchFeed({ url: base }, options({ now: () => now }))).toMatchObject({
      kind: 'retry-later',
      retryAt: Date.parse('2026-11-30T12:05:00Z'),
    });
  });

  it('a 429 without Retry-After leaves the delay to the caller', async () => {
    const base = await serve((_, res) => {
      res.writeHead(429);
      res.end();
    });
    expect(await fetchFeed({ url: base }, options())).toMatchObject({
      kind: 'retry-later',
      retryAt: undefined,
    });
  });

  it('a 410 is gone', async () => {
    const base = await serve((_, res) => {
      res.writeHead(410);
      res.end('gone');
    });
    expect(await fetchFeed({ url: base }, options())).toMatchObject({ kind: 'gone', status: 410 });
  });

  it.each([404, 500])('a %i is an HTTP failure naming the status', async (status) => {
    const base = await serve((_, res) => {
      res.writeHead(status);
      res.end();
    });
    expect(await fetchFeed({ url: base }, options())).toMatchObject({
      kind: 'failed',
      reason: 'http',
      status,
      message: expect.stringContaining(String(status)) as string,
    });
  });

  it('a refused connection is a network failure naming the cause', async () => {
    const base = await serve((_, res) => res.end());
    await closeServer(lastServer());
    expect(await fetchFeed({ url: base }, options())).toMatchObject({
      kind: 'failed',
      reason: 'network',
      message: expect.stringContaining('ECONNREFUSED') as string,
    });
  });
});

describe('fetchFeed limits', () => {
  it('a body past maxBytes is refused and not read further', async () => {
    let closed = false;
    const base = await serve((_, res) => {
      res.on('close', () => (closed = true));
      res.writeHead(200);
      // No Content-Length: the limit is found while reading.
      res.write('x'.repeat(600));
      res.write('x'.repeat(600));
      // Never ends on its own: the client must give up.
    });
    expect(await fetchFeed({ url: base }, options({ maxBytes: 1000 }))).toMatchObject({
      kind: 'failed',
      reason: 'too-large',
    });
    await expect.poll(() => closed).toBe(true);
  });

  it('a declared Content-Length past maxBytes is refused before reading', async () => {
    const base = await serve((_, res) => {
      res.writeHead(200, { 'content-length': '5000' });
      res.end('x'.repeat(5000));
    });
    expect(await fetchFeed({ url: base }, options({ maxBytes: 1000 }))).toMatchObject({
      kind: 'failed',
      reason: 'too-large',
    });
  });

  it('a server that does not answer within timeoutMs is a timeout, and the request is closed', async () => {
    let closed = false;
    const base = await serve((req) => req.on('close', () => (closed = true)));
    expect(await fetchFeed({ url: base }, options({ timeoutMs: 50 }))).toMatchObject({
      kind: 'failed',
      reason: 'timeout',
    });
    await expect.poll(() => closed).toBe(true);
  });
});

describe('fetchFeed cancellation and arguments', () => {
  it("the caller's abort closes the request and rejects with the abort error", async () => {
    let closed = false;
    let arrived!: () => void;
    const started = new Promise<void>((resolve) => (arrived = resolve));
    const base = await serve((req) => {
      req.on('close', () => (closed = true));
      arrived();
    });
    const controller = new AbortController();
    const pending = fetchFeed({ url: base }, options({ signal: controller.signal }));
    await started;
    controller.abort();
    const error: unknown = await pending.catch((e: unknown) => e);
    expect(isAbortError(error)).toBe(true);
    await expect.poll(() => closed).toBe(true);
  });

  it('an already aborted signal rejects without a request', async () => {
    let requests = 0;
    const base = await serve((_, res) => {
      requests++;
      res.end(RSS);
    });
    const error: unknown = await fetchFeed(
      { url: base },
      options({ signal: AbortSignal.abort() }),
    ).catch((e: unknown) => e);
    expect(isAbortError(error)).toBe(true);
    expect(requests).toBe(0);
  });

  it.each([
    [{ url: 'ftp://example.com/feed' }, options(), /absolute http\(s\) URL, got "ftp/],
    [{ url: 'not a url' }, options(), /absolute http\(s\) URL/],
    [{ url: 'http://x/', etag: 5 }, options(), /etag must be a string/],
    [{ url: 'http://x/', eTag: '"a"' }, options(), /eTag/],
    [{ url: 'http://x/' }, { signal, timeoutMs: 0 }, /timeoutMs/],
    [{ url: 'http://x/' }, { signal, maxBytes: 1.5 }, /maxBytes/],
    [{ url: 'http://x/' }, { signal, retries: 2 }, /retries/],
    [{ url: 'http://x/' }, {}, /signal/],
  ])('refuses %j with %j', async (request, opts, message) => {
    await expect(fetchFeed(request as never, opts as never)).rejects.toThrow(message);
  });
});
