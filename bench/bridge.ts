/**
 * The bridge: is the main thread free while the host works elsewhere? A pool runs CPU-bound
 * jobs (20 ms each) while a 20,000-row bulk write goes to SQLite, and a consumer on the
 * main thread follows the job events and polls snapshots; the main thread's event-loop
 * delay (p99, max) is recorded meanwhile. Hosted: the pool and a `Database` live in a
 * worker thread (`bench/bridge-host.ts`, as a utility process would host them) and the
 * consumer is a bridge client over a `MessageChannel`. Peer, in the same run: the pool,
 * the jobs and a plain better-sqlite3 write on the main thread itself, with the consumer
 * reading the bus and the pool directly. Rounds alternate the two; medians are printed,
 * with the ratio of the main thread's max delay, and the delay of a main thread that
 * only waits as long (the machine's floor: a loaded machine deschedules it too).
 * Printed, not asserted.
 * `npx tsx bench/bridge.ts`, or through `npm run bench`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { RESYNC_TOPIC, connectWorkbus, nodePort } from 'workbus/bridge';
import type { HostRequest } from './bridge-host.js';
import { INSERT, SCHEMA, TOPICS, cpuPool, items, runJobs } from './bridge-work.js';
import { withLoopDelay, type LoopSample } from './harness.js';

/** One round: the main thread's loop delay, and what its consumer received. */
interface Round extends LoopSample {
  readonly events: number;
  readonly dropped: number;
  readonly snapshots: number;
}

/** How often the peer's consumer polls the pool: the host's snapshot interval. */
const SNAPSHOT_MS = 100;
const ROUNDS = 3;

/** The bench host in a worker thread (TypeScript loaded through tsx there). */
class Host {
  readonly #worker: Worker;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  static async start(dir: string): Promise<Host> {
    const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
    const module = JSON.stringify(new URL('./bridge-host.ts', import.meta.url).href);
    const entry = `import(${tsx}).then((api) => { api.register(); return import(${module}); });`;
    const worker = new Worker(entry, { eval: true, workerData: { dir } });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    worker.removeAllListeners('error');
    return new Host(worker);
  }

  /** Sends `request` and waits for its reply (one at a time). */
  async ask(request: HostRequest, transfer: readonly MessagePort[] = []): Promise<void> {
    const reply = await new Promise<{ error?: string }>((resolve) => {
      this.#worker.once('message', resolve);
      this.#worker.postMessage(request, transfer as MessagePort[]);
    });
    if (reply.error !== undefined) throw new Error(`The bench host failed: ${reply.error}`);
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.#worker.once('exit', resolve));
    await this.ask({ cmd: 'stop' });
    await exited;
  }
}

/** The work hosted in the worker, followed from the main thread by a bridge client. */
async function hosted(host: Host, jobs: number, rows: number): Promise<Round> {
  const { port1, port2 } = new MessageChannel();
  await host.ask({ cmd: 'serve', port: port1 }, [port1]);
  await host.ask({ cmd: 'open', rows });
  const client = await connectWorkbus(nodePort(port2));
  const sub = client.subscribe(TOPICS, { buffer: 256 });
  await sub.ready;
  let events = 0;
  let snapshots = 0;
  let working = true;
  const sample = await withLoopDelay(async () => {
    const read = (async () => {
      for await (const item of sub) if (item.topic !== RESYNC_TOPIC) events++;
    })();
    const poll = (async () => {
      // The host coalesces snapshots: asking back to back gets one per its interval.
      while (working) {
        await client.snapshot();
        snapshots++;
      }
    })();
    await host.ask({ cmd: 'work', jobs });
    working = false;
    await poll;
    sub.close();
    await read;
  });
  const { dropped } = sub.stats;
  client.close();
  return { ...sample, events, dropped, snapshots };
}

/** The same work on the main thread, followed by the same consumer reading in process. */
async function onMainThread(dir: string, round: number, jobs: number, rows: number) {
  const { pool, bus } = cpuPool();
  const db = new BetterSqlite3(join(dir, `main-${round}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);
  const data = items(rows);
  const sub = bus.subscribe(TOPICS, { buffer: 256 });
  let events = 0;
  let snapshots = 0;
  let working = true;
  const sample = await withLoopDelay(async () => {
    const read = (async () => {
      for await (const _ of sub) events++;
    })();
    const poll = (async () => {
      while (working) {
        pool.snapshot();
        snapshots++;
        await sleep(SNAPSHOT_MS);
      }
    })();
    const write = sleep(0).then(() => {
      const insert = db.prepare(INSERT);
      db.transaction(() => {
        for (const row of data) insert.run(...row);
      })();
    });
    await Promise.all([runJobs(pool, jobs), write]);
    working = false;
    await poll;
    sub.close();
    await read;
  });
  const { dropped } = sub.stats;
  await pool.close({ graceMs: 0 });
  bus.close();
  db.close();
  return { ...sample, events, dropped, snapshots };
}

/** The main thread waiting, doing nothing, for `seconds`. */
function idle(seconds: number): Promise<LoopSample> {
  return withLoopDelay(() => sleep(seconds * 1000).then(() => undefined));
}

function median(rounds: readonly Round[], pick: (round: Round) => number): number {
  const values = rounds.map(pick).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)] ?? Number.NaN;
}

function print(name: string, rounds: readonly Round[], width: number): void {
  const seconds = median(rounds, (r) => r.seconds);
  const events = median(rounds, (r) => r.events);
  console.log(
    `  ${name.padEnd(width)}  ${seconds.toFixed(2).padStart(6)} s  loop delay p99 ${median(
      rounds,
      (r) => r.p99Ms,
    )
      .toFixed(1)
      .padStart(6)} ms, max ${median(rounds, (r) => r.maxMs)
      .toFixed(1)
      .padStart(
        6,
      )} ms  ${events} events (${Math.round(events / seconds)}/s, ${median(rounds, (r) => r.dropped)} dropped)  ${(median(rounds, (r) => r.snapshots) / seconds).toFixed(1)} snapshots/s`,
  );
}

export async function benchBridge(scale: number): Promise<void> {
  const jobs = Math.max(4, Math.round(200 * scale));
  const rows = Math.max(200, Math.round(20_000 * scale));
  const dir = mkdtempSync(join(tmpdir(), 'workbus-bench-bridge-'));
  try {
    const host = await Host.start(dir);
    // Thread start, module load and JIT are not what a round measures: one of each first.
    await hosted(host, jobs, rows);
    await onMainThread(dir, 0, jobs, rows);
    const inWorker: Round[] = [];
    const onMain: Round[] = [];
    const floor: LoopSample[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const sample = await hosted(host, jobs, rows);
      inWorker.push(sample);
      onMain.push(await onMainThread(dir, round, jobs, rows));
      floor.push(await idle(sample.seconds));
    }
    await host.stop();
    console.log(
      `\nbridge: ${jobs} CPU jobs of 20 ms and a ${rows.toLocaleString('en-US')}-row write, job events and snapshots followed from the main thread (medians of ${ROUNDS})`,
    );
    const names = [
      'hosted in a worker, client over a MessagePort',
      'on the main thread (no bridge)',
    ];
    const width = Math.max(...names.map((n) => n.length));
    print(names[0] as string, inWorker, width);
    print(names[1] as string, onMain, width);
    const ratio = median(onMain, (r) => r.maxMs) / median(inWorker, (r) => r.maxMs);
    console.log(`  main thread's max loop delay, main-thread work vs hosted: ${ratio.toFixed(1)}×`);
    const idleRounds = floor.map((f) => ({ ...f, events: 0, dropped: 0, snapshots: 0 }));
    console.log(
      `  an idle main thread meanwhile: loop delay p99 ${median(idleRounds, (r) => r.p99Ms).toFixed(1)} ms, max ${median(idleRounds, (r) => r.maxMs).toFixed(1)} ms`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const scale = Number(process.env.BENCH_SCALE ?? '1');
  await benchBridge(scale);
}
