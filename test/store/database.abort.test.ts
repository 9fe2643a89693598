import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { isAbortError } from '../../src/abort.js';
import { Database } from '../../src/store/database.js';
import {
  ITEMS,
  SCRATCH,
  SLOW_INSERT,
  names,
  open,
  signal,
  stop,
  tempFile,
  untilWriting,
} from './helpers.js';

function aborted(reason: unknown = new Error('gave up')): AbortSignal {
  const controller = new AbortController();
  controller.abort(reason);
  return controller.signal;
}

async function count(db: Database, table: string): Promise<number> {
  const row = await db.get(`SELECT count(*) AS n FROM ${table}`, [], { signal });
  return Number(row?.['n']);
}

describe('Database cancellation', () => {
  it('rejects every call at once on an already-aborted signal, changing nothing', async () => {
    const db = await open(tempFile());
    const reason = new Error('gave up');
    const options = { signal: aborted(reason) };
    const insert = 'INSERT INTO item (name) VALUES (?)';
    const calls = [
      db.get('SELECT 1', [], options),
      db.all('SELECT 1', [], options),
      db.run(insert, ['a'], options),
      db.transaction([{ sql: insert, params: ['b'] }], options),
      db.batch(insert, [['c']], options),
    ];
    for (const outcome of await Promise.allSettled(calls)) {
      expect(outcome.status).toBe('rejected');
      const error = (outcome as PromiseRejectedResult).reason as Error;
      expect(isAbortError(error)).toBe(true);
      expect(error.cause).toBe(reason);
    }
    expect(await names(db)).toEqual([]);
    await stop(db);
  });

  it('refuses to open on an already-aborted signal, creating nothing', async () => {
    const file = tempFile();
    const error = await Database.open(file, { signal: aborted() }).catch((e: unknown) => e);
    expect(isAbortError(error)).toBe(true);
    await expect(import('node:fs').then((fs) => fs.existsSync(file))).resolves.toBe(false);
  });

  it('rolls back the migrations of an open whose signal aborts while they run', async () => {
    const file = tempFile();
    const controller = new AbortController();
    const opening = Database.open(file, {
      signal: controller.signal,
      migrations: [...ITEMS, SCRATCH, { version: 3, up: SLOW_INSERT }],
    });
    await untilWriting(file);
    controller.abort();
    await expect(opening).rejects.toSatisfy(isAbortError);
    const db = await open(file);
    expect(
      await db.get("SELECT name FROM sqlite_master WHERE name = 'scratch'", [], { signal }),
    ).toBeUndefined();
    await stop(db);
  });

  it('never runs a call aborted while it waits its turn', async () => {
    const file = tempFile();
    const db = await open(file, { migrations: [...ITEMS, SCRATCH] });
    const slow = db.run(SLOW_INSERT, [], { signal });
    await untilWriting(file);
    const controller = new AbortController();
    const queued = db.run('INSERT INTO item (name) VALUES (?)', ['queued'], {
      signal: controller.signal,
    });
    const read = db.get('SELECT 1 AS one', [], { signal: controller.signal });
    controller.abort();
    await expect(queued).rejects.toSatisfy(isAbortError);
    await expect(read).rejects.toSatisfy(isAbortError);
    await slow;
    // The thread is free again and ran nothing for the aborted calls.
    expect(await names(db)).toEqual([]);
    await stop(db);
  });

  it('rolls back a transaction whose signal aborts while it runs', async () => {
    const file = tempFile();
    const db = await open(file, { migrations: [...ITEMS, SCRATCH] });
    const controller = new AbortController();
    const reason = new Error('user left');
    const call = db.transaction(
      [
        { sql: 'INSERT INTO item (name) VALUES (?)', params: ['before'] },
        // Long enough that the abort lands while this statement runs.
        { sql: SLOW_INSERT },
        { sql: 'INSERT INTO item (name) VALUES (?)', params: ['after'] },
      ],
      { signal: controller.signal },
    );
    await untilWriting(file);
    controller.abort(reason);
    const error = await call.catch((e: unknown) => e);
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe(reason);
    expect(await names(db)).toEqual([]);
    expect(await count(db, 'scratch')).toBe(0);
    // The connection is usable: the transaction was rolled back, not left open.
    await db.run('INSERT INTO item (name) VALUES (?)', ['next'], { signal });
    expect(await names(db)).toEqual(['next']);
    await stop(db);
  });

  it('rolls back a batch whose signal aborts while it runs', async () => {
    const file = tempFile();
    const db = await open(file);
    const controller = new AbortController();
    const rows = Array.from({ length: 300_000 }, (_, i) => [`n${i}`]);
    const call = db.batch('INSERT INTO item (name) VALUES (?)', rows, {
      signal: controller.signal,
    });
    await untilWriting(file);
    controller.abort();
    await expect(call).rejects.toSatisfy(isAbortError);
    expect(await count(db, 'item')).toBe(0);
    await stop(db);
  });

  it('leaves no listener on a long-lived signal after many calls', async () => {
    const db = await open(tempFile());
    const controller = new AbortController();
    const options = { signal: controller.signal };
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        db.run('INSERT INTO item (name) VALUES (?)', [`n${i}`], options),
      ),
    );
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort();
    await expect(db.get('SELECT 1', [], options)).rejects.toSatisfy(isAbortError);
    expect(await count(db, 'item')).toBe(200);
    await stop(db);
  });
});
