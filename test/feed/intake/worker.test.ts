/**
 * The intake on a pool worker type: a ~1 MB feed parsed in a worker thread gives the same
 * document as in this thread, and a failure keeps its kind and details across the thread.
 */
import { describe, expect, it } from 'vitest';
import {
  FeedParseError,
  intakeFeed,
  intakeResultOf,
  intakeWorker,
} from '../../../src/feed/intake/index.js';
import type * as intakeWorkerModule from '../../../src/feed/intake/intake.worker.js';
import { workerModule, WorkPool } from '../../../src/index.js';
import { thrownBy } from '../../pool/work-pool.helpers.js';
import { bytes, fixture } from './helpers.js';

/** The worker module through a loader shim, since threads cannot load .ts by themselves. */
const worker = workerModule<typeof intakeWorkerModule>(
  new URL('./fixtures/intake.worker.mjs', import.meta.url),
);

function newPool() {
  return new WorkPool({ concurrency: 2, types: { parse: { concurrency: 1, worker } } });
}

describe('feed intake in a worker thread', () => {
  it('parses a ~1 MB feed off the main thread, with the same result as in-thread', async () => {
    const feed = fixture('sample-feeds__real-world_off-menu-podcast.xml');
    expect(feed.length).toBeGreaterThan(1_000_000);
    const pool = newPool();
    try {
      const input = { bytes: feed, url: 'https://example.org/off-menu.xml' };
      const outcome = await pool.run('parse', input);
      const result = intakeResultOf(outcome);
      expect(result.document.items).toHaveLength(207);
      expect(result).toEqual(intakeFeed(input));
    } finally {
      await pool.close();
    }
  });

  it('a bad feed comes back as a failure with its kind and advertised links, and the next feed is read', async () => {
    const pool = newPool();
    try {
      const page = bytes(
        '<!DOCTYPE html><html><head><link rel="alternate" type="application/atom+xml" href="/atom"></head></html>',
      );
      const outcome = await pool.run('parse', { bytes: page, url: 'https://site.example/' });
      expect(outcome).toEqual({
        ok: false,
        failure: {
          kind: 'not-a-feed',
          message:
            'The document is an HTML page, not a feed; it advertises https://site.example/atom',
          parserMessage: null,
          feedLinks: ['https://site.example/atom'],
        },
      });
      const error = thrownBy(() => intakeResultOf(outcome));
      expect(error).toBeInstanceOf(FeedParseError);
      expect(error).toMatchObject({
        code: 'FEED_PARSE',
        kind: 'not-a-feed',
        feedLinks: ['https://site.example/atom'],
      });

      const next = await pool.run('parse', {
        bytes: bytes('<rss><channel><item><guid>1</guid></item></channel></rss>'),
      });
      expect(intakeResultOf(next).document.items.map((item) => item.key)).toEqual(['1']);
    } finally {
      await pool.close();
    }
  });

  it('intakeWorker names the built module beside its own', () => {
    expect(String(intakeWorker.url)).toMatch(/\/feed\/intake\/intake\.worker\.js$/);
  });
});
