/**
 * The store: rows/s for bulk inserts (one `batch` transaction, a `run` per row, and a
 * plain better-sqlite3 loop on the main thread), a full read, and a write waiting for a
 * lock held by another process; for each, how long the main thread's event loop was held
 * (p99 and max of `monitorEventLoopDelay`). Printed, not asserted: the point is where the
 * time goes, not a threshold.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { Database } from 'workbus';
import { withLoopDelay } from './harness.js';

const SCHEMA = 'CREATE TABLE item (id INTEGER PRIMARY KEY, guid TEXT NOT NULL, title TEXT)';
const INSERT = 'INSERT INTO item (guid, title) VALUES (?, ?)';
const signal = new AbortController().signal;

interface Sample {
  readonly name: string;
  readonly rows: number;
  readonly seconds: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Runs `fn`, timing it and recording the event loop's delay meanwhile. */
async function sample(name: string, rows: number, fn: () => Promise<void>): Promise<Sample> {
  return { name, rows, ...(await withLoopDelay(fn)) };
}

function print(title: string, samples: readonly Sample[]): void {
  console.log(`\n${title}`);
  const width = Math.max(...samples.map((s) => s.name.length));
  for (const s of samples) {
    const rate = (
      s.rows === 0 ? '—' : Math.round(s.rows / s.seconds).toLocaleString('en-US')
    ).padStart(10);
    console.log(
      `  ${s.name.padEnd(width)}  ${rate} rows/s  loop delay p99 ${s.p99Ms.toFixed(1).padStart(7)} ms, max ${s.maxMs.toFixed(1).padStart(7)} ms`,
    );
  }
}

/**
 * Another process holding `file`'s write lock for `ms`: resolves once it holds it, with a
 * promise of its exit.
 */
async function holdWriteLock(file: string, ms: number): Promise<{ exited: Promise<void> }> {
  const script = `
    const db = new (require('better-sqlite3'))(process.argv[1], { timeout: 0 });
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, Number(process.argv[2]));`;
  const child = spawn(process.execPath, ['-e', script, file, String(ms)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => resolve());
    void exited.then(() => reject(new Error('the lock holder exited first')));
  });
  return { exited };
}

function items(n: number): [string, string][] {
  return Array.from({ length: n }, (_, i) => [`guid-${i}`, `Item number ${i}`]);
}

export async function benchStore(scale: number): Promise<void> {
  const n = Math.max(1000, Math.round(100_000 * scale));
  const perRow = Math.max(100, Math.round(n / 10));
  const dir = mkdtempSync(join(tmpdir(), 'workbus-bench-store-'));
  const migrations = [{ version: 1, up: SCHEMA }];
  try {
    const batched = await Database.open(join(dir, 'batch.db'), { signal, migrations });
    const autocommit = await Database.open(join(dir, 'run.db'), { signal, migrations });
    const plain = new BetterSqlite3(join(dir, 'plain.db'));
    plain.pragma('journal_mode = WAL');
    plain.pragma('synchronous = NORMAL');
    plain.exec(SCHEMA);
    const rows = items(n);
    const saves = [
      await sample(`Database.batch, ${n} rows in one transaction`, n, async () => {
        await batched.batch(INSERT, rows, { signal });
      }),
      await sample(`Database.run per row, ${perRow} rows`, perRow, async () => {
        for (const row of rows.slice(0, perRow)) await autocommit.run(INSERT, row, { signal });
      }),
      await sample(`better-sqlite3 on the main thread, ${n} rows`, n, () => {
        const insert = plain.prepare(INSERT);
        plain.transaction(() => {
          for (const row of rows) insert.run(...row);
        })();
        return Promise.resolve();
      }),
    ];
    print(`store: save (rows/s; the main thread's event loop meanwhile)`, saves);
    const reads = [
      await sample(`Database.all, ${n} rows (pages of 1000)`, n, async () => {
        await batched.all('SELECT * FROM item', [], { signal });
      }),
      await sample(`better-sqlite3 all() on the main thread, ${n} rows`, n, () => {
        plain.prepare('SELECT * FROM item').all();
        return Promise.resolve();
      }),
    ];
    print('store: read', reads);
    const holdMs = 2000;
    const holder = await holdWriteLock(join(dir, 'batch.db'), holdMs);
    const waits = [
      await sample(
        `Database.run waiting ${holdMs} ms for another process's write lock`,
        0,
        async () => {
          await batched.run(INSERT, ['after the wait', ''], { signal });
        },
      ),
    ];
    await holder.exited;
    print('store: lock wait (retried in slices from the app thread)', waits);
    plain.close();
    await batched.stop({ signal, deadline: Date.now() + 10_000 });
    await autocommit.stop({ signal, deadline: Date.now() + 10_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const scale = Number(process.env.BENCH_SCALE ?? '1');
  await benchStore(scale);
}
