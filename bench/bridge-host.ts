/**
 * The bridge benchmark's host, run in a worker thread as a utility process would run it:
 * a pool of CPU-bound jobs and a store, served to each port the benchmark hands over.
 * Each request from `parentPort` gets one reply, in order: serve a port; open a fresh
 * store (before the clock starts, as the peer's file is); do the work (the jobs and the
 * write at once); stop.
 */
import { join } from 'node:path';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Database } from 'workbus';
import { nodePort, serveWorkbus, type BridgeConnection } from 'workbus/bridge';
import { INSERT, SCHEMA, cpuPool, items, runJobs } from './bridge-work.js';

export type HostRequest =
  | { readonly cmd: 'serve'; readonly port: MessagePort }
  | { readonly cmd: 'open'; readonly rows: number }
  | { readonly cmd: 'work'; readonly jobs: number }
  | { readonly cmd: 'stop' };

const control = parentPort as NonNullable<typeof parentPort>;
const dir = (workerData as { dir: string }).dir;
const signal = new AbortController().signal;
const { pool, bus } = cpuPool();
const connections: BridgeConnection[] = [];
let writes = 0;
let write: { readonly db: Database; readonly rows: [string, string][] } | undefined;

async function handle(request: HostRequest): Promise<unknown> {
  switch (request.cmd) {
    case 'serve':
      connections.push(
        serveWorkbus(nodePort(request.port), { pool, bus, snapshotIntervalMs: 100 }),
      );
      return true;
    case 'open':
      write = {
        db: await Database.open(join(dir, `host-${++writes}.db`), {
          signal,
          migrations: [{ version: 1, up: SCHEMA }],
        }),
        rows: items(request.rows),
      };
      return true;
    case 'work': {
      const { db, rows } = write as NonNullable<typeof write>;
      await Promise.all([runJobs(pool, request.jobs), db.batch(INSERT, rows, { signal })]);
      await db.stop({ signal, deadline: Date.now() + 10_000 });
      return true;
    }
    case 'stop':
      for (const connection of connections) connection.close();
      await pool.close({ graceMs: 0 });
      bus.close();
      return true;
  }
}

control.on('message', (request: HostRequest) => {
  handle(request).then(
    (value) => {
      control.postMessage({ value });
      // The last answer is out: nothing else keeps the thread alive.
      if (request.cmd === 'stop') control.close();
    },
    (error: unknown) => control.postMessage({ error: String(error) }),
  );
});
control.postMessage('ready');
