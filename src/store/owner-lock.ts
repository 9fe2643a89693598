/**
 * The owner lock of a database in `'exclusive'` mode: one owning process per file, for
 * the Database's whole life. The lock is the file's lock directory (`<file>.lock`, the
 * machinery of `fs/lock-directory.ts`: refreshed, taken over once stale); who holds it is
 * recorded beside it in `<file>.owner` (pid, host, since), written atomically once the
 * lock is taken, so that a refused opener can be told whom to look for.
 * Internal: used by `database.ts`.
 */
import { rm, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { sleep } from '../abort.js';
import { FileLockedError, LockCompromisedError, StoreLockedError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-file.js';
import { canonicalPath } from '../fs/canonical-path.js';
import { acquire } from '../fs/lock-directory.js';

/** A process that owns (or owned) a database in `'exclusive'` mode. */
export interface DatabaseOwner {
  /** Its process id, on `host`. */
  readonly pid: number;
  /** `os.hostname()` of its machine. */
  readonly host: string;
  /** When it took the lock. */
  readonly since: Date;
}

/**
 * How long a refused opener waits for the holder's record: the holder writes it right
 * after taking the lock, so a missing record is a holder within those few milliseconds.
 */
const RECORD_WAIT_MS = 1_000;
const RECORD_POLL_MS = 20;

export class OwnerLock {
  readonly #record: string;
  readonly #release: () => Promise<void>;
  readonly #lost: AbortController;
  readonly #recovered: DatabaseOwner | undefined;
  #released = false;

  private constructor(
    record: string,
    release: () => Promise<void>,
    lost: AbortController,
    recovered: DatabaseOwner | undefined,
  ) {
    this.#record = record;
    this.#release = release;
    this.#lost = lost;
    this.#recovered = recovered;
  }

  /**
   * Takes the owner lock of `file` without waiting: a stale lock (its owner died or hung
   * for `staleMs`) is taken over and its owner reported in {@link OwnerLock.recovered}.
   * @throws StoreLockedError naming the owner's pid and host when another owner holds it
   *   (pid 0 and host '' if it left no record within a second: not a workbus Database).
   */
  static async take(file: string, staleMs: number, signal: AbortSignal): Promise<OwnerLock> {
    const target = await canonicalPath(file);
    const record = `${target}.owner`;
    const lost = new AbortController();
    let release: () => Promise<void>;
    try {
      release = await acquire(target, staleMs, signal, false, (error) => {
        // Called from proper-lockfile's refresh timer: never throw here.
        lost.abort(new LockCompromisedError(target, { cause: error }));
      });
    } catch (error) {
      if (!(error instanceof FileLockedError)) throw error;
      const owner = await waitForRecord(record, signal);
      const who =
        owner === undefined
          ? 'another process that left no owner record'
          : `process ${owner.pid} on host ${owner.host} (since ${owner.since.toISOString()})`;
      throw new StoreLockedError(`${file} is owned by ${who}: opened in 'exclusive' mode`, {
        path: file,
        pid: owner?.pid ?? 0,
        host: owner?.host ?? '',
        cause: error,
      });
    }
    try {
      // An owner that stopped removed its record: one still here was left by an owner
      // that died (or hung) holding the lock we have just taken over.
      const recovered = await readRecord(record);
      const self = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
      await writeFileAtomic(record, JSON.stringify(self), { signal });
      return new OwnerLock(record, release, lost, recovered);
    } catch (error) {
      await release().catch(() => undefined);
      throw error;
    }
  }

  /** The owner whose stale lock this one took over, if any. */
  get recovered(): DatabaseOwner | undefined {
    return this.#recovered;
  }

  /**
   * Aborts with a `LockCompromisedError` when the lock is lost while held: another process
   * found it stale (our refreshes stalled) and took it over, or its directory was removed.
   */
  get lost(): AbortSignal {
    return this.#lost.signal;
  }

  /**
   * Removes the record, then the lock. A lost lock is left alone: it and the record now
   * belong to the new owner. A second call does nothing.
   */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    if (this.#lost.signal.aborted) return;
    await rm(this.#record, { force: true });
    await this.#release();
  }
}

async function waitForRecord(
  record: string,
  signal: AbortSignal,
): Promise<DatabaseOwner | undefined> {
  for (let waited = 0; ; waited += RECORD_POLL_MS) {
    const owner = await readRecord(record);
    if (owner !== undefined || waited >= RECORD_WAIT_MS) return owner;
    await sleep(RECORD_POLL_MS, { signal });
  }
}

/** The owner in `record`, or undefined when there is none (or not a readable one). */
async function readRecord(record: string): Promise<DatabaseOwner | undefined> {
  let text: string;
  try {
    text = await readFile(record, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { pid, host, since } = JSON.parse(text) as Record<string, unknown>;
    if (typeof pid !== 'number' || typeof host !== 'string' || typeof since !== 'string') {
      return undefined;
    }
    return Object.freeze({ pid, host, since: new Date(since) });
  } catch {
    // Written atomically by us, so only someone else's file can be unreadable here.
    return undefined;
  }
}
