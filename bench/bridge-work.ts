/**
 * The bridge benchmark's workload, the same wherever it runs: CPU-bound jobs on a pool
 * that publishes its job events to a bus, and the rows of one bulk write.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { EventBus, WorkPool } from 'workbus';
import type { PoolEvents } from 'workbus';

export const SCHEMA = 'CREATE TABLE item (id INTEGER PRIMARY KEY, guid TEXT NOT NULL, title TEXT)';
export const INSERT = 'INSERT INTO item (guid, title) VALUES (?, ?)';
/** How long each job holds its thread. */
export const JOB_MS = 20;
/** The job events a consumer follows. */
export const TOPICS = ['job.started', 'job.finished'] as const;

/**
 * A pool with one CPU-bound type, publishing to a bus of its own: one job at a time, as a
 * thread has one core to give.
 */
export function cpuPool(): { pool: WorkPool; bus: EventBus<PoolEvents> } {
  const bus = new EventBus<PoolEvents>();
  const pool = new WorkPool({ concurrency: 1, types: { cpu: { concurrency: 1 } }, bus });
  return { pool, bus };
}

/** Holds the thread for `ms`, as a parse or an image resize would. */
function spin(ms: number): number {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) n++;
  return n;
}

/**
 * A job: a turn of the event loop (as after reading its input), then {@link JOB_MS} of
 * computing. Without the turn, the pool would start each job as the last one ends, in
 * one stretch: the thread's event loop would not run until the last job ended.
 */
async function cpuJob(): Promise<number> {
  await turn();
  return spin(JOB_MS);
}

/** Runs `jobs` CPU-bound jobs on `pool` and waits for them all. */
export async function runJobs(pool: WorkPool, jobs: number): Promise<void> {
  const signal = new AbortController().signal;
  await Promise.all(Array.from({ length: jobs }, () => pool.run('cpu', cpuJob, { signal })));
}

/** `n` rows for {@link INSERT}. */
export function items(n: number): [string, string][] {
  return Array.from({ length: n }, (_, i) => [`guid-${i}`, `Item number ${i}`]);
}
