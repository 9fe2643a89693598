import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { StoreBusyError, StoreError } from '../../src/errors.js';
import { ITEMS, open, SCRATCH, signal, SLOW_INSERT, stop, tempFile } from './helpers.js';

const INSERT = 'INSERT INTO item (name) VALUES (?)';

describe('Database.health', () => {
  it('counts calls answered and failed, and with slowCallMs 0 every call is slow', async () => {
    const db = await open(tempFile(), { slowCallMs: 0 });
    await db.run(INSERT, ['a'], { signal });
    await db.get('SELECT name FROM item', [], { signal });
    const error = await db.get('SELECT nope FROM item', [], { signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    const health = db.health();
    expect(health).toMatchObject({
      calls: 3,
      failed: 1,
      pending: 0,
      slowCallMs: 0,
      slowCalls: 3,
      busyRetries: 0,
      busyTimeouts: 0,
    });
    expect(health.lastSlow?.method).toBe('get');
    expect(health.slowestMs).toBeGreaterThanOrEqual(health.lastSlow?.ms ?? 0);
    expect(Object.isFrozen(health)).toBe(true);
    await stop(db);
  });

  it('counts a call pending until it is answered, and an aborted call is no failure', async () => {
    const db = await open(tempFile(), { migrations: [...ITEMS, SCRATCH] });
    const slow = db.run(SLOW_INSERT, [], { signal });
    const controller = new AbortController();
    // Writes go in order: this one waits for the slow one.
    const waiting = db.run(INSERT, ['later'], { signal: controller.signal });
    expect(db.health().pending).toBe(2);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    await slow;
    expect(db.health()).toMatchObject({ calls: 2, failed: 0, pending: 0 });
    await stop(db);
  });

  it("counts each wait on another connection's write lock, and the give-up", async () => {
    const file = tempFile();
    const db = await open(file, { busyTimeoutMs: 200 });
    const other = new BetterSqlite3(file);
    other.exec('BEGIN IMMEDIATE');
    const error = await db.run(INSERT, ['a'], { signal }).catch((e: unknown) => e);
    other.exec('ROLLBACK');
    other.close();
    expect(error).toBeInstanceOf(StoreBusyError);
    const health = db.health();
    expect(health.busyRetries).toBeGreaterThan(0);
    expect(health).toMatchObject({ busyTimeouts: 1, failed: 1 });
    await db.run(INSERT, ['a'], { signal });
    expect(db.health().busyTimeouts).toBe(1);
    await stop(db);
  });

  it('refuses a slowCallMs that is not a duration', async () => {
    await expect(open(tempFile(), { slowCallMs: -1 })).rejects.toThrow(/slowCallMs/);
  });
});
