/**
 * Graceful shutdown of a small app under a Lifecycle: a producer submits a job to the
 * pool every few milliseconds, the pool's jobs write to an in-memory store, and an
 * EventBus carries the pool's events. On Ctrl+C (SIGINT) or SIGTERM it stops in reverse
 * dependency order: the producer first (it submits one last flush job as it goes), then
 * the pool (which drains what is queued, flush included), then the store (once its last
 * write is done) and the bus. It prints the stop report and the process ends by itself.
 * A second Ctrl+C while it stops exits at once with code 130.
 *
 * Run: `npx tsx examples/shutdown.ts`, then press Ctrl+C.
 * (`--flush-ms 5000` makes the last flush job slow, to try the second Ctrl+C.)
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  ClosedError,
  EventBus,
  Lifecycle,
  Mutex,
  WorkPool,
  sleep,
  type Component,
  type PoolEvents,
  type StopContext,
  type StopReport,
  type JobTypeOptions,
} from 'workbus';

/**
 * A tiny in-memory store: a Map behind a Mutex. A write spans an await (its "I/O"), so
 * without the lock two jobs writing at once would lose an update of `version`.
 */
export class MemoryStore implements Component {
  readonly #lock = new Mutex({ name: 'store' });
  readonly #items = new Map<string, string>();
  #version = 0;
  #closed = false;

  /** Items written. */
  get size(): number {
    return this.#items.size;
  }

  /** Writes done (one per `put`): equals `size` when no update was lost. */
  get version(): number {
    return this.#version;
  }

  get(key: string): string | undefined {
    return this.#items.get(key);
  }

  /** @throws ClosedError once the store has stopped. */
  async put(key: string, value: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#lock.run(async () => {
      if (this.#closed) throw new ClosedError(`store is closed; cannot put "${key}"`);
      const version = this.#version;
      await sleep(1); // the write itself
      this.#items.set(key, value);
      this.#version = version + 1;
    }, options);
  }

  /** Waits for the write in progress (it holds the lock), then refuses new ones. */
  async stop({ signal }: StopContext): Promise<void> {
    await this.#lock.run(() => void (this.#closed = true), { signal });
  }
}

/** Submits a job every `everyMs` while started; as it stops, submits a last flush job. */
class Producer implements Component {
  readonly #pool: WorkPool<Record<'write', JobTypeOptions>>;
  readonly #store: MemoryStore;
  readonly #everyMs: number;
  readonly #flushMs: number;
  readonly #log: (line: string) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #submitted = 0;

  constructor(
    pool: WorkPool<Record<'write', JobTypeOptions>>,
    store: MemoryStore,
    options: { everyMs: number; flushMs: number; log: (line: string) => void },
  ) {
    this.#pool = pool;
    this.#store = store;
    this.#everyMs = options.everyMs;
    this.#flushMs = options.flushMs;
    this.#log = options.log;
  }

  /** Jobs submitted so far. */
  get submitted(): number {
    return this.#submitted;
  }

  start(): void {
    this.#timer = setInterval(() => this.#submit(`item-${this.#submitted + 1}`, 5), this.#everyMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#log(`producer: stopping after ${this.#submitted} jobs; submitting a last flush job`);
    // The pool stops after the producer, so it still takes (and drains) this one.
    this.#submit('flush', this.#flushMs);
  }

  #submit(key: string, workMs: number): void {
    this.#submitted++;
    this.#pool.submit(
      'write',
      async ({ signal }) => {
        await sleep(workMs, { signal }); // fetch, parse…
        await this.#store.put(key, new Date().toISOString(), { signal });
      },
      { meta: { key } },
    );
  }
}

export interface ShutdownDemoOptions {
  readonly log?: ((line: string) => void) | undefined;
  /** Stop by itself this long after it is working (in-process runs); otherwise on SIGINT/SIGTERM. */
  readonly stopAfterMs?: number | undefined;
  /** How long the producer's last flush job takes. @default 20 */
  readonly flushMs?: number | undefined;
}

export interface ShutdownDemoResult {
  readonly report: StopReport;
  /** Jobs the producer submitted, its last flush included. */
  readonly submitted: number;
  /** Jobs that finished, by status. */
  readonly finished: Readonly<Record<string, number>>;
  readonly store: MemoryStore;
}

/** One line per component, in stop order: name, outcome, duration (and error). */
export function formatStopReport(report: StopReport): string[] {
  const failure = (error: unknown): string =>
    error === undefined
      ? ''
      : `  ${error instanceof Error ? `${error.name}: ${error.message}` : typeof error}`;
  return [
    `stop report (${report.ok ? 'ok' : 'not ok'}):`,
    ...report.components.map(
      (c) =>
        `  ${c.name.padEnd(9)} ${c.outcome.padEnd(11)} ${String(c.durationMs).padStart(5)} ms${failure(c.error)}`,
    ),
  ];
}

export async function runShutdownDemo(
  options: ShutdownDemoOptions = {},
): Promise<ShutdownDemoResult> {
  const log = options.log ?? console.log;
  const bus = new EventBus<PoolEvents>();
  const store = new MemoryStore();
  const pool = new WorkPool({ concurrency: 2, types: { write: { concurrency: 2 } }, bus });
  const producer = new Producer(pool, store, {
    everyMs: 10,
    flushMs: options.flushMs ?? 20,
    log,
  });

  const finished: Record<string, number> = {};
  let working: () => void = () => {};
  const firstWrite = new Promise<void>((resolve) => (working = resolve));
  bus.on('job.finished', (job) => {
    finished[job.status] = (finished[job.status] ?? 0) + 1;
    if (job.status === 'succeeded') working();
  });

  // Users depend on what they use: the Lifecycle stops users first.
  const app = new Lifecycle({ graceMs: 2_000, abortGraceMs: 500 })
    .add('producer', producer, { dependsOn: ['pool'] })
    .add('pool', pool, { dependsOn: ['store', 'bus'] })
    .add('store', store)
    .add('bus', bus);

  if (options.stopAfterMs === undefined) void app.handleSignals();
  await app.start();
  const stoppedEarly = await Promise.race([
    firstWrite.then(() => false),
    app.stopped.then(() => true),
  ]);
  if (!stoppedEarly) {
    log(
      `working: producer -> pool -> store (${store.size} written so far); ` +
        (options.stopAfterMs === undefined ? 'press Ctrl+C to stop' : 'stopping soon'),
    );
  }
  if (options.stopAfterMs !== undefined) {
    await sleep(options.stopAfterMs);
    void app.stop();
  }
  const report = await app.stopped;
  for (const line of formatStopReport(report)) log(line);
  log(`submitted ${producer.submitted}, stored ${store.size}, jobs ${JSON.stringify(finished)}`);
  return { report, submitted: producer.submitted, finished, store };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { 'flush-ms': { type: 'string' } } });
  const flushMs = values['flush-ms'] === undefined ? undefined : Number(values['flush-ms']);
  await runShutdownDemo({ flushMs });
  // No process.exit: every timer, job and handle is gone, so the process ends by itself.
}
