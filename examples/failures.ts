/**
 * Failure tracking: a pool whose keyed jobs go through a FailureTracker kept in SQLite.
 * The README's "Failure tracking" section and the TSDoc example of `FailureTracker` are
 * copied from here; `test/examples.test.ts` runs it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database, FailureTracker, JobSkippedError, NonRetryableError, WorkPool } from 'workbus';

export async function failures(log: (line: string) => void = console.log): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'workbus-failures-'));
  const { signal } = new AbortController();
  const db = await Database.open(join(directory, 'app.db'), { signal });
  try {
    // --- tracker
    const tracker = await FailureTracker.open(db, { signal, baseMs: 1_000, maxMs: 60_000 });
    const pool = new WorkPool({ concurrency: 2, types: { fetch: { concurrency: 2 } }, tracker });
    const feed = 'https://example.org/feed.xml';
    const down = () => Promise.reject(new Error('503 Service Unavailable'));
    await pool.run('fetch', down, { key: feed }).catch(() => {}); // counted: backs off
    const skipped = await pool
      .run('fetch', () => 'not run', { key: feed })
      .catch((e: unknown) => e);
    if (skipped instanceof JobSkippedError) log(`${skipped.code}: ${skipped.reason}`);
    // JOB_SKIPPED: backoff
    const gone = () => {
      throw new NonRetryableError('410 Gone', { permanent: true }); // skipped until the TTL
    };
    await pool.run('fetch', gone, { key: 'https://example.org/old.xml' }).catch(() => {});
    for (const r of tracker.list()) log(`${r.key}: ${r.failures}, permanent ${r.permanent}`);
    // https://example.org/feed.xml: 1, permanent false
    // https://example.org/old.xml: 1, permanent true
    await tracker.clear(feed, { signal }); // forgive: "retry now"
    log(await pool.run('fetch', () => 'fetched', { key: feed })); // a success clears a key too
    // fetched
    await pool.close();
    // --- end
  } finally {
    await db.stop({ signal, deadline: Date.now() + 5_000 });
    rmSync(directory, { recursive: true, force: true });
  }
}
