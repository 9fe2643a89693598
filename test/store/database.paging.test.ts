/**
 * Large writes cross to the thread a page at a time (1000 rows or statements), each in a
 * task of its own on the app's thread, and stay one transaction: whatever stops them between
 * pages (a SQLite error, an abort, a row that cannot be sent) leaves nothing behind.
 */
import { describe, expect, it } from 'vitest';
import { isAbortError } from '../../src/abort.js';
import { StoreError } from '../../src/errors.js';
import type { SqlParams } from '../../src/store/protocol.js';
import { names, open, signal, stop, tempFile } from './helpers.js';

const INSERT_NAMED = 'INSERT INTO item (name) VALUES (@name)';
const ROWS = 4321; // five pages, the last a partial one

/**
 * Rows whose `name` is read when the row is cloned for the thread: `onClone(i)` runs then,
 * on the app's thread, at the moment row `i` crosses.
 */
function watchedRows(onClone: (index: number) => void): SqlParams[] {
  return Array.from({ length: ROWS }, (_, i) => ({
    get name() {
      onClone(i);
      return `n${i}`;
    },
  }));
}

describe('Database writes in pages', () => {
  it('clones a large batch a page per task of the event loop, and commits it whole', async () => {
    const db = await open(tempFile());
    // At the first row of each page: did the previous page's clone end in an earlier task
    // (its queued microtask has run)? One message for all rows would answer false.
    const apart: boolean[] = [];
    let previousEnded = true;
    const rows = watchedRows((i) => {
      if (i % 1000 !== 0) return;
      apart.push(previousEnded);
      previousEnded = false;
      queueMicrotask(() => (previousEnded = true));
    });
    const result = await db.batch(INSERT_NAMED, rows, { signal });
    expect(apart).toEqual([true, true, true, true, true]);
    expect(result).toEqual({ changes: ROWS });
    expect(await db.get('SELECT count(*) AS n FROM item', [], { signal })).toEqual({ n: ROWS });
    await stop(db);
  });

  it('rolls back the whole batch when a row of a later page fails in SQLite', async () => {
    const db = await open(tempFile());
    const rows = Array.from({ length: ROWS }, (_, i) => [i === 3500 ? 'n0' : `n${i}`]);
    const error = await db
      .batch('INSERT INTO item (name) VALUES (?)', rows, { signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).cause).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
    expect(await names(db)).toEqual([]);
    await stop(db);
  });

  it('rolls back the whole batch when its signal aborts between pages', async () => {
    const db = await open(tempFile());
    const controller = new AbortController();
    const reason = new Error('user went away');
    // Row 2500 is cloned on the app's thread while pages 0 and 1 are already written.
    const rows = watchedRows((i) => {
      if (i === 2500) controller.abort(reason);
    });
    const error = await db
      .batch(INSERT_NAMED, rows, { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(isAbortError(error)).toBe(true);
    expect((error as Error).cause).toBe(reason);
    expect(await names(db)).toEqual([]);
    await stop(db);
  });

  it('rolls back the whole batch when a row of a later page cannot be sent, naming the page', async () => {
    const db = await open(tempFile());
    const rows: unknown[] = Array.from({ length: ROWS }, (_, i) => [`n${i}`]);
    rows[2500] = [() => 'not SQL data'];
    const error = await db
      .batch('INSERT INTO item (name) VALUES (?)', rows as SqlParams[], { signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^Items 2000–2999 of the write cannot be sent/);
    expect((error as Error).cause).toMatchObject({ name: 'DataCloneError' });
    expect(await names(db)).toEqual([]);
    // The thread is free again, its transaction gone: the next write commits.
    await db.run('INSERT INTO item (name) VALUES (?)', ['after'], { signal });
    expect(await names(db)).toEqual(['after']);
    await stop(db);
  });

  it('refuses a first page that cannot be sent before anything runs', async () => {
    const db = await open(tempFile());
    const error = await db
      .batch('INSERT INTO item (name) VALUES (?)', [[Symbol('x')]] as never, { signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^Items 0–0 of the write cannot be sent/);
    await db.run('INSERT INTO item (name) VALUES (?)', ['after'], { signal });
    expect(await names(db)).toEqual(['after']);
    await stop(db);
  });

  it('sends a large transaction in pages too, all of it or none', async () => {
    const db = await open(tempFile());
    const statements = Array.from({ length: ROWS }, (_, i) => ({
      sql: 'INSERT INTO item (name) VALUES (?)',
      params: [`n${i}`],
    }));
    const results = await db.transaction(statements, { signal });
    expect(results).toHaveLength(ROWS);
    expect(results[ROWS - 1]).toEqual({ changes: 1, lastInsertRowid: ROWS });
    const failing = [
      ...statements.map((s) => ({ ...s, params: [`again ${String(s.params[0])}`] })),
    ];
    failing.push({ sql: 'INSERT INTO item (name) VALUES (?)', params: ['n0'] });
    await expect(db.transaction(failing, { signal })).rejects.toBeInstanceOf(StoreError);
    expect(await db.get('SELECT count(*) AS n FROM item', [], { signal })).toEqual({ n: ROWS });
    await stop(db);
  });
});
