import { existsSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  StoreCorruptError,
  StoreError,
  StoreLockedError,
  StoreSchemaError,
} from '../../src/errors.js';
import { Lifecycle, type StopContext } from '../../src/lifecycle/lifecycle.js';
import { Database } from '../../src/store/database.js';
import { countTurns } from '../helpers/turns.js';
import { ITEMS, names, open, signal, stop, tempFile } from './helpers.js';

async function versions(db: Database): Promise<number[]> {
  const rows = await db.all('SELECT version FROM workbus_schema_version ORDER BY version', [], {
    signal,
  });
  return rows.map((row) => Number(row['version']));
}

async function tables(db: Database): Promise<string[]> {
  const rows = await db.all(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'workbus_%' ORDER BY name",
    [],
    { signal },
  );
  return rows.map((row) => String(row['name']));
}

describe('Database migrations', () => {
  const seeded = [...ITEMS, { version: 2, up: "INSERT INTO item (name) VALUES ('seed')" }];

  it('applies each migration once, in order, and records its version', async () => {
    const file = tempFile();
    const first = await open(file, { migrations: seeded });
    expect(await versions(first)).toEqual([1, 2]);
    await stop(first);
    const again = await open(file, { migrations: seeded });
    expect(await names(again)).toEqual(['seed']);
    expect(await versions(again)).toEqual([1, 2]);
    await stop(again);
  });

  it('applies all pending migrations in one transaction: a failure leaves the old schema', async () => {
    const file = tempFile();
    const bad = [
      ...seeded,
      { version: 3, up: 'CREATE TABLE tag (name TEXT); CREATE TABLE broken (' },
    ];
    const error = await open(file, { migrations: bad }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreSchemaError);
    expect((error as StoreSchemaError).version).toBe(3);
    expect((error as Error).message).toMatch(/Migration 3 failed/);
    expect(((error as Error).cause as { code: string }).code).toBe('SQLITE_ERROR');
    // Not even migrations 1 and 2 stayed: they ran in the same transaction.
    const db = await open(file, { migrations: [] });
    expect(await tables(db)).toEqual([]);
    expect(await versions(db)).toEqual([]);
    await stop(db);
  });

  it('keeps an existing schema when a new migration fails', async () => {
    const file = tempFile();
    await stop(await open(file, { migrations: seeded }));
    const error = await open(file, {
      migrations: [...seeded, { version: 3, up: 'ALTER TABLE nowhere ADD COLUMN x' }],
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE_SCHEMA', version: 3 });
    const db = await open(file, { migrations: seeded });
    expect(await versions(db)).toEqual([1, 2]);
    expect(await names(db)).toEqual(['seed']);
    await stop(db);
  });

  it('refuses a schema newer than the code knows', async () => {
    const file = tempFile();
    await stop(await open(file, { migrations: seeded }));
    const error = await open(file, { migrations: ITEMS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreSchemaError);
    expect((error as StoreSchemaError).version).toBe(2);
    expect((error as Error).message).toMatch(/schema version 2, newer than this code knows \(1\)/);
  });

  it('refuses migrations out of order', async () => {
    const up = 'SELECT 1';
    await expect(
      Database.open(tempFile(), {
        signal,
        migrations: [
          { version: 2, up },
          { version: 1, up },
        ],
      }),
    ).rejects.toThrow(/migrations\[1\]\.version must be an integer of at least 3, got 1/);
  });
});

describe('Database calls', () => {
  it('reads, writes, transactions and batches', async () => {
    const db = await open(tempFile());
    expect(await db.run('INSERT INTO item (name) VALUES (?)', ['a'], { signal })).toEqual({
      changes: 1,
      lastInsertRowid: 1,
    });
    const results = await db.transaction(
      [
        { sql: 'INSERT INTO item (name) VALUES (@name)', params: { name: 'b' } },
        { sql: "UPDATE item SET name = 'A' WHERE name = 'a'" },
      ],
      { signal },
    );
    expect(results.map((r) => r.changes)).toEqual([1, 1]);
    expect(
      await db.batch('INSERT INTO item (name) VALUES (?)', [['c'], ['d']], { signal }),
    ).toEqual({ changes: 2 });
    expect(await db.get('SELECT name FROM item WHERE id = ?', [2], { signal })).toEqual({
      name: 'b',
    });
    expect(await db.get('SELECT name FROM item WHERE id = ?', [99], { signal })).toBeUndefined();
    expect(await names(db)).toEqual(['A', 'b', 'c', 'd']);
    await stop(db);
  });

  it('returns a large read whole, handed over a page per turn of the event loop', async () => {
    const db = await open(tempFile());
    const rows = Array.from({ length: 4321 }, (_, i) => [`n${i}`]);
    await db.batch('INSERT INTO item (name) VALUES (?)', rows, { signal });
    const loop = countTurns();
    const read = await db.all('SELECT id, name FROM item ORDER BY id', [], { signal });
    loop.stop();
    // Each of the 5 pages is asked for after the previous one arrived: a round trip, so
    // the event loop went round between any two of them.
    expect(loop.turns()).toBeGreaterThanOrEqual(4);
    expect(read).toHaveLength(4321);
    expect(read[4320]).toEqual({ id: 4321, name: 'n4320' });
    await stop(db);
  });

  it('applies all of a transaction or none of it; the SQLite code is in cause', async () => {
    const db = await open(tempFile());
    await db.run('INSERT INTO item (name) VALUES (?)', ['a'], { signal });
    const error = await db
      .transaction(
        [
          { sql: 'INSERT INTO item (name) VALUES (?)', params: ['b'] },
          { sql: 'INSERT INTO item (name) VALUES (?)', params: ['a'] },
        ],
        { signal },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).cause).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
    const batch = await db
      .batch('INSERT INTO item (name) VALUES (?)', [['c'], ['c']], { signal })
      .catch((e: unknown) => e);
    expect(batch).toMatchObject({ code: 'STORE_FAILED' });
    expect(await names(db)).toEqual(['a']);
    await stop(db);
  });

  it('refuses a write through get() or all(): writes go through the writer queue', async () => {
    const db = await open(tempFile());
    await expect(
      db.all("INSERT INTO item (name) VALUES ('x') RETURNING id", [], { signal }),
    ).rejects.toThrow(/all\(\) takes read-only SQL/);
    await expect(db.get('DELETE FROM item RETURNING id', [], { signal })).rejects.toThrow(
      TypeError,
    );
    expect(await names(db)).toEqual([]);
    await stop(db);
  });

  it('turns on foreign keys and WAL', async () => {
    const db = await open(tempFile());
    expect(await db.get('SELECT * FROM pragma_foreign_keys', [], { signal })).toEqual({
      foreign_keys: 1,
    });
    expect(await db.get('SELECT * FROM pragma_journal_mode', [], { signal })).toEqual({
      journal_mode: 'wal',
    });
    await stop(db);
  });

  it('requires a signal on every call: a missing one is a TypeError', async () => {
    const db = await open(tempFile());
    const none = {} as { signal: AbortSignal };
    await expect(db.get('SELECT 1', [], none)).rejects.toThrow(TypeError);
    await expect(db.all('SELECT 1', [], none)).rejects.toThrow(/all options\.signal must be/);
    await expect(db.run('SELECT 1', [], none)).rejects.toThrow(TypeError);
    await expect(db.transaction([], none)).rejects.toThrow(TypeError);
    await expect(db.batch('SELECT 1', [], none)).rejects.toThrow(TypeError);
    await expect(
      db.all('SELECT 1', [], { signal, timeout: 1 } as unknown as { signal: AbortSignal }),
    ).rejects.toThrow(/unknown option 'timeout'/);
    await expect(Database.open(tempFile(), {} as { signal: AbortSignal })).rejects.toThrow(
      TypeError,
    );
    await stop(db);
  });
});

describe('Database files', () => {
  it('names a file that is not SQLite', async () => {
    const file = tempFile('notes.txt');
    writeFileSync(file, 'These are my notes, not a database.\n'.repeat(200));
    const error = await open(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect((error as StoreCorruptError).path).toBe(file);
    expect((error as Error).message).toContain(file);
  });

  it('names a file that cannot be opened', async () => {
    const file = `${tempFile()}-missing-dir/store.db`;
    const error = await open(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/directory does not exist/);
  });

  it('refuses a second Database on the same file in one process', async () => {
    const file = tempFile();
    const db = await open(file);
    const error = await open(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreLockedError);
    expect((error as StoreLockedError).pid).toBe(process.pid);
    await stop(db);
    await stop(await open(file));
  });
});

describe('Database.stop', () => {
  it('checkpoints the WAL, closes the thread, then refuses calls; a second stop waits for the first', async () => {
    const file = tempFile();
    const db = await open(file);
    await db.run('INSERT INTO item (name) VALUES (?)', ['a'], { signal });
    const pending = db.run('INSERT INTO item (name) VALUES (?)', ['b'], { signal });
    const first = stop(db);
    const second = stop(db);
    await expect(pending).resolves.toMatchObject({ changes: 1 });
    await first;
    await second;
    expect(existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0).toBe(0);
    await expect(db.get('SELECT 1', [], { signal })).rejects.toBeInstanceOf(ClosedError);
    const again = await open(file);
    expect(await names(again)).toEqual(['a', 'b']);
    await stop(again);
  });

  it('validates its context', async () => {
    const db = await open(tempFile());
    await expect(db.stop({ deadline: 0 } as unknown as StopContext)).rejects.toThrow(
      /stop context\.signal must be an AbortSignal/,
    );
    await expect(db.stop({ signal, deadline: Number.NaN })).rejects.toThrow(RangeError);
    await stop(db);
  });

  it('is a Lifecycle component', async () => {
    const db = await open(tempFile());
    const app = new Lifecycle();
    app.add('store', db);
    await app.start();
    const report = await app.stop();
    expect(report.components.map((c) => c.outcome)).toEqual(['stopped']);
    await expect(db.get('SELECT 1', [], { signal })).rejects.toBeInstanceOf(ClosedError);
  });

  it('with its signal aborted, rejects the calls still waiting', async () => {
    const db = await open(tempFile());
    const calls = Promise.allSettled(
      [1, 2, 3].map((i) => db.run('INSERT INTO item (name) VALUES (?)', [`n${i}`], { signal })),
    );
    const controller = new AbortController();
    controller.abort();
    await db.stop({ signal: controller.signal, deadline: Date.now() });
    const outcomes = await calls;
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    for (const outcome of outcomes) {
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({
        code: 'ABORTED',
        cause: expect.any(ClosedError) as unknown,
      });
    }
  });
});
