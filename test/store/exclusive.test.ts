/**
 * 'exclusive' mode: one owning process per database file, held by an owner lock beside
 * it. Real files, real child processes (killed with SIGKILL for the crash case).
 */
import { access, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  LockCompromisedError,
  StoreCorruptError,
  StoreLockedError,
  StoreSchemaError,
} from '../../src/errors.js';
import type { Database } from '../../src/store/database.js';
import { startChild, type Exit } from '../helpers/child.js';
import { names, open, signal, stop, tempFile } from './helpers.js';

/** The smallest stale time: refreshed every second, stale after three. */
const STALE_MS = 3_000;
const EXCLUSIVE = { mode: 'exclusive', lockStaleMs: STALE_MS } as const;
const INSERT = 'INSERT INTO item (name) VALUES (?)';

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

function owner(mode: 'hold' | 'try', file: string) {
  return startChild('test/store/fixtures/owner.ts', [mode, file, String(STALE_MS)]);
}

/** What a `try` child printed: its open's outcome. */
function outcome(exit: Exit): unknown {
  expect({ code: exit.code, stderr: exit.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(exit.stdout);
}

/** Opens `file` exclusively, trying again while a (dead) owner's lock is not yet stale. */
async function openOnceStale(file: string): Promise<Database> {
  for (;;) {
    try {
      return await open(file, EXCLUSIVE);
    } catch (error) {
      if (!(error instanceof StoreLockedError)) throw error;
      await delay(100);
    }
  }
}

describe("Database in 'exclusive' mode", () => {
  it('refuses an open in another process at once, naming the owner’s pid and host', async () => {
    const file = tempFile();
    const holder = owner('hold', file);
    try {
      await holder.waitForLine('open');
      const error = await open(file, EXCLUSIVE).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreLockedError);
      expect(error).toMatchObject({
        code: 'STORE_LOCKED',
        path: file,
        pid: holder.pid,
        host: hostname(),
      });
      expect((error as Error).message).toContain(`process ${holder.pid} on host ${hostname()}`);
    } finally {
      holder.kill('SIGKILL');
      await holder.closed;
    }
  });

  it('takes over the lock of an owner killed with SIGKILL once stale, and names it in recoveredLock', async () => {
    const file = tempFile();
    const holder = owner('hold', file);
    await holder.waitForLine('open');
    holder.kill('SIGKILL');
    expect((await holder.closed).signal).toBe('SIGKILL');
    expect(await exists(`${file}.lock`)).toBe(true); // nobody cleaned up after the dead owner
    const db = await openOnceStale(file);
    expect(db.recoveredLock).toEqual({
      pid: holder.pid,
      host: hostname(),
      since: expect.any(Date) as unknown,
    });
    await db.run(INSERT, ['after the takeover'], { signal });
    expect(await names(db)).toEqual(['after the takeover']);
    await stop(db);
  }, 30_000);

  it('stop releases the lock: another process can then open, with nothing to recover', async () => {
    const file = tempFile();
    const db = await open(file, EXCLUSIVE);
    expect(db.recoveredLock).toBeUndefined();
    expect(outcome(await owner('try', file).closed)).toMatchObject({
      name: 'StoreLockedError',
      code: 'STORE_LOCKED',
      pid: process.pid,
      host: hostname(),
    });
    await stop(db);
    expect([await exists(`${file}.lock`), await exists(`${file}.owner`)]).toEqual([false, false]);
    expect(outcome(await owner('try', file).closed)).toEqual({ opened: true });
  });

  it.each([
    [
      'a migration fails',
      StoreSchemaError,
      (file: string) => open(file, { ...EXCLUSIVE, migrations: [{ version: 1, up: 'NOT SQL' }] }),
    ],
    [
      'the file is not SQLite',
      StoreCorruptError,
      async (file: string) => {
        await writeFile(file, 'not a database, just text that is long enough to be a header');
        return open(file, EXCLUSIVE);
      },
    ],
  ])('leaves no lock behind when the open fails (%s)', async (_, type, attempt) => {
    const file = tempFile();
    await expect(attempt(file)).rejects.toBeInstanceOf(type);
    expect([await exists(`${file}.lock`), await exists(`${file}.owner`)]).toEqual([false, false]);
  });

  it('names the database file when its directory is missing, as in shared mode', async () => {
    const file = join(dirname(tempFile()), 'missing', 'store.db');
    await expect(open(file, EXCLUSIVE)).rejects.toMatchObject({
      code: 'STORE_FAILED',
      path: file,
      message: expect.stringMatching(/^\S+store\.db: cannot take the owner lock/) as string,
    });
  });

  it('refuses a second open in the same process, as in shared mode', async () => {
    const file = tempFile();
    const db = await open(file, EXCLUSIVE);
    await expect(open(file, EXCLUSIVE)).rejects.toMatchObject({
      code: 'STORE_LOCKED',
      pid: process.pid,
    });
    await stop(db);
  });

  it('once the owner lock is lost, refuses every write with LockCompromisedError; reads go on', async () => {
    const file = tempFile();
    const db = await open(file, EXCLUSIVE);
    const lockDir = `${file}.lock`;
    // Another process judging it stale would do this; the next refresh finds it changed.
    const past = new Date(Date.now() - 60_000);
    await utimes(lockDir, past, past);
    let error: unknown;
    for (let i = 0; error === undefined; i++) {
      error = await db.run(INSERT, [`w${i}`], { signal }).then(
        () => undefined,
        (e: unknown) => e,
      );
    }
    expect(error).toBeInstanceOf(LockCompromisedError);
    expect(error).toMatchObject({ code: 'LOCK_COMPROMISED' });
    await expect(db.batch(INSERT, [['late']], { signal })).rejects.toBe(error);
    expect((await names(db)).includes('late')).toBe(false);
    await stop(db);
    // The lock is someone else's now: stop leaves it alone.
    expect(await exists(lockDir)).toBe(true);
  }, 20_000);

  it('validates mode and lockStaleMs, and refuses unknown keys', async () => {
    const file = tempFile();
    const bad = (options: Record<string, unknown>) => open(file, options);
    await expect(bad({ mode: 'solo' })).rejects.toThrow(
      new TypeError(`mode must be one of 'shared' | 'exclusive', got "solo" (string)`),
    );
    await expect(bad({ mode: 'exclusive', lockStaleMs: 1000 })).rejects.toThrow(RangeError);
    await expect(bad({ mode: 'exclusive', lockStaleMs: Number.NaN })).rejects.toThrow(
      /lockStaleMs/,
    );
    await expect(bad({ mode: 'exclusive', lockStaleMs: 2 ** 31 })).rejects.toThrow(RangeError);
    await expect(bad({ lockStaleMs: 5000 })).rejects.toThrow(
      "lockStaleMs applies to mode 'exclusive' only",
    );
    await expect(bad({ mode: 'exclusive', staleMs: 5000 })).rejects.toThrow(/lockStaleMs/);
    expect(await exists(file)).toBe(false);
  });
});
