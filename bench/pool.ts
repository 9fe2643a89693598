/**
 * WorkPool vs p-queue (priority), Bottleneck (priority), fastq and p-limit (no priority)
 * and a hand loop keeping 8 promises in flight (the floor): throughput with every job
 * submitted up front (so each queue holds them all), at two queue depths, for no-op
 * tasks and for tasks that await one `setImmediate`; then the heap each queued job costs,
 * and the cost of `snapshot({ limit: 100 })` with 100,000 queued.
 *
 * Fairness: every peer gets the same seeded sequence of priorities 0–9 (Bottleneck's
 * scale is inverted, 0 highest, so it gets `9 − p`); workbus spreads the jobs over 3
 * types whose per-type limit (8) never binds before the global one (8). Peers without
 * priorities ignore them. Every case awaits every result and leaves no queue, timer or
 * pending task behind.
 */
import { setImmediate } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import Bottleneck from 'bottleneck';
import fastq from 'fastq';
import pLimit from 'p-limit';
import PQueue from 'p-queue';
import { WorkPool, type TaskContext, type JobTypeOptions } from 'workbus';
import { printTable, type Row } from './harness.js';

const CONCURRENCY = 8;
const TYPES = ['fetch', 'parse', 'store'] as const;
type JobType = (typeof TYPES)[number];
const POOL_TYPES = {
  fetch: { concurrency: CONCURRENCY },
  parse: { concurrency: CONCURRENCY },
  store: { concurrency: CONCURRENCY },
} as const;

/** The job sequence every peer gets: priority 0–9 and type index 0–2 per job. */
interface Workload {
  readonly priorities: Uint8Array;
  readonly types: Uint8Array;
}

/** mulberry32: a small seeded PRNG, so every run (and every peer) sees the same sequence. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function workload(jobs: number, seed = 0x5eed): Workload {
  const random = seeded(seed);
  const priorities = new Uint8Array(jobs);
  const types = new Uint8Array(jobs);
  for (let i = 0; i < jobs; i++) {
    priorities[i] = Math.floor(random() * 10);
    types[i] = Math.floor(random() * TYPES.length);
  }
  return { priorities, types };
}

const typeOf = (w: Workload, i: number): JobType => TYPES[w.types[i] ?? 0] ?? 'fetch';
const priorityOf = (w: Workload, i: number): number => w.priorities[i] ?? 0;

type Work = () => Promise<void>;
const noop: Work = async () => {};
const oneImmediate: Work = async () => {
  await setImmediate();
};

// ---- throughput ----

interface Peer {
  readonly name: string;
  /** Submits jobs 0..ops−1 of `w` up front, awaits every result and cleans up. */
  readonly run: (w: Workload, ops: number, work: Work) => Promise<void>;
  /** Most jobs per round (Bottleneck: see {@link BOTTLENECK_NOTE}). */
  readonly cap?: (ops: number) => number;
}

const peers: readonly Peer[] = [
  {
    name: 'workbus WorkPool.submit (priority, 3 types)',
    run: async (w, ops, work) => {
      const pool = new WorkPool<Record<JobType, JobTypeOptions>>({
        concurrency: CONCURRENCY,
        types: POOL_TYPES,
      });
      const task = (_: TaskContext): Promise<void> => work();
      const all: Promise<void>[] = [];
      for (let i = 0; i < ops; i++) {
        all.push(pool.submit(typeOf(w, i), task, { priority: priorityOf(w, i) }).result);
      }
      await Promise.all(all);
      await pool.close();
    },
  },
  {
    name: 'p-queue (priority)',
    run: async (w, ops, work) => {
      const queue = new PQueue({ concurrency: CONCURRENCY });
      const all: Promise<void>[] = [];
      for (let i = 0; i < ops; i++) all.push(queue.add(work, { priority: priorityOf(w, i) }));
      await Promise.all(all);
      await queue.onIdle();
    },
  },
  {
    name: 'Bottleneck (priority) †',
    run: async (w, ops, work) => {
      const limiter = new Bottleneck({ maxConcurrent: CONCURRENCY });
      const all: Promise<void>[] = [];
      for (let i = 0; i < ops; i++) {
        all.push(limiter.schedule({ priority: 9 - priorityOf(w, i) }, work));
      }
      await Promise.all(all);
      await limiter.disconnect();
    },
    cap: (ops) => Math.min(ops, bottleneckJobs),
  },
  {
    name: 'fastq (no priority)',
    run: async (_w, ops, work) => {
      const queue = fastq.promise(work, CONCURRENCY);
      const all: Promise<void>[] = [];
      for (let i = 0; i < ops; i++) all.push(queue.push(undefined));
      await Promise.all(all);
      await queue.drained();
    },
  },
  {
    name: 'p-limit (no priority)',
    run: async (_w, ops, work) => {
      const limit = pLimit(CONCURRENCY);
      const all: Promise<void>[] = [];
      for (let i = 0; i < ops; i++) all.push(limit(work));
      await Promise.all(all);
    },
  },
  {
    name: 'hand loop, 8 in flight (floor)',
    run: async (_w, ops, work) => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next++ < ops) await work();
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    },
  },
];

/**
 * Bottleneck waits a `setTimeout(0)` (≥ 1 ms) in its datastore on every submit and every
 * start, one at a time, so it manages a few hundred jobs/s whatever the concurrency or
 * queue depth (its queue never gets deep: submits trickle in at the same rate). At
 * 200,000 jobs one round would take minutes, so it runs this many jobs per round.
 */
let bottleneckJobs = 500;
const BOTTLENECK_NOTE = (jobs: number): string =>
  `  † Bottleneck runs ${jobs.toLocaleString('en-US')} jobs per round: it waits a setTimeout(0) on every submit and every start, one at a time, so its rate is timer-bound at any depth.`;

/** Timed rounds per case: up to this many, fewer once a case has used its time budget. */
const MAX_ROUNDS = 5;
const CASE_BUDGET_MS = 2500;

/**
 * Jobs/s of every peer. Each peer gets a warm-up, then timed rounds, interleaved (round 1
 * of every peer, then round 2, …) so a burst of load from elsewhere on the machine hits
 * every peer alike; a peer stops after {@link MAX_ROUNDS} rounds or once its rounds have
 * used {@link CASE_BUDGET_MS}, and its median round counts. A round is `repeat`
 * back-to-back runs of `ops` jobs, each run submitting its jobs up front (so the queue
 * depth stays `ops`; repeating keeps a shallow round long enough to time). GC is forced
 * before each round so no peer pays for another's garbage.
 */
async function throughputTable(
  title: string,
  w: Workload,
  ops: number,
  repeat: number,
  work: Work,
): Promise<Row[]> {
  const states = peers.map((peer) => {
    const jobs = peer.cap?.(ops) ?? ops;
    return { peer, jobs, runs: jobs < ops ? 1 : repeat, times: [] as number[], spent: 0 };
  });
  for (const s of states) {
    await s.peer.run(w, Math.min(s.jobs, 10_000, Math.max(50, Math.round(s.jobs / 10))), work);
  }
  for (let round = 0; round < MAX_ROUNDS; round++) {
    for (const s of states) {
      if (round > 0 && s.spent >= CASE_BUDGET_MS) continue;
      collectGarbage();
      const start = performance.now();
      for (let r = 0; r < s.runs; r++) await s.peer.run(w, s.jobs, work);
      const ms = performance.now() - start;
      s.times.push(ms);
      s.spent += ms;
    }
  }
  const rates = states.map((s) => {
    const times = [...s.times].sort((a, b) => a - b);
    return ((s.jobs * s.runs) / (times[Math.floor(times.length / 2)] ?? Number.NaN)) * 1000;
  });
  const base = rates[0] ?? Number.NaN;
  const rows = states.map((s, i) => ({
    name: s.peer.name,
    opsPerSec: rates[i] ?? Number.NaN,
    ratio: (rates[i] ?? Number.NaN) / base,
  }));
  printTable(title, rows, 'jobs/s');
  console.log(BOTTLENECK_NOTE(Math.min(ops, bottleneckJobs)));
  return rows;
}

// ---- memory ----

let forcedGc: (() => void) | undefined;

function collectGarbage(): void {
  if (forcedGc === undefined) {
    v8.setFlagsFromString('--expose-gc');
    forcedGc = vm.runInNewContext('gc') as () => void;
  }
  forcedGc();
  forcedGc();
}

function heapUsed(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Resolves when its signal aborts: occupies a slot until the pool closes. */
const blocker = ({ signal }: TaskContext): Promise<void> =>
  new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

/**
 * A pool with `finished` jobs already run (they fill the history ring) and every slot
 * taken by a blocker, so whatever is submitted next stays queued.
 */
async function saturatedPool(finished = 0): Promise<WorkPool<Record<JobType, JobTypeOptions>>> {
  const pool = new WorkPool<Record<JobType, JobTypeOptions>>({
    concurrency: CONCURRENCY,
    types: POOL_TYPES,
  });
  await Promise.all(
    Array.from({ length: finished }, (_, i) => pool.run(TYPES[i % 3] ?? 'fetch', noop)),
  );
  for (let i = 0; i < CONCURRENCY; i++) pool.submit(TYPES[i % TYPES.length] ?? 'fetch', blocker);
  return pool;
}

/** Closes a pool holding many queued jobs (each cancel builds an abort error; stacks skipped). */
async function closeQueued(pool: WorkPool<Record<JobType, JobTypeOptions>>): Promise<void> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    await pool.close({ graceMs: 0 });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

interface Holder {
  /** Queues jobs 0..n−1, storing what each submit returns in `held[i]`. */
  readonly fill: (held: unknown[]) => void;
  readonly dispose: () => Promise<void>;
}

/**
 * Heap bytes per queued job: heapUsed (after forced GC) with `n` jobs queued and nothing
 * running, minus before. The caller keeps what each submit returns (a result promise),
 * in an array allocated before the first reading, so the array is not counted.
 */
async function bytesPerJob(n: number, open: () => Holder | Promise<Holder>): Promise<number> {
  const held = new Array<unknown>(n).fill(0);
  const holder = await open();
  const before = heapUsed();
  holder.fill(held);
  const after = heapUsed();
  held.fill(0);
  await holder.dispose();
  return (after - before) / n;
}

async function memoryTable(n: number): Promise<{ workbus: number; pQueue: number }> {
  // Priorities highest first: p-queue keeps a sorted array and appends when the new job
  // ranks no higher than its tail; in random order 1M inserts would take minutes. The
  // order changes nothing in what a queued job holds, and everyone gets the same order.
  const w = workload(n);
  w.priorities.sort().reverse();

  const workbus = await bytesPerJob(n, async () => {
    const pool = await saturatedPool();
    return {
      fill: (held) => {
        for (let i = 0; i < n; i++) {
          held[i] = pool.submit(typeOf(w, i), noop, { priority: priorityOf(w, i) }).result;
        }
        if (pool.snapshot({ limit: 0 }).counts.queued !== n) throw new Error('workbus: not queued');
      },
      dispose: () => closeQueued(pool),
    };
  });
  const pQueue = await bytesPerJob(n, () => {
    const queue = new PQueue({ concurrency: CONCURRENCY, autoStart: false });
    return {
      fill: (held) => {
        for (let i = 0; i < n; i++) held[i] = queue.add(noop, { priority: priorityOf(w, i) });
        if (queue.size !== n) throw new Error('p-queue: not queued');
      },
      dispose: () => {
        queue.clear(); // the dropped jobs' promises never settle: nothing left to run
        return Promise.resolve();
      },
    };
  });
  const fast = await bytesPerJob(n, () => {
    const queue = fastq.promise(noop, CONCURRENCY);
    queue.pause();
    return {
      fill: (held) => {
        for (let i = 0; i < n; i++) held[i] = queue.push(undefined);
        if (queue.length() !== n) throw new Error('fastq: not queued');
      },
      dispose: () => {
        queue.kill();
        return Promise.resolve();
      },
    };
  });

  console.log(
    `\nheap bytes per queued job, ${n.toLocaleString('en-US')} queued, nothing running (heapUsed after forced GC, minus before; the caller keeps each result promise)`,
  );
  const rows: [string, number][] = [
    ['workbus WorkPool (8 blockers running)', workbus],
    ['p-queue (autoStart: false)', pQueue],
    ['fastq (paused)', fast],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, bytes] of rows) {
    console.log(
      `  ${name.padEnd(width)}  ${bytes.toFixed(0).padStart(6)} B/job  ${(bytes / workbus).toFixed(2)}× workbus`,
    );
  }
  return { workbus, pQueue };
}

// ---- snapshot ----

/** Finished jobs in the snapshot's history ring (the pool's default size). */
const HISTORY = 100;

async function snapshotCost(n: number): Promise<number> {
  const pool = await saturatedPool(HISTORY);
  try {
    const w = workload(n, 0x5a9);
    for (let i = 0; i < n; i++) {
      pool.submit(typeOf(w, i), noop, { priority: priorityOf(w, i) });
    }
    const check = pool.snapshot({ limit: 100 });
    if (
      check.queued.length !== 100 ||
      check.counts.queued !== n ||
      check.history.length !== HISTORY
    ) {
      throw new Error(
        `snapshot: ${check.queued.length} listed, ${check.counts.queued} queued, ${check.history.length} in history`,
      );
    }
    for (let i = 0; i < 200; i++) pool.snapshot({ limit: 100 }); // warm-up
    const perCall: number[] = [];
    const calls = 500;
    for (let r = 0; r < 5; r++) {
      const start = performance.now();
      for (let i = 0; i < calls; i++) pool.snapshot({ limit: 100 });
      perCall.push(((performance.now() - start) * 1000) / calls);
    }
    perCall.sort((a, b) => a - b);
    return perCall[2] ?? Number.NaN;
  } finally {
    await closeQueued(pool);
  }
}

// ---- all ----

const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
const rate = (rows: readonly Row[], prefix: string): number =>
  rows.find((r) => r.name.startsWith(prefix))?.opsPerSec ?? Number.NaN;

export async function benchPool(scale: number): Promise<void> {
  const deep = Math.max(1000, Math.round(200_000 * scale));
  const shallow = Math.max(100, Math.round(10_000 * scale));
  bottleneckJobs = Math.max(100, Math.round(500 * scale));
  const w = workload(deep);
  const fmt = (n: number): string => n.toLocaleString('en-US');
  const tables: { kind: string; ops: number; rows: Row[] }[] = [];
  for (const [kind, work] of [
    ['no-op', noop],
    ['setImmediate', oneImmediate],
  ] as const) {
    for (const ops of [deep, shallow]) {
      // At the shallow depth a round repeats the run so it lasts about as long as a deep one.
      const repeat = ops === deep ? 1 : Math.ceil(deep / ops / 4);
      const what = kind === 'no-op' ? 'no-op async jobs' : 'jobs that await one setImmediate';
      const rows = await throughputTable(
        `pool: ${fmt(ops)} ${what} submitted up front (up to ${fmt(ops)} queued${repeat > 1 ? `; ${repeat} runs per round` : ''}), concurrency ${CONCURRENCY}, seeded priorities 0–9, 3 types`,
        w,
        ops,
        repeat,
        work,
      );
      tables.push({ kind, ops, rows });
    }
  }

  const memory = await memoryTable(Math.max(10_000, Math.round(1_000_000 * scale)));

  const queued = Math.max(1000, Math.round(100_000 * scale));
  const snapshotUs = await snapshotCost(queued);
  console.log(
    `\nsnapshot({ limit: 100 }) with ${fmt(queued)} queued, ${CONCURRENCY} running, ${HISTORY} in history`,
  );
  console.log(`  workbus WorkPool.snapshot  ${snapshotUs.toFixed(1).padStart(8)} µs/call`);
  console.log(
    '  p-queue                    n/a: no public way to list queued tasks (size and sizeBy({ priority }) only count them)',
  );

  console.log('\n  targets (printed, not asserted):');
  if (deep !== 200_000) {
    console.log(
      `    (defined at scale 1: 200,000 queued; at ${fmt(deep)} queued p-queue's sorted-array insert has not yet grown costly)`,
    );
  }
  const line = (what: string, value: string, ok: boolean): void =>
    console.log(`    ${what.padEnd(66)} ${value.padStart(14)}  ${verdict(ok)}`);
  for (const { kind, ops, rows } of tables) {
    const vsFastq = rate(rows, 'workbus') / rate(rows, 'fastq');
    line(
      `workbus ≥ 0.8× fastq, ${kind}, ${fmt(ops)} queued`,
      `${vsFastq.toFixed(2)}×`,
      vsFastq >= 0.8,
    );
  }
  for (const { kind, ops, rows } of tables.filter((t) => t.ops === deep)) {
    const vsPQueue = rate(rows, 'workbus') / rate(rows, 'p-queue');
    line(
      `workbus far ahead of p-queue (≥ 2×), ${kind}, ${fmt(ops)} queued`,
      `${vsPQueue.toFixed(2)}×`,
      vsPQueue >= 2,
    );
  }
  line(
    "workbus bytes per queued job ≤ p-queue's",
    `${memory.workbus.toFixed(0)} vs ${memory.pQueue.toFixed(0)} B`,
    memory.workbus <= memory.pQueue,
  );
}
