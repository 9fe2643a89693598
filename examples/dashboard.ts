/**
 * The live dashboard (`serveDashboard` from `workbus/bridge`) over an app's own pool, bus,
 * store and failure tracker. `serveDashboard`'s TSDoc example is copied from here;
 * `test/bridge/dashboard-example.test.ts` runs it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database, EventBus, FailureTracker, WorkPool, type PoolEvents } from 'workbus';
import { serveDashboard } from 'workbus/bridge/dashboard';

export async function dashboardExample(
  log: (line: string) => void = console.log,
  port = 0,
): Promise<void> {
  const signal = new AbortController().signal;
  const dir = mkdtempSync(join(tmpdir(), 'workbus-dashboard-example-'));
  const db = await Database.open(join(dir, 'app.db'), { signal });
  const tracker = await FailureTracker.open(db, { signal });
  const bus = new EventBus<PoolEvents>();
  const pool = new WorkPool({
    concurrency: 4,
    types: { thumbnail: { concurrency: 2 } },
    bus,
    tracker,
  });

  const dashboard = await serveDashboard({ pool, bus, tracker, store: db, port });
  log(`dashboard: ${dashboard.url}`);
  // dashboard: http://127.0.0.1:8080/

  await dashboard.close();
  await pool.close();
  await db.stop({ signal, deadline: Date.now() + 5000 });
  rmSync(dir, { recursive: true, force: true });
}
