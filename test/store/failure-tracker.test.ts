/**
 * FailureTracker on real SQLite files: what it records, the backoff formula (injected
 * clock and random), permanent failures and their TTL, forgiving, concurrent failures of
 * one key from one process and from many, and kill -9 at each point of a keyed job.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NonRetryableError } from '../../src/errors.js';
import { FailureTracker, type FailureTrackerOptions } from '../../src/store/failure-tracker.js';
import type { Database } from '../../src/store/database.js';
import { startChild, type Child } from '../helpers/child.js';
import { open, signal, stop, tempFile } from './helpers.js';

/** A clock the test moves by hand. */
function clock(start = 1_000_000): { now: () => number; set: (at: number) => void } {
  let at = start;
  return { now: () => at, set: (next) => (at = next) };
}

/** A source of "random" numbers that hands out `draws` in turn (then repeats the last). */
function draws(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] as number;
}

async function withDb<T>(body: (db: Database, file: string) => Promise<T>): Promise<T> {
  const file = tempFile();
  const db = await open(file);
  try {
    return await body(db, file);
  } finally {
    await stop(db);
  }
}

function tracker(db: Database, options: Partial<FailureTrackerOptions> = {}) {
  return FailureTracker.open(db, { signal, baseMs: 100, maxMs: 10_000, ...options });
}

describe('FailureTracker', () => {
  it('records attempts, first and last failure, the last error and when the key may run again', async () => {
    await withDb(async (db) => {
      const time = clock();
      const t = await tracker(db, { now: time.now, random: draws(0.5, 0.25) });
      expect(t.check('feed')).toBeUndefined();

      const first = await t.recordFailure('feed', new Error('503'), { signal });
      expect(first).toEqual({
        key: 'feed',
        failures: 1,
        firstFailedAt: 1_000_000,
        lastFailedAt: 1_000_000,
        lastError: { name: 'Error', message: '503' },
        permanent: false,
        eligibleAt: 1_000_000 + 50, // 0.5 · 100
      });
      expect(t.check('feed')).toEqual({ reason: 'backoff', eligibleAt: 1_000_050 });

      time.set(1_000_100);
      const error = new NonRetryableError('404', { cause: new Error('gone?') });
      const second = await t.recordFailure('feed', error, { signal });
      expect(second).toMatchObject({
        failures: 2,
        firstFailedAt: 1_000_000,
        lastFailedAt: 1_000_100,
        lastError: { name: 'NonRetryableError', message: '404', code: 'NON_RETRYABLE' },
        eligibleAt: 1_000_100 + 50, // 0.25 · 200
      });
      expect(t.get('feed')).toEqual(second);
      expect(t.list()).toEqual([second]);
      expect(Object.isFrozen(second) && Object.isFrozen(t.list())).toBe(true);

      // Eligible again once the clock reaches eligibleAt.
      time.set(1_000_149);
      expect(t.check('feed')).toBeDefined();
      time.set(1_000_150);
      expect(t.check('feed')).toBeUndefined();
    });
  });

  it('backs off by random() · min(maxMs, baseMs · 2^(failures−1)) (property)', async () => {
    await withDb(async (db) => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 100_000 }),
          fc.integer({ min: 0, max: 10_000_000 }),
          fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
            minLength: 1,
            maxLength: 12,
          }),
          fc.integer({ min: 0, max: 2 ** 40 }),
          async (baseMs, extra, values, start) => {
            const maxMs = baseMs + extra;
            const time = clock(start);
            const t = await tracker(db, {
              name: `run-${++run}`,
              baseMs,
              maxMs,
              now: time.now,
              random: draws(...values),
            });
            for (const [i, draw] of values.entries()) {
              time.set(start + i);
              const record = await t.recordFailure('k', new Error('x'), { signal });
              const cap = Math.min(maxMs, baseMs * 2 ** i);
              expect(record.failures).toBe(i + 1);
              expect(record.eligibleAt).toBe(start + i + Math.floor(draw * cap));
            }
          },
        ),
        { numRuns: 25 },
      );
    });
  });

  it('stays capped at maxMs after many failures (the shift never overflows)', async () => {
    await withDb(async (db) => {
      const time = clock(0);
      const t = await tracker(db, {
        baseMs: 1,
        maxMs: 2 ** 52,
        now: time.now,
        random: () => 0.999,
      });
      let record;
      for (let i = 0; i < 80; i++) record = await t.recordFailure('k', 'x', { signal });
      expect(record?.failures).toBe(80);
      expect(record?.eligibleAt).toBe(Math.floor(0.999 * 2 ** 52));
      expect(record?.lastError).toEqual({ name: 'NonError', message: 'x' });
    });
  });

  it('holds a permanent failure for permanentTtlMs, then lets the key run; a later failure backs off', async () => {
    await withDb(async (db) => {
      const time = clock(0);
      const t = await tracker(db, { permanentTtlMs: 5_000, now: time.now, random: () => 0.5 });
      const gone = new NonRetryableError('410 Gone', { permanent: true });
      expect(await t.recordFailure('a', gone, { signal })).toMatchObject({
        permanent: true,
        eligibleAt: 5_000,
      });
      await t.recordFailure('b', new Error('unparseable'), { signal, permanent: true });
      expect(t.check('a')).toEqual({ reason: 'permanent', eligibleAt: 5_000 });
      expect(t.check('b')).toEqual({ reason: 'permanent', eligibleAt: 5_000 });
      // permanent: false overrides what the error says.
      await t.recordFailure('c', gone, { signal, permanent: false });
      expect(t.check('c')?.reason).toBe('backoff');

      time.set(5_000);
      expect(t.check('a')).toBeUndefined();
      expect(await t.recordFailure('a', new Error('503'), { signal })).toMatchObject({
        failures: 2,
        permanent: false,
        eligibleAt: 5_000 + 100, // 0.5 · min(10000, 100 · 2)
      });
    });
  });

  it('forgives a key with clear(), and a run that succeeds clears it; a released run counts nothing', async () => {
    await withDb(async (db) => {
      const t = await tracker(db);
      await t.recordFailure('a', new Error('x'), { signal });
      await t.recordFailure('b', new Error('x'), { signal });
      await t.clear('a', { signal });
      await t.clear('never-failed', { signal });
      expect(t.get('a')).toBeUndefined();
      expect(t.check('a')).toBeUndefined();

      const ok = await t.begin('b', { signal });
      await ok.succeeded({ signal });
      expect(t.get('b')).toBeUndefined();

      const released = await t.begin('c', { signal });
      await released.released({ signal });
      expect(t.list()).toEqual([]);
      expect(await db.all('SELECT * FROM workbus_failure_runs', [], { signal })).toEqual([]);
      await expect(released.failed(new Error('x'), { signal })).rejects.toThrow(
        /run of c has already ended/,
      );
    });
  });

  it('keeps its rows across a reopen, and refresh() sees another tracker’s writes', async () => {
    const file = tempFile();
    let db = await open(file);
    const a = await tracker(db);
    const b = await tracker(db);
    await a.recordFailure('k', new Error('x'), { signal, permanent: true });
    expect(b.get('k')).toBeUndefined(); // b's copy is as of its open …
    await b.refresh({ signal });
    expect(b.get('k')).toEqual(a.get('k')); // … until it refreshes
    await stop(db);

    db = await open(file);
    const reopened = await tracker(db);
    expect(reopened.list()).toEqual(a.list());
    // A tracker of another name shares the tables, not the keys.
    expect((await tracker(db, { name: 'feeds' })).list()).toEqual([]);
    await stop(db);
  });

  it('counts concurrent failures of one key exactly (property)', async () => {
    await withDb(async (db) => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.constantFrom('record', 'run-fails', 'run-released'), {
            minLength: 1,
            maxLength: 30,
          }),
          async (ops) => {
            const t = await tracker(db, { name: `c-${++run}` });
            const runs = await Promise.all(
              ops.map((op) =>
                op === 'record' ? Promise.resolve(undefined) : t.begin('k', { signal }),
              ),
            );
            await Promise.all(
              ops.map((op, i) => {
                if (op === 'record') return t.recordFailure('k', new Error('x'), { signal });
                const r = runs[i];
                if (r === undefined) throw new Error(`no run for ${op}`);
                return op === 'run-fails'
                  ? r.failed(new Error('x'), { signal })
                  : r.released({ signal });
              }),
            );
            const failures = ops.filter((op) => op !== 'run-released').length;
            expect(t.get('k')?.failures ?? 0).toBe(failures);
            await t.refresh({ signal });
            expect(t.get('k')?.failures ?? 0).toBe(failures);
          },
        ),
        { numRuns: 25 },
      );
      expect(await db.all('SELECT * FROM workbus_failure_runs', [], { signal })).toEqual([]);
    });
  });

  it('counts failures of one key from many processes at once exactly', async () => {
    const file = tempFile();
    const db = await open(file); // creates the file and its schema first
    await tracker(db);
    const children = Array.from({ length: 4 }, () => child(file, 'count', '20'));
    const exits = await Promise.all(children.map((c) => c.closed));
    expect(
      exits.map((e) => e.code),
      exits.map((e) => e.stderr).join('\n'),
    ).toEqual([0, 0, 0, 0]);
    const t = await tracker(db);
    expect(t.get('shared')?.failures).toBe(80);
    await stop(db);
  });

  it.each([
    ['between its failure and its record', 'unrecorded', 'failed'],
    ['after its failure was recorded', 'recorded', 'recorded'],
    ['while it ran (the at most one over-count)', 'running', 'running'],
  ])(
    'kill -9 of a process whose keyed job failed %s counts exactly one failure',
    async (_when, scenario, line) => {
      const file = tempFile();
      const db = await open(file);
      await tracker(db);
      const c = child(file, scenario);
      await c.waitForLine(line);
      c.kill('SIGKILL');
      expect((await c.closed).signal).toBe('SIGKILL');

      // A clock of its own: the recovered failure backs off from 0, and the child's
      // (real-clock) record is in the future of it.
      const after = await tracker(db, { now: () => 0, random: () => 0.5 });
      expect(after.get('k')).toMatchObject({
        failures: 1,
        lastError:
          scenario === 'recorded'
            ? { name: 'Error', message: 'feed is down' }
            : {
                name: 'ProcessEnded',
                message: expect.stringMatching(/^Process \d+ ended/) as unknown,
              },
      });
      expect(after.check('k')?.reason).toBe('backoff');
      // Counted once: another open finds nothing left to recover.
      expect((await tracker(db)).get('k')?.failures).toBe(1);
      expect(await db.all('SELECT * FROM workbus_failure_runs', [], { signal })).toEqual([]);
      await stop(db);
    },
  );

  it('counts nothing for a run killed while it ran once a later run of its key succeeded (the job ran again elsewhere)', async () => {
    const file = tempFile();
    const db = await open(file);
    const survivor = await tracker(db);
    const c = child(file, 'running');
    await c.waitForLine('running');
    c.kill('SIGKILL');
    expect((await c.closed).signal).toBe('SIGKILL');
    // The survivor opened before the death: it has not judged the dead run yet.
    const rerun = await survivor.begin('k', { signal });
    await rerun.succeeded({ signal });

    expect((await tracker(db)).get('k')).toBeUndefined();
    expect(await db.all('SELECT * FROM workbus_failure_runs', [], { signal })).toEqual([]);
    await stop(db);
  });

  it('validates its options and arguments', async () => {
    await withDb(async (db) => {
      await expect(FailureTracker.open({} as Database, { signal })).rejects.toThrow(
        /db must be a Database/,
      );
      await expect(tracker(db, { baseMs: 0 })).rejects.toThrow(RangeError);
      await expect(tracker(db, { baseMs: 100, maxMs: 50 })).rejects.toThrow(
        'maxMs must be at least baseMs (100), got 50',
      );
      await expect(
        FailureTracker.open(db, { signal, ttl: 5 } as unknown as FailureTrackerOptions),
      ).rejects.toThrow(/ttl/);
      await expect(FailureTracker.open(db, {} as unknown as FailureTrackerOptions)).rejects.toThrow(
        /signal/,
      );
      const t = await tracker(db, { random: () => 1 });
      await expect(t.recordFailure('', new Error('x'), { signal })).rejects.toThrow(/key/);
      await expect(t.recordFailure('k', new Error('x'), { signal })).rejects.toThrow(
        'random() must return a number in [0, 1), got 1',
      );
      await expect(t.clear('k', {} as { signal: AbortSignal })).rejects.toThrow(/signal/);
      const aborted = AbortSignal.abort();
      await expect(t.begin('k', { signal: aborted })).rejects.toThrow(/abort/i);
    });
  });
});

/** The tracker's child program, with `file` and `args`. */
function child(file: string, ...args: string[]): Child {
  return startChild('test/store/fixtures/tracker-child.ts', [file, ...args]);
}
