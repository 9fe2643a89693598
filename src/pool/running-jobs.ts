import type { JobRecord } from './job-record.js';

/**
 * The pool's running jobs. Each running job's attempt holds its place in an array, so
 * adding and removing one is O(1) and allocates nothing: a `Set` of a handful of running
 * jobs rehashed every few starts, as removals filled its table with holes (~40 bytes
 * allocated per job, measured in a deep queue's run). Removal moves the last job into the
 * gap, so the array is unordered; {@link RunningJobs.list} sorts.
 * @internal
 */
export class RunningJobs {
  readonly #jobs: JobRecord[] = [];

  get size(): number {
    return this.#jobs.length;
  }

  /** Adds `job`, whose `current` attempt just started. */
  add(job: JobRecord): void {
    (job.current as NonNullable<JobRecord['current']>).runningAt = this.#jobs.length;
    this.#jobs.push(job);
  }

  /** Removes `job` (added, its attempt still `current`). */
  delete(job: JobRecord): void {
    const at = (job.current as NonNullable<JobRecord['current']>).runningAt;
    const last = this.#jobs.pop() as JobRecord;
    if (last === job) return;
    this.#jobs[at] = last;
    (last.current as NonNullable<JobRecord['current']>).runningAt = at;
  }

  /** A copy, in submission order. */
  list(): JobRecord[] {
    return [...this.#jobs].sort((a, b) => a.seq - b.seq);
  }
}
