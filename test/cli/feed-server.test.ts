/**
 * The demo's feed server answers as the publishers it imitates do, and counts what it is
 * asked: the fetcher's politeness tests rely on both.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FeedServer, type ServedFeed } from '../../src/cli/feed-server.js';
import { fetchFeed } from '../../src/feed/fetch/fetch-feed.js';
import '../helpers/http.js';

const signal = new AbortController().signal;
const RSS = '<rss version="2.0"><channel><title>t</title></channel></rss>';
let server: FeedServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(feeds: readonly ServedFeed[], latencyMs = 0): Promise<FeedServer> {
  server = await FeedServer.start(feeds, { latencyMs });
  return server;
}

describe('FeedServer', () => {
  it('serves a feed with validators, and a 304 when they match', async () => {
    const s = await start([{ name: 'a', host: '127.0.0.2', body: RSS }]);
    const first = await fetchFeed({ url: s.url('a') }, { signal });
    expect(first).toMatchObject({ kind: 'fetched', contentType: 'application/xml' });
    if (first.kind !== 'fetched') throw new Error('unreachable');
    const second = await fetchFeed({ url: s.url('a'), etag: first.etag }, { signal });
    expect(second.kind).toBe('not-modified');
    s.setBody('a', `${RSS} `);
    const third = await fetchFeed({ url: s.url('a'), etag: first.etag }, { signal });
    expect(third.kind === 'fetched' && third.etag !== first.etag).toBe(true);
    expect(s.feedStats().get('a')).toEqual({ requests: 3, notModified: 1, maxConcurrent: 1 });
  });

  it('fails a flaky feed, then recovers', async () => {
    const s = await start([
      { name: 'f', host: '127.0.0.2', body: RSS, behaviour: { kind: 'flaky', failures: 2 } },
    ]);
    const kinds = [];
    for (let i = 0; i < 3; i++) kinds.push((await fetchFeed({ url: s.url('f') }, { signal })).kind);
    expect(kinds).toEqual(['failed', 'failed', 'fetched']);
  });

  it('rate-limits with Retry-After, answers gone, and redirects', async () => {
    const s = await start([
      {
        name: 'r',
        host: '127.0.0.2',
        body: RSS,
        behaviour: { kind: 'rate-limited', retryAfterSeconds: 30, times: 1 },
      },
      { name: 'g', host: '127.0.0.2', body: RSS, behaviour: { kind: 'gone' } },
      {
        name: 'old',
        host: '127.0.0.3',
        body: '',
        behaviour: { kind: 'moved', status: 301, to: 'r' },
      },
    ]);
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(await fetchFeed({ url: s.url('r') }, { signal, now: () => now })).toMatchObject({
      kind: 'retry-later',
      retryAt: now + 30_000,
    });
    expect((await fetchFeed({ url: s.url('g') }, { signal })).kind).toBe('gone');
    expect(await fetchFeed({ url: s.url('old') }, { signal })).toMatchObject({
      kind: 'fetched',
      movedTo: s.url('r'),
    });
  });

  it('counts requests open at once per host and per feed', async () => {
    const s = await start([
      { name: 'a', host: '127.0.0.2', body: RSS, behaviour: { kind: 'slow', delayMs: 60_000 } },
      { name: 'b', host: '127.0.0.2', body: RSS, behaviour: { kind: 'slow', delayMs: 60_000 } },
      { name: 'c', host: '127.0.0.3', body: RSS },
    ]);
    const controller = new AbortController();
    const pending = ['a', 'a', 'b'].map((name) =>
      fetchFeed({ url: s.url(name) }, { signal: controller.signal }).catch(() => undefined),
    );
    await expect.poll(() => s.hostStats().get('127.0.0.2')?.open).toBe(3);
    await fetchFeed({ url: s.url('c') }, { signal });
    controller.abort();
    await Promise.all(pending);
    expect(s.hostStats().get('127.0.0.2')).toMatchObject({ requests: 3, maxConcurrent: 3 });
    expect(s.hostStats().get('127.0.0.3')).toMatchObject({ requests: 1, maxConcurrent: 1 });
    expect(s.feedStats().get('a')?.maxConcurrent).toBe(2);
    await expect.poll(() => s.hostStats().get('127.0.0.2')?.open).toBe(0);
  });

  it('answers a slow feed too late for a short timeout', async () => {
    const s = await start([
      { name: 's', host: '127.0.0.2', body: RSS, behaviour: { kind: 'slow', delayMs: 60_000 } },
    ]);
    expect(await fetchFeed({ url: s.url('s') }, { signal, timeoutMs: 500 })).toMatchObject({
      kind: 'failed',
      reason: 'timeout',
    });
    expect(s.feedStats().get('s')?.requests).toBe(1);
  });

  it('refuses a duplicate name and a host that is not loopback', async () => {
    await expect(
      FeedServer.start([
        { name: 'a', host: '127.0.0.2', body: RSS },
        { name: 'a', host: '127.0.0.2', body: RSS },
      ]),
    ).rejects.toThrow(/a is used twice/);
    await expect(FeedServer.start([{ name: 'a', host: '10.0.0.1', body: RSS }])).rejects.toThrow(
      /loopback address, got 10.0.0.1/,
    );
  });
});
