/**
 * The workbus-feeds CLI driven as a user drives it: the built program spawned, its output
 * read, its exit code checked.
 */
import { execFile, spawn } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { WebSocket } from 'ws';
import { connectWorkbus, webSocketPort } from '../../src/bridge/index.js';
import { bundlePage } from '../../src/bridge/dashboard/bundle.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFeeds } from '../../src/cli/demo-feeds.js';
import { FeedServer, type ServedFeed } from '../../src/cli/feed-server.js';
import { formatOpml } from '../../src/feed/opml.js';
import '../helpers/http.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const exec = promisify(execFile);
let dir: string;
let cli: string;

/**
 * The program as `npm ci` builds it, compiled into a directory of its own (the package
 * test builds `dist/` at the same time), beside links to what it reads at run time.
 */
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'workbus-cli-'));
  for (const name of ['node_modules', 'demo', 'package.json']) {
    symlinkSync(join(root, name), join(dir, name));
  }
  await exec(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      join(dir, 'dist'),
    ],
    { cwd: root },
  );
  writeFileSync(join(dir, 'dist/bridge/dashboard/page.js'), await bundlePage());
  cli = join(dir, 'dist/cli/main.js');
}, 180_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function runCommand(file: string, args: readonly string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(file, args, { cwd: dir, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The CLI with `args`, its output piped (not a terminal). */
function run(...args: string[]): Promise<Run> {
  return runCommand(process.execPath, [cli, ...args]);
}

/** Subscribes the database `db` to every feed `server` serves, as a user would: an OPML import. */
async function subscribe(
  db: string,
  server: FeedServer,
  served: readonly ServedFeed[],
): Promise<void> {
  const opml = join(dir, `${basename(db)}.opml`);
  writeFileSync(
    opml,
    formatOpml(
      served.map((f) => ({
        url: server.url(f.name),
        title: f.name,
        siteUrl: undefined,
        category: undefined,
      })),
    ),
  );
  expect((await run('import', opml, '--db', db)).code).toBe(0);
}

/** `count` copies of one real feed, spread over four hosts. */
function manyFeeds(count: number): ServedFeed[] {
  const body = readFileSync(join(root, 'demo/feeds/feedreader__Rss20NYTimes.xml'));
  return Array.from({ length: count }, (_, i) => ({
    name: `f${i}.xml`,
    host: `127.0.0.${2 + (i % 4)}`,
    body,
  }));
}

/** A port free on loopback now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The file's own check: `ok`, or what SQLite found wrong. */
function integrity(db: string): unknown {
  const check = new BetterSqlite3(db, { readonly: true });
  try {
    return check.pragma('integrity_check');
  } finally {
    check.close();
  }
}

describe('workbus-feeds demo', () => {
  it('fetches the bundled feeds into a SQLite file; a second run gets 304s and stores nothing twice', async () => {
    const db = join(dir, 'demo.db');
    const first = await run('demo', '--db', db);
    expect(first.code).toBe(0);
    const stored = /items in the store: (\d+)/.exec(first.stdout)?.[1];
    expect(Number(stored)).toBeGreaterThan(300);
    expect(first.stdout).toMatch(/feeds: 2\d stored/);
    expect(first.stdout).toMatch(/FAILED\s+rsparser__allthis-partial\.json — .*malformed/);
    expect(first.stdout).toMatch(/FAILED\s+rsparser__natasha\.xml — .*within \d+ ms/);
    expect(first.stdout).toMatch(/stored\s+feedreader__Rss20Reuters\.xml/);
    const second = await run('demo', '--db', db);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/feeds: 0 stored, 2\d not modified/);
    expect(/items in the store: (\d+)/.exec(second.stdout)?.[1]).toBe(stored);
  }, 240_000);
});

describe('workbus-feeds commands', () => {
  it('imports OPML, lists feeds and exports them again', async () => {
    const db = join(dir, 'cmd.db');
    const opml = join(dir, 'in.opml');
    writeFileSync(
      opml,
      '<opml version="2.0"><body><outline text="A" xmlUrl="http://127.0.0.9:1/a.xml"/><outline text="B" xmlUrl="http://127.0.0.9:1/b.xml"/></body></opml>',
    );
    expect((await run('import', opml, '--db', db)).stdout).toBe(
      'imported 2 feed(s); 0 already there\n',
    );
    expect((await run('import', opml, '--db', db)).stdout).toBe(
      'imported 0 feed(s); 2 already there\n',
    );
    const feeds = await run('feeds', '--db', db);
    expect(feeds.stdout.trim().split('\n')).toHaveLength(2);
    const out = join(dir, 'out', 'feeds.opml');
    mkdirSync(join(dir, 'out'));
    expect((await run('export', out, '--db', db)).stdout).toBe(`wrote 2 feed(s) to ${out}\n`);
  });

  it.each([
    [['fetsh'], 2, /unknown command "fetsh"\. Run workbus-feeds --help/],
    [
      ['feeds', '--db', '/nonexistent-dir/x.db'],
      1,
      /cannot use the database \/nonexistent-dir\/x\.db/,
    ],
    [['import', '/nonexistent.opml'], 1, /cannot read \/nonexistent\.opml: ENOENT/],
  ])('%j exits %i with one paragraph naming the problem', async (args, code, message) => {
    const result = await run(...args);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('names a file that is not a database, and a file that is not OPML', async () => {
    const notDb = join(dir, 'not.db');
    writeFileSync(notDb, 'hello, not SQLite '.repeat(100));
    expect((await run('feeds', '--db', notDb)).stderr).toMatch(
      /not\.db is not a workbus-feeds database/,
    );
    const notOpml = join(dir, 'not.opml');
    writeFileSync(notOpml, '<rss version="2.0"/>');
    expect((await run('import', notOpml, '--db', join(dir, 'x.db'))).stderr).toMatch(
      /not an OPML file: no <opml> root/,
    );
  });
});

describe('workbus-feeds fetch --watch', () => {
  it('owns its database while it runs (another process is told who holds it) and stops on Ctrl-C', async () => {
    const db = join(dir, 'watch.db');
    const watcher = spawn(process.execPath, [cli, 'fetch', '--watch', '--db', db], { cwd: dir });
    let out = '';
    watcher.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => watcher.on('close', resolve));
    await expect.poll(() => out, { timeout: 30_000 }).toMatch(/watching 0 feed\(s\)/);
    const refused = await run('feeds', '--db', db);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(`watch\\.db is in use by another workbus-feeds \\(pid ${watcher.pid} on [^)]+\\)`),
    );
    watcher.kill('SIGINT');
    expect(await exited).toBe(0);
    expect((await run('feeds', '--db', db)).code).toBe(0);
  }, 120_000);
});

describe('workbus-feeds fetch --watch --dashboard', () => {
  it('serves the live dashboard of its pool on loopback, read-only when asked, until Ctrl-C', async () => {
    const db = join(dir, 'dashboard.db');
    const watcher = spawn(
      process.execPath,
      [cli, 'fetch', '--watch', '--dashboard', '0', '--read-only', '--db', db],
      { cwd: dir },
    );
    let out = '';
    watcher.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => watcher.on('close', resolve));
    await expect
      .poll(() => out, { timeout: 30_000 })
      .toMatch(/dashboard: http:\/\/127\.0\.0\.1:\d+\/ \(read-only\)/);
    const url = /dashboard: (\S+)/.exec(out)?.[1] ?? '';
    // No keep-alive: no socket outlives the test.
    const get = (path: string): Promise<{ status: number | undefined; body: string }> =>
      new Promise((resolve, reject) => {
        httpGet(`${url}${path}`, { agent: false }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode, body }));
        }).on('error', reject);
      });
    const page = await get('');
    expect(page.status).toBe(200);
    expect(page.body).toContain('workbus (read-only)');
    const script = await get('dashboard.js');
    expect([script.status, script.body.length > 1000]).toEqual([200, true]);
    const socket = new WebSocket(`${url.replace('http', 'ws')}bridge`, {
      origin: url.slice(0, -1),
    });
    const closed = new Promise((resolve) => socket.on('close', resolve));
    const client = await connectWorkbus(webSocketPort(socket), { reconnect: false });
    const snapshot = await client.snapshot();
    expect(Object.keys(snapshot.pool.types)).toEqual(['fetch', 'parse']);
    expect(snapshot.store?.path).toBe(db);
    client.close();
    await closed;
    watcher.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 120_000);
});

describe('workbus-feeds fetch interrupted', () => {
  it('stops within its grace on Ctrl-C mid-cycle over 200 slow feeds; the file is intact and the next run does the rest', async () => {
    const served = manyFeeds(200);
    const server = await FeedServer.start(served, { latencyMs: 150 });
    try {
      const db = join(dir, 'interrupted.db');
      await subscribe(db, server, served);
      const fetching = spawn(process.execPath, [cli, 'fetch', '--once', '--db', db], { cwd: dir });
      let err = '';
      fetching.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => fetching.on('close', resolve));
      const requests = (): number =>
        [...server.hostStats().values()].reduce((n, h) => n + h.requests, 0);
      await expect.poll(requests, { timeout: 60_000 }).toBeGreaterThanOrEqual(20);
      fetching.kill('SIGINT');
      // One Ctrl-C is enough: the command stops in order within its grace, no second one needed.
      expect(await exited).toBe(130);
      expect(err).toMatch(/interrupted; everything stored so far is kept/);
      const first = requests();
      expect(first).toBeLessThan(200);
      expect(integrity(db)).toEqual([{ integrity_check: 'ok' }]);
      const rest = await run('fetch', '--once', '--db', db);
      expect(rest.code).toBe(0);
      const feeds = (await run('feeds', '--db', db)).stdout.trim().split('\n');
      expect(feeds).toHaveLength(200);
      expect(feeds.filter((line) => line.includes('last -'))).toEqual([]);
    } finally {
      await server.close();
    }
  }, 180_000);
});

/**
 * Output as a terminal shows it: the command run inside a pseudo-terminal by util-linux's
 * `script` (its stdout is the terminal's, so the program sees a TTY).
 */
async function runInTerminal(...args: string[]): Promise<Run> {
  const quote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;
  const line = [process.execPath, cli, ...args].map(quote).join(' ');
  try {
    await exec('script', ['--version']);
  } catch {
    throw new Error(
      'the terminal tests need `script` from util-linux (apt-get install -y util-linux)',
    );
  }
  return runCommand('script', ['-qfec', line, '/dev/null']);
}

describe('workbus-feeds fetch: what it shows', () => {
  /**
   * The bundled feeds as published, but one answering after 10 s: the cycle lasts that
   * long, long past the others even on a loaded machine.
   */
  const served: ServedFeed[] = demoFeeds().map(({ behaviour: _, ...feed }, i) =>
    i === 0 ? { ...feed, behaviour: { kind: 'slow', delayMs: 10_000 } } : feed,
  );
  let server: FeedServer;
  beforeAll(async () => {
    server = await FeedServer.start(served);
  });
  afterAll(async () => {
    await server.close();
  });

  it('on a terminal, redraws one status line in place: per type running/queued, feeds done, items stored, duplicates dropped', async () => {
    const db = join(dir, 'tty.db');
    await subscribe(db, server, served);
    const shown = await runInTerminal('fetch', '--once', '--db', db);
    expect(shown.code).toBe(0);
    const redraws = shown.stdout.split('\r\x1b[2K').slice(1);
    // While the slow feed is awaited, every other one is done and counted on the line.
    expect(redraws).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^fetch \\d+/8 running, \\d+ queued · parse \\d+/2 running, \\d+ queued · feeds ${served.length - 1}/${served.length} · items \\+[1-9]\\d* · duplicates \\d+$`,
        ),
      ),
    );
    // The line is cleared at the end, and the summary follows; no per-feed lines.
    expect(redraws.at(-1)).toMatch(/^feeds: \d+ stored, .* duplicates dropped: \d+\r\n$/);
    expect(shown.stdout).not.toMatch(/^stored /m);
  }, 120_000);

  it('to a pipe, writes one plain line per feed as it ends, with no control sequences', async () => {
    const db = join(dir, 'piped.db');
    await subscribe(db, server, served);
    const piped = await run('fetch', '--once', '--db', db);
    expect(piped.code).toBe(0);
    expect(piped.stdout).not.toContain('\x1b');
    expect(piped.stdout).not.toContain('\r');
    const lines = piped.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(served.length + 1);
    for (const line of lines.slice(0, -1)) {
      expect(line).toMatch(/^(stored |304 |later |skipped|FAILED ) \S+/);
    }
    // Each feed once, by name.
    const named = lines.slice(0, -1).map((line) => /^\S+ +(\S+)/.exec(line)?.[1]);
    expect(named.sort()).toEqual(served.map((f) => f.name).sort());
    expect(lines.at(-1)).toMatch(/^feeds: \d+ stored, /);
  }, 120_000);
});

describe('workbus-feeds fetch --exclude', () => {
  it('stores no item a pattern matches (repeatable, case-insensitive) and counts what it dropped', async () => {
    const served = demoFeeds().map(({ behaviour: _, ...feed }) => feed);
    const server = await FeedServer.start(served);
    try {
      const db = join(dir, 'excluded.db');
      await subscribe(db, server, served);
      const fetched = await run(
        'fetch',
        '--once',
        '--exclude',
        'apple',
        '--exclude',
        '\\bGOOGLE\\b',
        '--db',
        db,
      );
      expect(fetched.code).toBe(0);
      expect(fetched.stdout).toMatch(/^stored .* \(\d+ filtered out\)$/m);
      const dropped = Number(
        /items: \d+ new, \d+ updated, (\d+) filtered out/.exec(fetched.stdout)?.[1],
      );
      expect(dropped).toBeGreaterThan(0);
      const titles = (await run('list', '--limit', '1000', '--db', db)).stdout.trim().split('\n');
      expect(titles.length).toBeGreaterThan(100);
      expect(titles.filter((line) => /apple|\bgoogle\b/i.test(line))).toEqual([]);
    } finally {
      await server.close();
    }
  }, 120_000);

  it('names a pattern that is not a regular expression', async () => {
    const refused = await run('fetch', '--exclude', '(unclosed', '--db', join(dir, 'never.db'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--exclude "\(unclosed" is not a regular expression: /);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('workbus-feeds fetch: a second Ctrl-C', () => {
  it('forces the exit while fetches under way are still awaited; the file is intact and the next run completes', async () => {
    const served = manyFeeds(200);
    // Answers take 60 s: the first Ctrl-C's grace (5 s) is spent waiting for them.
    // One port on every host, so the same URLs can be served again after.
    const port = await freePort();
    const slow = await FeedServer.start(served, { latencyMs: 60_000, port });
    const db = join(dir, 'forced.db');
    try {
      await subscribe(db, slow, served);
      const fetching = spawn(process.execPath, [cli, 'fetch', '--once', '--db', db], { cwd: dir });
      let err = '';
      fetching.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => fetching.on('close', resolve));
      const open = (): number => [...slow.hostStats().values()].reduce((n, h) => n + h.open, 0);
      // Every fetcher waiting for an answer (2 per host, 4 hosts).
      await expect.poll(open, { timeout: 60_000 }).toBe(8);
      fetching.kill('SIGINT');
      await expect
        .poll(() => err, { timeout: 30_000 })
        .toMatch(/stopping: fetches under way finish within 5 s \(Ctrl-C again to force\)/);
      fetching.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(err).toMatch(/forced to stop; fetches under way are dropped/);
      expect(err).not.toMatch(/\n\s+at /);
    } finally {
      await slow.close();
    }
    expect(integrity(db)).toEqual([{ integrity_check: 'ok' }]);
    // The same feeds, answering at once now.
    const quick = await FeedServer.start(served, { port });
    try {
      const rest = await run('fetch', '--once', '--db', db);
      expect(rest.code).toBe(0);
      // The 8 fetches cut off by the force might have succeeded, or crashed the process: the
      // failure tracker counts each once (its documented at-most-one over-count), so they
      // back off; every other feed is stored.
      const lines = rest.stdout.trimEnd().split('\n').slice(0, -1);
      expect(lines.filter((line) => line.startsWith('stored '))).toHaveLength(192);
      const held = lines.filter((line) => !line.startsWith('stored '));
      expect(held).toHaveLength(8);
      for (const line of held)
        expect(line).toMatch(/^skipped f\d+\.xml — .* is backing off until /);
      // A refresh by hand forgives one.
      const name = /^skipped (f\d+\.xml)/.exec(held[0] ?? '')?.[1] ?? '';
      const refreshed = await run('refresh', quick.url(name), '--db', db);
      expect(refreshed.stdout).toMatch(new RegExp(`^stored  ${name} \\+\\d+ ~0$`, 'm'));
    } finally {
      await quick.close();
    }
  }, 180_000);
});
