/**
 * The thread that owns a `Database`'s SQLite connection. better-sqlite3 is synchronous:
 * run on the app's thread, a 100,000-row read or a bulk insert would stop the event loop
 * for its whole length, so every statement runs here and only plain data crosses.
 *
 * The thread never waits for a lock: the connection's busy timeout is 0, so a write lock
 * held by another process answers `busy` at once and the `Database` retries from its own
 * thread in short, abortable slices. The thread runs one call at a time.
 * Internal: started by `database.ts`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import type {
  Envelope,
  Failure,
  Migration,
  Reply,
  Request,
  Row,
  SqlParams,
  SqliteFailure,
  Statement,
  ThreadData,
  WriteItem,
} from './protocol.js';

const data = workerData as ThreadData;
const abortFlag = new Int32Array(data.abortFlag);
let db: BetterSqlite3.Database | undefined;

/** Thrown inside a call to unwind it with a {@link Failure} already decided. */
class Stop extends Error {
  constructor(readonly failure: Failure) {
    super(failure.kind);
  }
}

function connection(): BetterSqlite3.Database {
  if (db === undefined) throw new Stop({ kind: 'sqlite', error: closedFailure });
  return db;
}

const closedFailure: SqliteFailure = { message: 'The database is not open', code: undefined };

/** Checked between statements and before COMMIT: past this point the call completes. */
function checkAbort(id: number): void {
  if (Atomics.load(abortFlag, 0) === id) throw new Stop({ kind: 'aborted' });
}

function sqliteFailure(error: unknown): SqliteFailure {
  const code = (error as { code?: unknown } | null)?.code;
  return {
    message: error instanceof Error ? error.message : String(error),
    code: typeof code === 'string' ? code : undefined,
  };
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}

/** The failure a thrown value stands for; SQLITE_BUSY becomes `busy`, for the caller to retry. */
function failureOf(error: unknown): Failure {
  if (error instanceof Stop) return error.failure;
  if (isBusy(error)) return { kind: 'busy' };
  const failure = sqliteFailure(error);
  if (failure.code === 'SQLITE_NOTADB') return { kind: 'corrupt', message: failure.message };
  return { kind: 'sqlite', error: failure };
}

/**
 * Runs `body` in one `BEGIN IMMEDIATE` transaction: IMMEDIATE takes the write lock
 * first, so a busy database fails at BEGIN, before any statement ran, and the whole
 * call can be retried. Any throw rolls back.
 */
function inTransaction<T>(id: number, body: (conn: BetterSqlite3.Database) => T): T {
  const conn = connection();
  conn.exec('BEGIN IMMEDIATE');
  try {
    const value = body(conn);
    checkAbort(id);
    conn.exec('COMMIT');
    return value;
  } catch (error) {
    if (conn.inTransaction) conn.exec('ROLLBACK');
    throw error;
  }
}

function bind(params: SqlParams | undefined): unknown[] {
  if (params === undefined) return [];
  return Array.isArray(params) ? params : [params];
}

function open(
  id: number,
  synchronous: 'normal' | 'full',
  migrations: readonly Migration[],
): number {
  if (db === undefined) {
    db = new BetterSqlite3(data.path, { timeout: 0 });
  }
  const conn = db;
  // The first statement reads the file header: a file that is not SQLite fails here.
  conn.pragma('journal_mode = WAL');
  conn.pragma('foreign_keys = ON');
  conn.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  return migrate(id, conn, migrations);
}

const VERSION_TABLE = 'workbus_schema_version';

function migrate(
  id: number,
  conn: BetterSqlite3.Database,
  migrations: readonly Migration[],
): number {
  const known = migrations.at(-1)?.version ?? 0;
  return inTransaction(id, () => {
    conn.exec(
      `CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`,
    );
    const row = conn.prepare(`SELECT max(version) AS version FROM ${VERSION_TABLE}`).get() as
      { version: number | null } | undefined;
    const current = row?.version ?? 0;
    if (current > known) throw new Stop({ kind: 'newer', version: current, known });
    const record = conn.prepare(
      `INSERT INTO ${VERSION_TABLE} (version, applied_at) VALUES (?, datetime('now'))`,
    );
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      try {
        conn.exec(migration.up);
      } catch (error) {
        if (isBusy(error)) throw error;
        throw new Stop({
          kind: 'migration',
          version: migration.version,
          error: sqliteFailure(error),
        });
      }
      record.run(migration.version);
    }
    return known;
  });
}

/**
 * The write whose pages are still crossing. Its `BEGIN IMMEDIATE` transaction stays open
 * from the first page to the last, within this one call: the thread takes no other
 * request meanwhile (the `Database` sends none), and any failure, an abort included,
 * rolls the whole of it back.
 */
let writing:
  | {
      readonly id: number;
      /** Runs one item; the abort flag is checked before each. */
      readonly apply: (item: WriteItem) => void;
      readonly result: () => unknown;
    }
  | undefined;

const noWriteFailure: SqliteFailure = { message: 'No write in progress', code: undefined };

function transaction(id: number, statements: readonly Statement[], more: boolean): Reply {
  const conn = connection();
  const results: { changes: number; lastInsertRowid: number | bigint }[] = [];
  conn.exec('BEGIN IMMEDIATE');
  writing = {
    id,
    apply: (item) => {
      const statement = item as Statement;
      const result = conn.prepare(statement.sql).run(...bind(statement.params));
      results.push({ changes: result.changes, lastInsertRowid: result.lastInsertRowid });
    },
    result: () => results,
  };
  return writePage(id, statements, more);
}

function batch(id: number, sql: string, rows: readonly SqlParams[], more: boolean): Reply {
  const conn = connection();
  conn.exec('BEGIN IMMEDIATE');
  const statement = conn.prepare(sql);
  let changes = 0;
  writing = {
    id,
    apply: (item) => {
      changes += statement.run(...bind(item as SqlParams)).changes;
    },
    result: () => ({ changes }),
  };
  return writePage(id, rows, more);
}

/** Runs one page of the write in progress; asks for the next, or commits after the last. */
function writePage(id: number, items: readonly WriteItem[], more: boolean): Reply {
  const current = writing;
  if (current?.id !== id) throw new Stop({ kind: 'sqlite', error: noWriteFailure });
  for (const item of items) {
    checkAbort(id);
    current.apply(item);
  }
  if (more) return { id, kind: 'ask' };
  checkAbort(id);
  connection().exec('COMMIT');
  writing = undefined;
  return { id, kind: 'done', value: current.result() };
}

/** The rows of the `all` being handed over, page by page. */
let paging: { readonly id: number; readonly rows: readonly Row[]; next: number } | undefined;

/**
 * Reads run as one statement, outside any explicit transaction, so SQLite's read
 * snapshot ends before the first row crosses. An `all` then crosses a page at a time,
 * each sent only when the app's thread asks for it (`next`): Node delivers every message
 * already queued on a port in one turn of the event loop, so pages sent all at once
 * would be deserialised all at once, as if unpaged.
 */
function read(id: number, request: Extract<Request, { kind: 'get' | 'all' }>): Reply {
  const statement = connection().prepare(request.sql);
  // A write here would bypass the writer queue and BEGIN IMMEDIATE.
  if (!statement.readonly) {
    throw new Stop({
      kind: 'usage',
      message: `${request.kind}() takes read-only SQL; write with run(), transaction() or batch(): ${request.sql}`,
    });
  }
  if (request.kind === 'get') {
    const row = statement.get(...bind(request.params)) as Row | undefined;
    checkAbort(id);
    return { id, kind: 'done', value: row };
  }
  paging = { id, rows: statement.all(...bind(request.params)) as Row[], next: 0 };
  return nextPage(id);
}

/** The next page of the `all` in progress, or `done` after the last; stops on an abort. */
function nextPage(id: number): Reply {
  const current = paging;
  if (current?.id !== id) throw new Stop({ kind: 'sqlite', error: noReadFailure });
  checkAbort(id);
  if (current.next >= current.rows.length) {
    paging = undefined;
    return { id, kind: 'done', value: current.rows.length };
  }
  const rows = current.rows.slice(current.next, current.next + data.pageSize);
  current.next += data.pageSize;
  return { id, kind: 'page', rows };
}

const noReadFailure: SqliteFailure = { message: 'No read in progress', code: undefined };

function close(): undefined {
  if (db === undefined) return undefined;
  const conn = db;
  db = undefined;
  try {
    // TRUNCATE leaves an empty -wal file: the next open has nothing to replay. Another
    // process reading or writing makes it busy; that process checkpoints later instead.
    conn.pragma('wal_checkpoint(TRUNCATE)');
  } catch (error) {
    if (!isBusy(error)) throw error;
  } finally {
    conn.close();
  }
  return undefined;
}

function handle({ id, request }: Envelope): Reply {
  const done = (value: unknown): Reply => ({ id, kind: 'done', value });
  switch (request.kind) {
    case 'open':
      return done(open(id, request.synchronous, request.migrations));
    case 'get':
    case 'all':
      return read(id, request);
    case 'next':
      return nextPage(id);
    case 'transaction':
      return transaction(id, request.statements, request.more);
    case 'batch':
      return batch(id, request.sql, request.rows, request.more);
    case 'page':
      return writePage(id, request.items, request.more);
    case 'rollback':
      throw new Stop({ kind: 'aborted' });
    case 'close':
      return done(close());
  }
}

parentPort?.on('message', (envelope: Envelope) => {
  let reply: Reply;
  try {
    reply = handle(envelope);
  } catch (error) {
    paging = undefined;
    writing = undefined;
    reply = { id: envelope.id, kind: 'failed', failure: failureOf(error) };
    if (db?.inTransaction === true) db.exec('ROLLBACK');
  }
  parentPort?.postMessage(reply);
});
