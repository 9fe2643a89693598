import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { apiExamples } from '../examples/api.js';
import { feedStore } from '../examples/feed-store.js';
import { scalingOut } from '../examples/distributed.js';
import { feedFetchers } from '../examples/feed-fetchers.js';
import { redisAdmin, redisUrl, testPrefix } from './helpers/redis.js';
import './helpers/http.js';
import { failures } from '../examples/failures.js';
import { files } from '../examples/files.js';
import { runPipeline } from '../examples/pipeline.js';
import { runPoolDemo } from '../examples/pool.js';
import { tour } from '../examples/tour.js';

const root = new URL('../', import.meta.url);
const examplesPrefix = testPrefix('examples');
redisAdmin(examplesPrefix);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
/** Code with indentation and blank lines removed, so a block matches wherever it is nested. */
const normalise = (code: string): string =>
  code
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join('\n');

describe('README', () => {
  it('has a quick start of exactly the two documented commands', () => {
    const quickStart = read('README.md').split('## Quick start')[1]?.split('\n## ')[0] ?? '';
    const commands = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]?.trim());
    expect(commands).toEqual(['npm ci && npm run demo', 'npm ci && npm test']);
  });

  it('shows only code that is in a type-checked, tested example', () => {
    const examples = readdirSync(new URL('examples/', root))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => normalise(read(`examples/${f}`)));
    const blocks = [...read('README.md').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    for (const block of blocks) {
      expect(
        examples.some((source) => source.includes(normalise(block))),
        block,
      ).toBe(true);
    }
  });
});

/** Every source file under `dir` (relative to the project root), recursively. */
function sources(dir: string, ending: RegExp): string[] {
  return readdirSync(new URL(dir, root), { recursive: true, encoding: 'utf8' })
    .filter((file) => ending.test(file))
    .map((file) => `${dir}${file}`);
}

/** The fenced code of every `@example` in a TSDoc comment of `source`. */
function tsdocExamples(source: string): string[] {
  const out: string[] = [];
  for (const [comment] of source.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const text = comment.replace(/^\s*\*( |$)/gm, '');
    for (const [, code] of text.matchAll(/@example\s*```ts\n([\s\S]*?)```/g)) out.push(code ?? '');
  }
  return out;
}

describe('API docs', () => {
  const exampleSources = sources('examples/', /\.ts$/).map((file) => normalise(read(file)));

  it('every @example in src/ is code from a type-checked, tested example', () => {
    const examples = sources('src/', /\.ts$/).flatMap((file) =>
      tsdocExamples(read(file)).map((code) => [file, code] as const),
    );
    expect(examples.length).toBeGreaterThanOrEqual(8);
    for (const [file, code] of examples) {
      expect(
        exampleSources.some((source) => source.includes(normalise(code))),
        `${file}: ${code}`,
      ).toBe(true);
    }
  });

  it.each([
    ['src/pool/work-pool.ts', /\n(?:\/\/.*\n)*export class WorkPool/],
    ['src/pool/work-pool.ts', /\n {2}submit<R>\(/],
    ['src/pool/work-pool.ts', /\n {2}run<R>\(/],
    ['src/bus/event-bus.ts', /\n {2}subscribe<K/],
    ['src/lifecycle/lifecycle.ts', /\n {2}add\(name/],
    ['src/pool/worker-task.ts', /\nexport function workerTask/],
    ['src/pool/worker-task.ts', /\nexport function workerModule/],
    ['src/feed/sqlite-feed-store.ts', /\n {2}static async open\(/],
    ['src/feed/memory-feed-store.ts', /\n {2}constructor\(/],
  ])('%s documents %s with an example', (file, declaration) => {
    const source = read(file);
    const at = source.search(declaration);
    expect(at, `${String(declaration)} in ${file}`).toBeGreaterThan(0);
    const comment = source.slice(source.lastIndexOf('/**', at), at);
    expect(comment).toMatch(/@example\s*\*?\s*```ts\n/);
  });
});

describe('examples', () => {
  it('the API docs examples run', async () => {
    const lines: string[] = [];
    await apiExamples((line) => lines.push(line));
    expect(lines).toEqual([
      '<rss from https://example.org/feed.xml> <rss from https://example.org/feed.xml> cancelled',
      '<rss from https://example.org/feed.xml>',
      'https://example.org/feed.xml: 2 new',
      '3 updates: 1,2,3',
      'took a,b; 0 left',
      'pool:stopped bus:stopped',
    ]);
  });

  it('tour runs and prints what the README says it prints', async () => {
    const lines: string[] = [];
    await tour((line) => lines.push(line));
    expect(lines).toContain(
      'received b,c; stats {"sent":3,"received":2,"dropped":1,"buffered":0,"highWater":2}',
    );
    expect(lines).toContain('["job-1"] then ["job-2","job-3"]');
    expect(lines).toContain('[{"guid":"a","title":"First!"}]');
    expect(lines).toContain('keyed locks alive after use: 0');
    expect(lines).toContain('timed out: true, abort: false');
    expect(lines).toContain('notice: refreshed');
    expect(lines).toContain('1 feed.updated: 3 new');
    expect(lines).toContain('updates ended: bus-closed');
    expect(lines).toContain(
      'feed-2#2, 2 dims, {"queued":0,"running":0,"retrying":0,"succeeded":2,"failed":0,"cancelled":0,"skipped":0}',
    );
    expect(lines).toContain('closed: {"completed":0,"cancelled":0,"abandoned":[]}');
    expect(lines).toContain('producer:stopped pool:stopped bus:stopped');
    expect(lines).toContain('LockOrderError: Lock order cycle: store -> feed -> store');
    expect(lines).toContain(
      '{"running":0,"queued":1,"limit":2,"paused":true,"heldByRate":false}, 1 queued',
    );
    expect(lines).toContain('page; the caller who left got an abort: true');
    expect(lines).toContain('NonRetryableError: 404 Not Found after 1 attempt');
    expect(lines.at(-1)).toMatch(/one shared download$/);
  });

  it('files: an atomic write, a locked read-modify-write, a lock found busy', async () => {
    const lines: string[] = [];
    await files((line) => lines.push(line));
    expect(lines).toEqual(['opened 1 time(s): {"theme":"dark","opened":1}', 'busy: FILE_LOCKED']);
  });

  it('feed store: a differential update, a page of unread items, the same in memory', async () => {
    const lines: string[] = [];
    await feedStore((line) => lines.push(line));
    expect(lines).toEqual([
      'first: 2 added',
      'again: 1 added (c), 1 updated, 1 unchanged',
      'newest unread: Third, Second (edited); more: true',
      'in memory, same ids: feed 1, 1 unread',
    ]);
  });

  it('scaling out: an event through a Redis stream, a job through BullMQ', async () => {
    const lines: string[] = [];
    await scalingOut(redisUrl(), examplesPrefix, (line) => lines.push(line));
    expect(lines).toEqual(['1 https://example.org/feed.xml', 'measured 5']);
  });

  it('feed fetchers: the due feeds fetched as jobs of a distributed pool, into the shared store', async () => {
    const lines: string[] = [];
    await feedFetchers(redisUrl(), `${examplesPrefix}:feeds`, (line) => lines.push(line));
    expect(lines).toEqual(['stored: 2 items added', 'due again: 0']);
  });

  it('failures: a key backs off, a permanent failure, forgiving a key', async () => {
    const lines: string[] = [];
    await failures((line) => lines.push(line));
    expect(lines).toEqual([
      'JOB_SKIPPED: backoff',
      'https://example.org/feed.xml: 1, permanent false',
      'https://example.org/old.xml: 1, permanent true',
      'fetched',
    ]);
  });

  it('pipeline respects its limits, cancels half-way and accounts for every item', async () => {
    const report = await runPipeline({ items: 30, cancelAfter: 10, log: () => {} });
    expect(report.maxOnNetwork).toBeLessThanOrEqual(3);
    expect(report.maxOnCpu).toBe(1);
    expect(report.parsed).toBe(10);
    expect(report.produced).toBeLessThan(30);
    expect(report.produced).toBe(report.fetched + report.cancelledFetching + report.leftInUrls);
    expect(report.fetched).toBe(report.parsed + report.cancelledParsing + report.leftInPages);
    expect(report.urls.sent).toBe(report.produced);
    expect(report.urls.dropped + report.pages.dropped).toBe(0);
  });

  it('pool demo shows priorities, no head-of-line blocking, retry, timeout, cancel, a worker job and close', async () => {
    const { startOrder, results, close } = await runPoolDemo(() => {});
    // The low-priority fetches start while the high-priority embed type is saturated.
    expect(startOrder.slice(0, 4).sort()).toEqual([
      'checksum',
      'embed-1',
      'fetch-high',
      'fetch-low',
    ]);
    expect(results).toMatchObject({
      'fetch-flaky': 'ok on attempt 2',
      'fetch-slow': 'TimeoutError',
      'fetch-cancelled': 'cancelled',
      'embed-late-3': 'cancelled',
    });
    expect(results.checksum).toMatch(/^[0-9a-f]{16}$/);
    expect(close.abandoned).toEqual([]);
    expect(close.cancelled).toBeGreaterThanOrEqual(1);
  });

  it('npm run demo:core runs both core demos as a program', async () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts['demo:core']).toBe('tsx examples/demo.ts');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'examples/demo.ts'],
      { cwd: new URL('.', root), timeout: 60_000 },
    );
    expect(stdout).toMatch(/cancelling the rest/);
    expect(stdout).toMatch(/accounted for\s+(\d+) = \d+ fetched/);
    expect(stdout).toMatch(/closed: \{"completed":\d+,"cancelled":\d+,"abandoned":\[\]\}/);
  });
});
