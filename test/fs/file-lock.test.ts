/**
 * withFileLock on real files and real processes: exclusion across processes, takeover of
 * a dead holder's lock, abortable waits that keep the event loop turning, and a lock lost
 * while held reported through the holder's signal.
 */
import { access, mkdtemp, readFile, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AbortError,
  FileLockedError,
  LockCompromisedError,
  tryWithFileLock,
  waitForAbort,
  withFileLock,
} from '../../src/index.js';
import { deferred } from '../helpers/deferred.js';
import { countTurns } from '../helpers/turns.js';
import { startChild } from '../helpers/child.js';

let dir = '';
let file = '';
let lockDir = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'workbus-lock-'));
  file = join(dir, 'data.json');
  lockDir = `${file}.lock`;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** The smallest staleMs: refreshed every second, stale after three. */
const STALE_MS = 3_000;

describe('withFileLock in one process', () => {
  it('holds the lock directory while fn runs, returns its value and removes it', async () => {
    const result = await withFileLock(file, async () => {
      expect(await exists(lockDir)).toBe(true);
      return 42;
    });
    expect(result).toBe(42);
    expect(await exists(lockDir)).toBe(false);
  });

  it('a second caller waits for the first to release', async () => {
    const events: string[] = [];
    const gate = deferred();
    const entered = deferred();
    const first = withFileLock(file, async () => {
      events.push('first in');
      entered.resolve();
      await gate.promise;
      events.push('first out');
    });
    await entered.promise;
    const second = withFileLock(file, () => {
      events.push('second in');
    });
    await delay(50); // let the second caller find the lock held a few times
    events.push('gate');
    gate.resolve();
    await Promise.all([first, second]);
    expect(events).toEqual(['first in', 'gate', 'first out', 'second in']);
  });

  it("rejects with fn's error after releasing", async () => {
    const failure = new Error('boom');
    await expect(
      withFileLock(file, () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await exists(lockDir)).toBe(false);
  });

  it('tryWithFileLock runs fn when free and refuses at once when held', async () => {
    expect(await tryWithFileLock(file, () => 'ran')).toBe('ran');
    let called = false;
    const error = await withFileLock(file, () =>
      tryWithFileLock(file, () => {
        called = true;
      }).catch((e: unknown) => e),
    );
    expect(error).toBeInstanceOf(FileLockedError);
    expect(error).toMatchObject({ code: 'FILE_LOCKED', path: file });
    expect(called).toBe(false);
  });

  it('an already aborted signal rejects at once: no lock taken, fn not called', async () => {
    const controller = new AbortController();
    const reason = new Error('user gave up');
    controller.abort(reason);
    let called = false;
    const error = await withFileLock(
      file,
      () => {
        called = true;
      },
      { signal: controller.signal },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toBe(reason);
    expect(called).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it("the caller's abort while fn runs reaches fn's signal; the lock is released after", async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const seen = await withFileLock(
      file,
      async (signal) => {
        controller.abort(reason);
        return waitForAbort(signal);
      },
      { signal: controller.signal },
    );
    expect(seen).toBe(reason);
    expect(await exists(lockDir)).toBe(false);
  });

  it('refuses bad arguments before touching anything', async () => {
    const fn = (): void => undefined;
    await expect(withFileLock(file, fn, { staleMs: 2_999 })).rejects.toThrow(
      /staleMs must be a duration in milliseconds of at least 3000/,
    );
    await expect(withFileLock(file, fn, { staleMs: 2 ** 31 })).rejects.toThrow(RangeError);
    await expect(withFileLock(file, fn, { stale: 3_000 } as never)).rejects.toThrow(
      /unknown option 'stale'; did you mean 'staleMs'/,
    );
    await expect(withFileLock(file, 'fn' as never)).rejects.toThrow(/fn must be a function/);
    await expect(withFileLock('', fn)).rejects.toThrow(/path must be a non-empty string/);
    await expect(withFileLock(file, fn, { signal: 'x' } as never)).rejects.toThrow(TypeError);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('a lock lost while held', () => {
  it.each([
    ['its lock directory is removed', () => rm(lockDir, { recursive: true })],
    [
      'it is made stale under its holder',
      () => utimes(lockDir, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000)),
    ],
  ])(
    "when %s, fn's signal aborts with LockCompromisedError and withFileLock rejects with it",
    async (_, compromise) => {
      let seen: unknown;
      const error = await withFileLock(
        file,
        async (signal) => {
          await compromise();
          seen = await waitForAbort(signal);
          return 'finished anyway';
        },
        { staleMs: STALE_MS },
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockCompromisedError);
      expect(error).toMatchObject({ code: 'LOCK_COMPROMISED', path: file });
      expect((error as LockCompromisedError).cause).toMatchObject({ code: 'ECOMPROMISED' });
      expect(seen).toBe(error);
    },
    20_000,
  );
});

describe('withFileLock across processes', () => {
  it('four processes taking turns never hold it together', async () => {
    const log = join(dir, 'holders.log');
    const rounds = 20;
    const children = Array.from({ length: 4 }, () =>
      startChild('test/fs/fixtures/lock-holder.ts', [
        'loop',
        file,
        log,
        String(rounds),
        String(STALE_MS),
      ]),
    );
    for (const { code, stderr } of await Promise.all(children.map((child) => child.closed))) {
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    }
    const lines = (await readFile(log, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => {
        const [pid = '', event = '', at = ''] = line.split(' ');
        return { pid, event, at: Number(at) };
      });
    expect(lines).toHaveLength(4 * rounds * 2);
    // The log's own order is the order of the appends: each start is followed by the same
    // holder's end, and the next start comes no earlier than that end.
    for (let i = 0; i < lines.length; i += 2) {
      const start = lines[i];
      const end = lines[i + 1];
      expect(start?.event).toBe('start');
      expect(end).toMatchObject({ pid: start?.pid, event: 'end' });
      const next = lines[i + 2];
      if (next !== undefined) expect(next.at).toBeGreaterThanOrEqual(end?.at ?? Infinity);
    }
    const holders = new Set(lines.map((line) => line.pid));
    expect(holders).toEqual(new Set(children.map((child) => String(child.pid))));
  }, 60_000);

  it('the lock of a holder killed with SIGKILL is taken over once stale', async () => {
    const holder = startChild('test/fs/fixtures/lock-holder.ts', ['hold', file, String(STALE_MS)]);
    await holder.waitForLine('held');
    await expect(tryWithFileLock(file, () => undefined)).rejects.toBeInstanceOf(FileLockedError);
    holder.kill('SIGKILL');
    expect((await holder.closed).signal).toBe('SIGKILL');
    expect(await exists(lockDir)).toBe(true); // nobody cleaned up after the dead holder
    const result = await withFileLock(file, () => 'taken over', { staleMs: STALE_MS });
    expect(result).toBe('taken over');
    expect(await exists(lockDir)).toBe(false);
  }, 30_000);

  it('an abort while waiting for another process rejects, and the event loop turns meanwhile', async () => {
    const holder = startChild('test/fs/fixtures/lock-holder.ts', ['hold', file, '10000']);
    try {
      await holder.waitForLine('held');
      const loop = countTurns();
      const controller = new AbortController();
      const reason = new Error('no longer needed');
      let called = false;
      const waiting = withFileLock(
        file,
        () => {
          called = true;
        },
        { signal: controller.signal },
      ).catch((e: unknown) => e);
      await delay(300); // several attempts find the lock held
      const turnsWhileWaiting = loop.turns();
      controller.abort(reason);
      const error = await waiting;
      loop.stop();
      expect(error).toBeInstanceOf(AbortError);
      expect((error as AbortError).cause).toBe(reason);
      expect(called).toBe(false);
      expect(turnsWhileWaiting).toBeGreaterThan(0);
      expect(await exists(lockDir)).toBe(true); // still the other process's
    } finally {
      holder.kill('SIGKILL');
      await holder.closed;
    }
  }, 30_000);
});
