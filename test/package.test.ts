/**
 * What an app that depends on workbus gets: `npm pack` (which runs `prepare`, as a git
 * dependency's install does) yields compiled JavaScript and declarations, the
 * declarations type-check on their own (no internal type left dangling) and hold none of
 * the pool's internal records, and a consumer can import and run the package. In the
 * checkout itself, the CLI runs as the README says (here, after the pack: both write
 * `dist/`, so they take turns).
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../', import.meta.url));
// Inside the project, so the consumer resolves workbus's own dependencies from node_modules.
const scratch = join(root, '.reports');
let dir = '';
let packed: string[] = [];

beforeAll(async () => {
  mkdirSync(scratch, { recursive: true });
  dir = mkdtempSync(join(scratch, 'consumer-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  packed = (info?.files ?? []).map((f) => f.path);
  const unpacked = join(dir, 'node_modules', 'workbus');
  mkdirSync(unpacked, { recursive: true });
  await run('tar', [
    '-xzf',
    join(dir, info?.filename ?? ''),
    '-C',
    unpacked,
    '--strip-components=1',
  ]);
}, 180_000);

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('the published package', () => {
  it('holds the compiled entry point and its declarations, and no tests or sources', () => {
    expect(packed).toContain('dist/index.js');
    expect(packed).toContain('dist/index.d.ts');
    expect(packed).toContain('dist/feed/index.js');
    expect(packed).toContain('dist/feed/index.d.ts');
    expect(packed).toContain('dist/bridge/index.js');
    expect(packed).toContain('dist/bridge/index.d.ts');
    expect(packed).toContain('dist/distributed/index.js');
    expect(packed).toContain('dist/distributed/index.d.ts');
    expect(packed.filter((f) => f.startsWith('test/') || f.startsWith('src/'))).toEqual([]);
  });

  it('declares none of the pool’s internal types', () => {
    const declarations = packed.filter((f) => f.endsWith('.d.ts'));
    const internal =
      /\b(JobRecord|JobHost|AttemptHost|NormalizedOptions|NormalizedType|TypeQueue|Admission)\b/;
    for (const file of declarations) {
      const text = readFileSync(join(dir, 'node_modules', 'workbus', file), 'utf8');
      expect(internal.exec(text)?.[0], file).toBeUndefined();
    }
  });

  it('type-checks a consumer against its declarations alone (skipLibCheck off)', async () => {
    writeFileSync(
      join(dir, 'consumer.ts'),
      [
        "import { WorkPool, EventBus, type Job, type Subscription, type Envelope } from 'workbus';",
        'const pool = new WorkPool({ concurrency: 1, types: { a: { concurrency: 1 } } });',
        "const job: Job<number> = pool.submit('a', () => 1);",
        'const bus = new EventBus<{ x: number }>();',
        "const sub: Subscription<Envelope<'x', number>> = bus.subscribe(['x']);",
        "import { MemoryFeedStore, type FeedStore, type ItemChanges } from 'workbus/feed';",
        'const store: FeedStore = new MemoryFeedStore();',
        'const signal = new AbortController().signal;',
        "const changes: Promise<ItemChanges> = store.replaceItems(1, [{ guid: 'a' }], { signal });",
        "import { connectWorkbus, type WorkbusClient } from 'workbus/bridge';",
        'const connecting: (port: never) => Promise<WorkbusClient> = connectWorkbus;',
        "import { serveDashboard, type DashboardServer } from 'workbus/bridge/dashboard';",
        'const serving: (options: never) => Promise<DashboardServer> = serveDashboard;',
        'export { job, sub, changes, connecting, serving };',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          exactOptionalPropertyTypes: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2023', 'ESNext.Disposable'],
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    await expect(run(process.execPath, [tsc, '-p', dir])).resolves.toBeDefined();
  }, 120_000);

  it('runs when imported by name from node_modules', async () => {
    writeFileSync(
      join(dir, 'main.mjs'),
      [
        "import { Database, WorkPool } from 'workbus';",
        'const pool = new WorkPool({ concurrency: 1, types: { a: { concurrency: 1 } } });',
        "console.log(await pool.run('a', () => 'ran'));",
        'await pool.close();',
        // The store's thread is compiled JavaScript too: it starts without tsx.
        'const signal = new AbortController().signal;',
        "const db = await Database.open(':memory:', { signal });",
        "console.log((await db.get('SELECT 40 + 2 AS n', [], { signal })).n);",
        'await db.stop({ signal, deadline: Date.now() + 1000 });',
        // The feed store by its subpath, on the compiled thread too.
        "const { SqliteFeedStore } = await import('workbus/feed');",
        "const store = await SqliteFeedStore.open(':memory:', { signal });",
        "const feed = await store.addFeed({ url: 'https://example.org/feed.xml' }, { signal });",
        "console.log((await store.replaceItems(feed.id, [{ guid: 'a' }], { signal })).added);",
        'await store.stop({ signal, deadline: Date.now() + 1000 });',
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, [join(dir, 'main.mjs')], { cwd: dir });
    expect(stdout.trim().split('\n')).toEqual(['ran', '42', '1']);
    expect(readdirSync(join(dir, 'node_modules', 'workbus'))).toContain('package.json');
  });
});

describe('the CLI in the checkout (after `npm ci`, whose `prepare` builds dist/)', () => {
  /** Its `--help`, run by `command` from the repository's root. */
  async function help(command: string, args: readonly string[]): Promise<string> {
    if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
      throw new Error(
        'dist/cli/main.js is missing: run `npm run build` (npm ci runs it through `prepare`)',
      );
    }
    const { stdout } = await run(command, args, { cwd: root });
    return stdout;
  }

  it('runs as `npx --no-install workbus-feeds`', async () => {
    expect(await help('npx', ['--no-install', 'workbus-feeds', '--help'])).toMatch(
      /^workbus-feeds: a feed reader on workbus\n\nUsage: workbus-feeds <command>/,
    );
  }, 60_000);

  it('runs as `npm run feeds --`', async () => {
    expect(await help('npm', ['run', 'feeds', '--', '--help'])).toMatch(
      /\nworkbus-feeds: a feed reader on workbus\n\nUsage: workbus-feeds <command>/,
    );
  }, 120_000);
});
