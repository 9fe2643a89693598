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
/** {@link MAX_ROUNDS}, or 1 at a crash-check scale (where figures mean nothing anyway). */
let maxRounds = MAX_ROUNDS;
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
  for (let round = 0; round < maxRounds; round++) {
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

async function memoryTable(
  n: number,
): Promise<{ workbus: number; pQueue: number; fastq: number; closeMs: number }> {
  // Priorities highest first: p-queue keeps a sorted array and appends when the new job
  // ranks no higher than its tail; in random order 1M inserts would take minutes. The
  // order changes nothing in what a queued job holds, and everyone gets the same order.
  const w = workload(n);
  w.priorities.sort().reverse();

  let closeMs = Number.NaN;
  const workbus = await bytesPerJob(n, async () => {
    const pool = await saturatedPool();
    return {
      fill: (held) => {
        for (let i = 0; i < n; i++) {
          held[i] = pool.submit(typeOf(w, i), noop, { priority: priorityOf(w, i) }).result;
        }
        if (pool.snapshot({ limit: 0 }).counts.queued !== n) throw new Error('workbus: not queued');
      },
      dispose: async () => {
        const start = performance.now();
        await closeQueued(pool);
        closeMs = performance.now() - start;
      },
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
  console.log(
    `  workbus close({ graceMs: 0 }) with all ${n.toLocaleString('en-US')} queued: ${closeMs.toFixed(0)} ms (${((closeMs * 1000) / n).toFixed(2)} µs per cancelled job; each result promise rejects with its own AbortError)`,
  );
  return { workbus, pQueue, fastq: fast, closeMs };
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

// ---- latency ----

interface Latency {
  /** Low-priority jobs started after the high-priority one was submitted, before it started. */
  readonly overtaken: number;
  readonly micros: number;
}

/**
 * Queues `n` priority-0 no-op jobs (8 start at once), then one priority-9 job, and
 * counts the low-priority jobs that start after it was submitted and before it starts:
 * 0 means it started at the first free slot, within one dispatch.
 */
async function latency(
  n: number,
  open: (low: Work, high: Work) => { submit: (work: Work, priority: number) => Promise<void> },
  dispose: () => Promise<void>,
): Promise<Latency> {
  let started = 0;
  let at = 0;
  let seen = -1;
  let micros = Number.NaN;
  const low: Work = () => {
    started++;
    return Promise.resolve();
  };
  const high: Work = () => {
    micros = (performance.now() - at) * 1000;
    seen = started;
    return Promise.resolve();
  };
  const queue = open(low, high);
  const all: Promise<void>[] = [];
  for (let i = 0; i < n; i++) all.push(queue.submit(low, 0));
  const before = started;
  at = performance.now();
  all.push(queue.submit(high, 9));
  await Promise.all(all);
  await dispose();
  return { overtaken: seen - before, micros };
}

async function latencyTable(n: number): Promise<{ workbus: Latency; pQueue: Latency }> {
  let pool: WorkPool<Record<JobType, JobTypeOptions>> | undefined;
  const workbus = await latency(
    n,
    () => {
      const p = new WorkPool<Record<JobType, JobTypeOptions>>({
        concurrency: CONCURRENCY,
        types: POOL_TYPES,
      });
      pool = p;
      let i = 0;
      return {
        submit: (work, priority) =>
          p.submit(TYPES[i++ % TYPES.length] ?? 'fetch', () => work(), { priority }).result,
      };
    },
    () => pool?.close().then(noop) ?? Promise.resolve(),
  );
  let queue: PQueue | undefined;
  const pQueue = await latency(
    n,
    () => {
      const q = new PQueue({ concurrency: CONCURRENCY });
      queue = q;
      return { submit: (work, priority) => q.add(work, { priority }) };
    },
    () => queue?.onIdle() ?? Promise.resolve(),
  );
  const fmt = (l: Latency): string =>
    `${l.overtaken} low-priority starts first, started after ${l.micros.toFixed(0)} µs`;
  console.log(
    `\nlatency: one priority-9 job submitted behind ${n.toLocaleString('en-US')} queued priority-0 no-op jobs, concurrency ${CONCURRENCY}`,
  );
  console.log(`  workbus WorkPool  ${fmt(workbus)}`);
  console.log(`  p-queue           ${fmt(pQueue)}`);
  return { workbus, pQueue };
}

// ---- many types with rates ----

/**
 * Jobs/s of `jobs` no-op jobs spread round-robin over `types` types, each with a
 * concurrency of 8 and a rate that never binds (its window is still kept), against the
 * same jobs over the 3 plain types: what a start costs as types multiply.
 */
async function manyTypes(jobs: number, types: number): Promise<{ many: number; three: number }> {
  const names = Array.from({ length: types }, (_, i) => `t${i}`);
  const rated = Object.fromEntries(
    names.map((name) => [
      name,
      // A window of 1,000 starts a second: each run starts ≤ 1,000 jobs of a type, so it
      // never binds, but every start is still recorded and checked against it.
      { concurrency: CONCURRENCY, rate: { limit: 1000, intervalMs: 1000 } },
    ]),
  );
  const run = async (many: boolean): Promise<number> => {
    const pool = new WorkPool<Record<string, JobTypeOptions>>({
      concurrency: CONCURRENCY,
      types: many ? rated : POOL_TYPES,
    });
    const start = performance.now();
    const all: Promise<void>[] = [];
    for (let i = 0; i < jobs; i++) {
      const type = many ? (names[i % types] ?? 't0') : (TYPES[i % TYPES.length] ?? 'fetch');
      all.push(pool.submit<void>(type, noop, { priority: i % 10 }).result);
    }
    await Promise.all(all);
    const rate = (jobs / (performance.now() - start)) * 1000;
    await pool.close();
    return rate;
  };
  await run(true);
  await run(false);
  const many: number[] = [];
  const three: number[] = [];
  for (let r = 0; r < 5; r++) {
    collectGarbage();
    many.push(await run(true));
    collectGarbage();
    three.push(await run(false));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[2] ?? Number.NaN;
  const result = { many: median(many), three: median(three) };
  console.log(
    `\n${types} job types with rates (each concurrency ${CONCURRENCY}, a rate window that never binds), ${jobs.toLocaleString('en-US')} no-op jobs round-robin`,
  );
  console.log(
    `  ${types} rated types  ${Math.round(result.many).toLocaleString('en-US').padStart(10)} jobs/s  (${(result.many / result.three).toFixed(2)}× the 3-type pool's ${Math.round(result.three).toLocaleString('en-US')} jobs/s)`,
  );
  return result;
}

// ---- all ----

const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
const rate = (rows: readonly Row[], prefix: string): number =>
  rows.find((r) => r.name.startsWith(prefix))?.opsPerSec ?? Number.NaN;

export async function benchPool(scale: number): Promise<void> {
  const deep = Math.max(1000, Math.round(100_000 * scale));
  // The common case: at most 1,000 queued at a time.
  const shallow = Math.max(100, Math.min(1000, Math.round(10_000 * scale)));
  bottleneckJobs = Math.max(10, Math.round(500 * scale));
  maxRounds = scale < 0.01 ? 1 : MAX_ROUNDS;
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

  const million = Math.max(10_000, Math.round(1_000_000 * scale));
  const memory = await memoryTable(million);
  const late = await latencyTable(deep);

  const queued = deep;
  const snapshotUs = await snapshotCost(queued);
  const snapshotDeepUs = await snapshotCost(million);
  console.log(`\nsnapshot({ limit: 100 }), ${CONCURRENCY} running, ${HISTORY} in history`);
  console.log(
    `  workbus, ${fmt(queued).padStart(9)} queued  ${snapshotUs.toFixed(1).padStart(8)} µs/call`,
  );
  console.log(
    `  workbus, ${fmt(million).padStart(9)} queued  ${snapshotDeepUs.toFixed(1).padStart(8)} µs/call  (${(snapshotDeepUs / snapshotUs).toFixed(2)}× for ${(million / queued).toFixed(0)}× the queue)`,
  );
  console.log(
    '  p-queue                   n/a: no public way to list queued tasks (size and sizeBy({ priority }) only count them)',
  );
  const types = await manyTypes(Math.max(1000, Math.round(20_000 * scale)), 100);

  console.log('\n  pool goals (same-run figures; printed, never asserted):');
  if (deep !== 100_000) {
    console.log(
      `    (defined at scale 1: 100,000 queued and 1,000,000 for memory; at ${fmt(deep)} queued p-queue's sorted-array insert has not yet grown costly)`,
    );
  }
  const line = (what: string, value: string, ok: boolean | undefined): void =>
    console.log(
      `    ${what.padEnd(72)} ${value.padStart(30)}  ${ok === undefined ? 'measured' : verdict(ok)}`,
    );
  const jobs = (n: number): string => `${Math.round(n / 1000).toLocaleString('en-US')}k/s`;
  for (const { kind, ops, rows } of tables) {
    const ours = rate(rows, 'workbus');
    const fast = rate(rows, 'fastq');
    const pq = rate(rows, 'p-queue');
    const isDeep = ops === deep;
    const fastGoal = kind === 'no-op' ? (isDeep ? 1 : 0.5) : undefined;
    const pqGoal = kind === 'no-op' ? (isDeep ? 4 : 3) : undefined;
    const at = `${kind}, ${fmt(ops)} queued`;
    line(
      `workbus vs fastq (no priority)${fastGoal === undefined ? '' : ` ≥ ${fastGoal}×`}, ${at}`,
      `${(ours / fast).toFixed(2)}× (${jobs(ours)} vs ${jobs(fast)})`,
      fastGoal === undefined ? undefined : ours / fast >= fastGoal,
    );
    line(
      `workbus vs p-queue (priority)${pqGoal === undefined ? '' : ` ≥ ${pqGoal}×`}, ${at}`,
      `${(ours / pq).toFixed(2)}× (${jobs(ours)} vs ${jobs(pq)})`,
      pqGoal === undefined ? undefined : ours / pq >= pqGoal,
    );
  }
  line(
    `bytes per queued job ≤ 400, ${fmt(million)} queued, result promise held`,
    `${memory.workbus.toFixed(0)} B (p-queue ${memory.pQueue.toFixed(0)}, fastq ${memory.fastq.toFixed(0)})`,
    memory.workbus <= 400,
  );
  line(
    `a priority-9 job behind ${fmt(deep)} queued starts within one dispatch`,
    `${late.workbus.overtaken} overtook it (p-queue ${late.pQueue.overtaken})`,
    late.workbus.overtaken === 0,
  );
  line(
    `snapshot({ limit: 100 }) cost follows the limit, not the queue`,
    `${snapshotDeepUs.toFixed(0)} µs at ${fmt(million)} vs ${snapshotUs.toFixed(0)} µs`,
    undefined,
  );
  line(
    `close() with ${fmt(million)} queued`,
    `${memory.closeMs.toFixed(0)} ms (${((memory.closeMs * 1000) / million).toFixed(1)} µs/job)`,
    undefined,
  );
  line(
    `100 rated types vs 3 plain types, no-op jobs`,
    `${(types.many / types.three).toFixed(2)}× (${jobs(types.many)} vs ${jobs(types.three)})`,
    undefined,
  );
}
