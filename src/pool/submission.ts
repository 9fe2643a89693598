import { callable, finite, options, optionalName, optionalSignal } from '../validate.js';
import type { JobOptions, Task } from './job.js';
import { timeLimit } from './options.js';
import { normalizeRetry, type NormalizedRetry } from './retry.js';
import type { TypeQueue } from './type-queue.js';
import { frozenCopy } from './views.js';
import type { WorkerRunner } from './worker-runner.js';

const JOB_KEYS = ['priority', 'key', 'timeoutMs', 'retry', 'signal', 'meta'];

/** A validated submission, ready to admit. */
/** @internal */
export interface Submission {
  readonly queue: TypeQueue;
  readonly task: Task<unknown> | undefined;
  readonly input: unknown;
  readonly priority: number;
  readonly key: string | undefined;
  readonly timeoutMs: number | undefined;
  /** The submit's own `timeoutMs`: a joiner's wait limit (a type's default is not one). */
  readonly waitMs: number | undefined;
  readonly retry: NormalizedRetry | undefined;
  readonly signal: AbortSignal | undefined;
  readonly meta: Readonly<Record<string, unknown>> | undefined;
}

/**
 * Validates one `submit`/`run` call before anything changes: the task (or, for a worker
 * type, its input, structured-cloned so the caller's later changes do not leak in), every
 * option (unknown keys refused), and the type's `defaults` filled in.
 * @internal
 */
export function prepareSubmission(
  queue: TypeQueue,
  runner: WorkerRunner | undefined,
  work: unknown,
  jobOptions: JobOptions | undefined,
): Submission {
  const o = jobOptions === undefined ? {} : options('job options', jobOptions, JOB_KEYS);
  let task: Task<unknown> | undefined;
  let input: unknown;
  if (runner === undefined) {
    // The field's name is built only for the error: not a string per submit.
    task =
      typeof work === 'function'
        ? (work as Task<unknown>)
        : callable(`task (of a ${queue.name} job)`, work as Task<unknown>);
  } else {
    if (typeof work === 'function') {
      throw new TypeError(
        `${queue.name} jobs run in worker threads: submit structured-cloneable input, not a function`,
      );
    }
    try {
      input = structuredClone(work);
    } catch (error) {
      throw new TypeError(`input of a ${queue.name} job must be structured-cloneable`, {
        cause: error,
      });
    }
  }
  const d = queue.config.defaults;
  const timeoutMs = timeLimit('timeoutMs', o.timeoutMs);
  return {
    queue,
    task,
    input,
    priority: o.priority === undefined ? (d.priority ?? 0) : finite('priority', o.priority),
    key: optionalName('key', o.key),
    timeoutMs: timeoutMs ?? d.timeoutMs,
    waitMs: timeoutMs,
    retry: o.retry === undefined ? d.retry : normalizeRetry('retry', o.retry),
    signal: optionalSignal('signal', o.signal),
    meta: o.meta === undefined ? undefined : frozenCopy('meta', o.meta as Record<string, unknown>),
  };
}
