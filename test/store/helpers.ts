import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach } from 'vitest';
import { Database } from '../../src/store/database.js';
import type { DatabaseOptions } from '../../src/store/options.js';
import type { Migration } from '../../src/store/protocol.js';

/** A signal that never aborts, for calls a test does not cancel. */
export const signal = new AbortController().signal;

export const ITEMS: readonly Migration[] = [
  { version: 1, up: 'CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)' },
];

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A path in a fresh temporary directory, removed after the test. */
export function tempFile(name = 'store.db'): string {
  const dir = mkdtempSync(join(tmpdir(), 'workbus-store-'));
  dirs.push(dir);
  return join(dir, name);
}

export function open(file: string, options: Partial<DatabaseOptions> = {}): Promise<Database> {
  return Database.open(file, { migrations: ITEMS, signal, ...options });
}

export function stop(db: Database): Promise<void> {
  return db.stop({ signal, deadline: Date.now() + 10_000 });
}

export async function names(db: Database): Promise<string[]> {
  const rows = await db.all('SELECT name FROM item ORDER BY id', [], { signal });
  return rows.map((row) => String(row['name']));
}

/** A write that keeps the thread busy for a while: a few million rows into a scratch table. */
export const SLOW_INSERT =
  'INSERT INTO scratch (x) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT x FROM c';

export const SCRATCH: Migration = { version: 2, up: 'CREATE TABLE scratch (x INTEGER)' };

/**
 * Resolves once some connection holds `file`'s write lock, seen from a connection of the
 * test's own that tries to take it: a gate on "the thread is inside a write", not a sleep.
 */
export async function untilWriting(file: string): Promise<void> {
  const probe = new BetterSqlite3(file, { timeout: 0 });
  try {
    for (;;) {
      try {
        probe.exec('BEGIN IMMEDIATE');
        probe.exec('ROLLBACK');
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_BUSY') return;
        throw error;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    probe.close();
  }
}
