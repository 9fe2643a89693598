/**
 * The demo's publishers: the real feeds bundled in `demo/feeds` (MIT, BSD and Apache
 * sources; see its NOTICE.md), spread over three loopback hosts, with the misbehaviours a
 * reader meets in the wild given to a few of them.
 */
import { readFileSync } from 'node:fs';
import type { FeedBehaviour, ServedFeed } from './feed-server.js';

/** Where the bundled feeds are, from `src/cli` and from `dist/cli` alike. */
export const DEMO_FEEDS = new URL('../../demo/feeds/', import.meta.url);

/** The demo's fetch timeout: the slow feed answers after twice as long. */
export const DEMO_TIMEOUT_MS = 2000;

const HOSTS: Readonly<Record<string, string>> = {
  feedreader: '127.0.0.2',
  rsparser: '127.0.0.3',
};
const OTHER_HOST = '127.0.0.4';

const BEHAVIOURS: Readonly<Record<string, FeedBehaviour>> = {
  'feedreader__Rss20Reuters.xml': { kind: 'flaky', failures: 1 },
  'rsparser__natasha.xml': { kind: 'slow', delayMs: 2 * DEMO_TIMEOUT_MS },
  'rsparser__macworld.rss': { kind: 'rate-limited', retryAfterSeconds: 2, times: 1 },
};

/** The bundled feeds as the demo serves them, in manifest order. */
export function demoFeeds(): ServedFeed[] {
  const manifest = readFileSync(new URL('MANIFEST.tsv', DEMO_FEEDS), 'utf8');
  return manifest
    .trim()
    .split('\n')
    .slice(1)
    .map((row) => {
      const file = row.split('\t')[0] ?? '';
      const source = file.split('__')[0] ?? '';
      const behaviour = BEHAVIOURS[file];
      return {
        name: file.replace(/[^\w.-]/g, '_'),
        host: HOSTS[source] ?? OTHER_HOST,
        body: readFileSync(new URL(file, DEMO_FEEDS)),
        contentType: file.endsWith('.json') ? 'application/feed+json' : 'application/xml',
        ...(behaviour === undefined ? {} : { behaviour }),
      };
    });
}
