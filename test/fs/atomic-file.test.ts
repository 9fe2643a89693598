/**
 * writeFileAtomic on real files: whole versions only, whatever readers, concurrent
 * writers and SIGKILL do; strays of the path cleaned and nothing else; aborts.
 */
import {
  chmod,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortError, writeFileAtomic } from '../../src/index.js';
import { prng } from '../helpers/prng.js';
import { startChild } from '../helpers/child.js';

let dir = '';
let file = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'workbus-atomic-'));
  file = join(dir, 'data.json');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Version {
  readonly writer: string;
  readonly n: number;
  readonly items: readonly string[];
}

function version(writer: string, n: number, items = 1_000): string {
  return JSON.stringify({ writer, n, items: new Array<string>(items).fill(`${writer}:${n}`) });
}

/** Parses `text` as one whole version: throws on a partial, empty or mixed file. */
function whole(text: string, items: number): Version {
  const parsed = JSON.parse(text) as Version;
  const label = `${parsed.writer}:${parsed.n}`;
  if (parsed.items.length !== items || parsed.items.some((item) => item !== label)) {
    throw new Error(`mixed or short version ${label}`);
  }
  return parsed;
}

const temps = async (): Promise<string[]> =>
  (await readdir(dir)).filter((name) => name.endsWith('.workbus-tmp'));

/** Reads `file` until `stop` resolves; returns how many reads it checked. */
async function pollWhole(stop: Promise<unknown>, items: number): Promise<number> {
  let done = false;
  const end = (): void => {
    done = true;
  };
  stop.then(end, end);
  let reads = 0;
  while (!done) {
    whole(await readFile(file, 'utf8'), items);
    reads++;
  }
  return reads;
}

const STRAY_AGE_MS = 60_000;
const longAgo = (): Date => new Date(Date.now() - 2 * STRAY_AGE_MS);

describe('writeFileAtomic', () => {
  it('creates, replaces, takes strings and bytes, and leaves no temp file', async () => {
    await writeFileAtomic(file, 'one');
    expect(await readFile(file, 'utf8')).toBe('one');
    await writeFileAtomic(file, new TextEncoder().encode('two'));
    expect(await readFile(file, 'utf8')).toBe('two');
    expect(await readdir(dir)).toEqual(['data.json']);
  });

  it("keeps the replaced file's permission bits", async () => {
    await writeFile(file, 'old');
    await chmod(file, 0o640);
    await writeFileAtomic(file, 'new');
    expect((await stat(file)).mode & 0o777).toBe(0o640);
  });

  it('follows a symlink: the target is replaced, the link stays', async () => {
    await writeFile(file, 'old');
    const link = join(dir, 'link.json');
    await symlink(file, link);
    await writeFileAtomic(link, 'new');
    expect(await readFile(file, 'utf8')).toBe('new');
    expect((await readdir(dir)).sort()).toEqual(['data.json', 'link.json']);
  });

  it('concurrent writes in one process land in call order; a reader sees only whole versions', async () => {
    await writeFileAtomic(file, version('main', 0));
    const writes = Promise.all(
      Array.from({ length: 30 }, (_, n) => writeFileAtomic(file, version('main', n + 1))),
    );
    const reads = await pollWhole(writes, 1_000);
    await writes;
    expect(reads).toBeGreaterThan(0);
    expect(whole(await readFile(file, 'utf8'), 1_000).n).toBe(30);
    expect(await temps()).toEqual([]);
  });

  it('writers in several processes leave a whole version; a reader never sees a partial one', async () => {
    await writeFileAtomic(file, version('main', 0, 20_000));
    const children = ['a', 'b', 'c'].map((id) =>
      startChild('test/fs/fixtures/atomic-writer.ts', [file, id, '20000', '40']),
    );
    const closed = Promise.all(children.map((child) => child.closed));
    const reads = await pollWhole(closed, 20_000);
    for (const { code, stderr } of await closed)
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(reads).toBeGreaterThan(0);
    const last = whole(await readFile(file, 'utf8'), 20_000);
    expect(last.n).toBe(40);
    expect(await temps()).toEqual([]);
  }, 60_000);

  const rounds = Number(process.env.WORKBUS_CRASH_ROUNDS ?? 20);
  it(
    `a writer killed with SIGKILL mid-write (${rounds} rounds) leaves a whole old or new version`,
    async () => {
      const seed = Number(process.env.WORKBUS_CRASH_SEED ?? 20_240_601);
      const random = prng(seed);
      const items = 100_000;
      await writeFileAtomic(file, version('initial', 0, items));
      for (let round = 1; round <= rounds; round++) {
        const child = startChild('test/fs/fixtures/atomic-writer.ts', [
          file,
          `r${round}`,
          String(items),
          '0',
        ]);
        await child.waitForLine('ready');
        // The moment of the kill: seeded, so a failing run can be replayed.
        await delay(random() * 300);
        child.kill('SIGKILL');
        const { signal } = await child.closed;
        expect(signal, `seed ${seed}, round ${round}`).toBe('SIGKILL');
        const found = whole(await readFile(file, 'utf8'), items);
        expect(found.writer === 'initial' || Number(found.writer.slice(1)) <= round).toBe(true);
      }
      // A stray is left when a kill landed between open and rename; the next write of the
      // path removes it once it is old enough not to be another process's running write.
      for (const name of await temps()) await utimes(join(dir, name), longAgo(), longAgo());
      await writeFileAtomic(file, version('after', 1, items));
      expect(await temps()).toEqual([]);
      expect(whole(await readFile(file, 'utf8'), items).writer).toBe('after');
    },
    60_000 + rounds * 5_000,
  );

  it('removes old temp files of its own path, and nothing else', async () => {
    const mine = ['data.json.0123456789ab.workbus-tmp', 'data.json.ffffffffffff.workbus-tmp'];
    const young = 'data.json.aaaaaaaaaaaa.workbus-tmp';
    const others = [
      'other.json.0123456789ab.workbus-tmp', // another path's stray
      'data.json.1', // a user's numbered backup (write-file-atomic's temp name shape)
      'data.json.0123456789ab.workbus-tmp.keep',
      'data.json.0123456789AB.workbus-tmp',
      'xdata.json.0123456789ab.workbus-tmp',
    ];
    for (const name of [...mine, young, ...others]) await writeFile(join(dir, name), 'left over');
    for (const name of [...mine, ...others]) await utimes(join(dir, name), longAgo(), longAgo());
    await writeFileAtomic(file, 'new');
    expect((await readdir(dir)).sort()).toEqual(['data.json', young, ...others].sort());
  });

  it('an already aborted signal rejects at once and touches nothing', async () => {
    const stray = join(dir, 'data.json.0123456789ab.workbus-tmp');
    await writeFile(stray, 'left over');
    await utimes(stray, longAgo(), longAgo());
    const controller = new AbortController();
    const reason = new Error('user gave up');
    controller.abort(reason);
    const error = await writeFileAtomic(file, 'new', { signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toBe(reason);
    expect(await readdir(dir)).toEqual(['data.json.0123456789ab.workbus-tmp']);
  });

  it('an abort while an earlier write of the path runs leaves that write in place', async () => {
    const controller = new AbortController();
    const first = writeFileAtomic(file, 'first');
    const second = writeFileAtomic(file, 'second', { signal: controller.signal }).catch(
      (error: unknown) => error,
    );
    controller.abort();
    await first;
    expect(await second).toBeInstanceOf(AbortError);
    expect(await readFile(file, 'utf8')).toBe('first');
    expect(await readdir(dir)).toEqual(['data.json']);
  });

  it('rejects bad arguments before touching anything', async () => {
    await expect(writeFileAtomic('', 'x')).rejects.toThrow(TypeError);
    await expect(writeFileAtomic(file, 42 as never)).rejects.toThrow(
      /data must be a string or a Uint8Array/,
    );
    await expect(writeFileAtomic(file, 'x', { sigal: undefined } as never)).rejects.toThrow(
      /unknown option 'sigal'; did you mean 'signal'/,
    );
    await expect(writeFileAtomic(file, 'x', { signal: null } as never)).rejects.toThrow(TypeError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails with the file system error in a missing directory, leaving nothing', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'data.json'), 'x')).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(await readdir(dir)).toEqual([]);
  });
});
