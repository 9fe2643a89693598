/**
 * Crash: a child process loops over `replaceItems`, `saveEmbeddings` and
 * `writeFileAtomic` (fixtures/crash-writer.ts), printing each acknowledged commit; the
 * test kills it with SIGKILL at seeded random moments and checks, after every kill, that
 * the database is intact, every acknowledged commit is there, no transaction is half
 * applied, and the JSON file is one whole version.
 *
 * The child is bundled once (esbuild, which tsx runs on) into plain JavaScript, with the
 * database thread beside it, so a round costs a Node start and no TypeScript loading.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prng } from '../helpers/prng.js';
import { tempFile } from '../store/helpers.js';
import { contentVersion, FEED_URL, fileOf, ITEMS, title, window } from './fixtures/crash-plan.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let bundle = '';

beforeAll(async () => {
  // Inside the project, so the bundle resolves better-sqlite3 from node_modules.
  mkdirSync(join(root, '.reports'), { recursive: true });
  bundle = mkdtempSync(join(root, '.reports', 'feed-crash-'));
  const common = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3'] as string[],
    logLevel: 'error',
  } as const;
  await build({
    ...common,
    entryPoints: [fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url))],
    outfile: join(bundle, 'crash-writer.mjs'),
  });
  // Compiled, the Database starts `thread.js` beside its own module: the bundle.
  await build({
    ...common,
    entryPoints: [join(root, 'src/store/thread.ts')],
    outfile: join(bundle, 'thread.js'),
  });
}, 60_000);

afterAll(() => {
  if (bundle !== '') rmSync(bundle, { recursive: true, force: true });
});

interface Child {
  /** Resolves once the child has printed `count` lines (rejects if it ends first). */
  lines(count: number): Promise<readonly string[]>;
  readonly closed: Promise<{ signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
}

function startWriter(file: string, json: string): Child {
  const child = spawn(process.execPath, [join(bundle, 'crash-writer.mjs'), file, json], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  const complete = (): string[] => stdout.split('\n').slice(0, -1);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const watcher of watchers) watcher();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let ended = false;
  const closed = new Promise<{ signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (_code, signal) => {
      ended = true;
      for (const watcher of watchers) watcher();
      resolve({ signal, stderr });
    });
  });
  return {
    closed,
    kill: () => child.kill('SIGKILL'),
    lines: (count) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (complete().length >= count) {
            watchers.delete(check);
            resolve(complete());
          } else if (ended) {
            watchers.delete(check);
            reject(new Error(`the writer ended before printing ${count} lines: ${stderr}`));
          }
        };
        watchers.add(check);
        check();
      }),
  };
}

/** The versions found after a kill: the feed's items, the embeddings' iteration, the file. */
interface Found {
  readonly items: number;
  readonly embeddings: number;
  readonly file: number;
}

/** Reads what survived, checking that each part is one whole version. */
function survived(file: string, json: string): Found {
  const db = new BetterSqlite3(file);
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const feed = db.prepare('SELECT id FROM feed WHERE url = ?').get(FEED_URL) as
      { id: number } | undefined;
    const rows = db
      .prepare('SELECT guid, title FROM item WHERE feed_id = ? ORDER BY published')
      .all(feed?.id ?? 0) as { guid: string; title: string }[];
    const index = (guid: string): number => Number(guid.slice(1));
    const first = rows[0];
    const items = first === undefined ? -1 : index(first.guid) / 3;
    if (first !== undefined) {
      // Exactly one version's items, each with that version's content.
      expect(rows.map((row) => row.guid)).toEqual(window(items).map((k) => `g${k}`));
      expect(rows.map((row) => row.title)).toEqual(window(items).map((k) => title(k, items)));
    }
    const vectors = (
      db
        .prepare('SELECT i.guid, e.vector FROM embedding e JOIN item i ON i.id = e.item_id')
        .all() as { guid: string; vector: Buffer }[]
    ).map(({ guid, vector }) => ({
      k: index(guid),
      v: new Float32Array(
        vector.buffer.slice(vector.byteOffset, vector.byteOffset + vector.byteLength),
      ),
    }));
    // All from one saveEmbeddings (a whole transaction), none describing old content.
    const iterations = new Set(vectors.map(({ v }) => v[2]));
    expect(iterations.size).toBeLessThanOrEqual(1);
    for (const { k, v } of vectors) {
      expect(v[1]).toBe(k);
      expect(v[0]).toBe(contentVersion(k, items));
    }
    const embeddings = [...iterations][0] ?? -1;
    if (embeddings === items) expect(vectors).toHaveLength(ITEMS);
    let version = -1;
    if (existsSync(json)) {
      const parsed = JSON.parse(readFileSync(json, 'utf8')) as { version: number };
      expect(parsed).toEqual(fileOf(parsed.version));
      version = parsed.version;
    }
    return { items, embeddings, file: version };
  } finally {
    db.close();
  }
}

/** The last version each kind of commit was acknowledged for, from the child's lines. */
function acknowledged(lines: readonly string[], kind: string): number {
  let last = -1;
  for (const line of lines) {
    const [what, v] = line.split(' ');
    if (what === kind) last = Number(v);
  }
  return last;
}

describe('SqliteFeedStore under SIGKILL', () => {
  const rounds = Number(process.env.WORKBUS_CRASH_ROUNDS ?? 50);
  it(
    `a writer killed at seeded random moments (${rounds} rounds) loses no acknowledged commit and leaves no half`,
    async () => {
      const seed = Number(process.env.WORKBUS_CRASH_SEED ?? 20_261_130);
      const random = prng(seed);
      const file = tempFile('feeds.db');
      const json = join(mkdtempSync(join(bundle, 'json-')), 'state.json');
      let before: Found = { items: -1, embeddings: -1, file: -1 };
      for (let round = 1; round <= rounds; round++) {
        const context = `seed ${seed}, round ${round}`;
        const child = startWriter(file, json);
        // The kill lands after a seeded number of acknowledged commits (0 to 5, past the
        // `ready` line), then a seeded 0–10 ms into whatever runs next.
        await child.lines(1 + Math.floor(random() * 6));
        await delay(random() * 10);
        child.kill();
        const { signal, stderr } = await child.closed;
        expect(signal, `${context}: ${stderr}`).toBe('SIGKILL');
        const lines = await child.lines(0);
        const found = survived(file, json);
        for (const [kind, key] of [
          ['replace', 'items'],
          ['embed', 'embeddings'],
          ['file', 'file'],
        ] as const) {
          // At least the last acknowledged (or earlier found) version; at most one more,
          // committed as the kill landed, before its line was printed.
          const floor = Math.max(before[key], acknowledged(lines, kind));
          expect(found[key], `${context}: ${kind}`).toBeGreaterThanOrEqual(floor);
          expect(found[key], `${context}: ${kind}`).toBeLessThanOrEqual(floor + 1);
        }
        expect(found.embeddings).toBeLessThanOrEqual(found.items);
        expect(found.file).toBeLessThanOrEqual(found.items);
        before = found;
      }
      expect(before.items, 'the writer made progress').toBeGreaterThan(0);
    },
    60_000 + rounds * 5_000,
  );
});
