/**
 * The WorkPool at work: priorities, a saturated type that does not block another, a
 * rate limit, a retry, a cancel, a timeout, a worker-thread job with progress, and a
 * graceful close with its report. Every line is an event from the pool's bus.
 *
 * Run: `npm run demo` (after the pipeline), or `npx tsx examples/pool.ts`.
 */
import { fileURLToPath } from 'node:url';
import {
  EventBus,
  WorkPool,
  isAbortError,
  sleep,
  workerModule,
  type CloseReport,
  type PoolEvents,
} from 'workbus';
import type * as checksum from './workers/checksum.worker.js';
import type { ChecksumInput } from './workers/checksum.worker.js';

export interface PoolDemoReport {
  readonly startOrder: readonly string[];
  readonly results: Readonly<Record<string, string>>;
  readonly close: CloseReport;
}

export async function runPoolDemo(
  log: (line: string) => void = console.log,
): Promise<PoolDemoReport> {
  const bus = new EventBus<PoolEvents>();
  const t0 = Date.now();
  const stamp = (): string => `${String(Date.now() - t0).padStart(4)} ms`;
  const startOrder: string[] = [];
  const name = (job: { readonly meta: Readonly<Record<string, unknown>> | undefined }): string =>
    String(job.meta?.name);
  bus.on('job.started', (job) => {
    startOrder.push(name(job));
    log(
      `${stamp()}  start   ${name(job)} (${job.type}, priority ${job.priority}, attempt ${job.attempt})`,
    );
  });
  bus.on('job.progress', (job) =>
    log(`${stamp()}  progress ${name(job)} ${Math.round(job.progress * 100)}% ${job.note ?? ''}`),
  );
  bus.on('job.retrying', (job) =>
    log(`${stamp()}  retry   ${name(job)} in ${job.delayMs} ms after "${job.lastError.message}"`),
  );
  bus.on('job.finished', (job) =>
    log(
      `${stamp()}  ${job.status.padEnd(9)} ${name(job)}${job.error ? ` (${job.error.name}: ${job.error.message})` : ''}`,
    ),
  );

  // The worker type's input and result types follow from its module.
  const checksumWorker = workerModule<typeof checksum>(
    new URL('./workers/checksum.worker.mjs', import.meta.url),
  );
  const pool = new WorkPool({
    concurrency: 4,
    types: {
      embed: { concurrency: 1, rate: { limit: 2, intervalMs: 200 } }, // a singleton model server
      fetch: { concurrency: 2 },
      checksum: { concurrency: 1, worker: checksumWorker },
    },
    bus,
    random: () => 0.5, // steady retry jitter, so the demo prints the same each run
  });
  const work = (ms: number) => async (ctx: { signal: AbortSignal }) => {
    await sleep(ms, { signal: ctx.signal });
    return `done in ${ms} ms`;
  };

  log('embed: 1 at a time, 2 starts per 200 ms; fetch: 2 at a time; checksum: 1 worker thread');
  const results: Record<string, string> = {};
  const settle = (name: string, p: Promise<unknown>): Promise<void> =>
    p.then(
      (value) => void (results[name] = String(value)),
      (error: unknown) =>
        void (results[name] = isAbortError(error) ? 'cancelled' : (error as Error).name),
    );

  const run = (label: string, job: { readonly result: Promise<unknown> }): Promise<void> =>
    settle(label, job.result);
  const all = [
    // High-priority embeds saturate their type; the low-priority fetches still run at once.
    ...[1, 2, 3].map((i) =>
      run(
        `embed-${i}`,
        pool.submit('embed', work(60), { priority: 9, meta: { name: `embed-${i}` } }),
      ),
    ),
    run('fetch-low', pool.submit('fetch', work(40), { priority: 0, meta: { name: 'fetch-low' } })),
    run(
      'fetch-high',
      pool.submit('fetch', work(40), { priority: 5, meta: { name: 'fetch-high' } }),
    ),
    run(
      'fetch-flaky',
      pool.submit(
        'fetch',
        (ctx) => {
          if (ctx.attempt === 1) throw new Error('connection reset');
          return 'ok on attempt 2';
        },
        { retry: { attempts: 3, baseMs: 40 }, meta: { name: 'fetch-flaky' } },
      ),
    ),
    run(
      'fetch-slow',
      pool.submit('fetch', work(500), { timeoutMs: 80, meta: { name: 'fetch-slow' } }),
    ),
    run(
      'checksum',
      pool.submit('checksum', { text: 'workbus', rounds: 20_000 } satisfies ChecksumInput, {
        meta: { name: 'checksum' },
      }),
    ),
    // Low-priority embeds still queued behind the rate limit when the pool closes.
    ...[1, 2, 3].map((i) =>
      run(
        `embed-late-${i}`,
        pool.submit('embed', work(60), { priority: 1, meta: { name: `embed-late-${i}` } }),
      ),
    ),
  ];
  const doomed = pool.submit('fetch', work(1_000), { meta: { name: 'fetch-cancelled' } });
  all.push(run('fetch-cancelled', doomed));
  setTimeout(() => doomed.cancel('user closed the tab'), 150);

  // Close once the first late embed starts: the rate limit then holds the other two in
  // the queue for at least another window, so the close finds them queued.
  await new Promise<void>((resolve) => {
    const off = bus.on('job.started', (job) => {
      if (job.meta?.name !== 'embed-late-1') return;
      off();
      resolve();
    });
  });
  const snap = pool.snapshot();
  log(`${stamp()}  snapshot: ${JSON.stringify(snap.counts)}`);
  log(
    `${stamp()}  closing (no drain, 5 s grace): queued jobs are cancelled, running ones may finish`,
  );
  const close = await pool.close({ graceMs: 5_000, drain: false });
  await Promise.all(all);
  log(`${stamp()}  closed: ${JSON.stringify(close)}`);
  bus.close();
  return { startOrder, results, close };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runPoolDemo();
}
