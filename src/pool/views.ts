import { Heap } from 'heap-js';
import { WorkbusError } from '../errors.js';
import type { ErrorView, JobView } from './job.js';
import type { JobRecord } from './job-record.js';
import { byDispatchOrder, type TypeQueue } from './type-queue.js';

/** A frozen copy of a job record. @internal */
export function jobView(job: JobRecord): JobView {
  const view: JobView = {
    id: job.id,
    type: job.type,
    status: job.status,
    priority: job.priority,
    key: job.key,
    attempt: job.attempt,
    progress: job.progress,
    note: job.note,
    queuedAt: job.queuedAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    stalled: job.stalled,
    error: job.error,
    meta: job.meta,
  };
  return Object.freeze(view);
}

/** An error as plain data (name, message, code). @internal */
export function errorView(error: unknown): ErrorView {
  if (error instanceof Error) {
    const code = error instanceof WorkbusError ? error.code : (error as { code?: unknown }).code;
    return Object.freeze({
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
    });
  }
  return Object.freeze({ name: 'NonError', message: String(error) });
}

/** Copies `value` (structured clone) and freezes the copy deeply. @internal */
export function frozenCopy<T>(field: string, value: T): T {
  let copy: T;
  try {
    copy = structuredClone(value);
  } catch (error) {
    throw new TypeError(`${field} must be structured-cloneable plain data`, { cause: error });
  }
  return deepFreeze(copy);
}

/** @internal */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/**
 * The first `limit` live queued jobs across every type, in dispatch order (rank, then
 * submission): a merge of the types' queues, each read lazily in its own order, so the
 * cost grows with `limit` (and the dead entries met on the way, which the queues keep
 * below half their size), not with the queue length.
 * @internal
 */
export function queuedInOrder(queues: readonly TypeQueue[], limit: number): JobRecord[] {
  interface Head {
    readonly job: JobRecord;
    readonly rest: Iterator<JobRecord>;
  }
  const heads = new Heap<Head>((a, b) => byDispatchOrder(a.job, b.job));
  const next = (rest: Iterator<JobRecord>): void => {
    const step = rest.next();
    if (step.done !== true) heads.push({ job: step.value, rest });
  };
  const out: JobRecord[] = [];
  if (limit === 0) return out;
  for (const queue of queues) next(queue.inOrder());
  while (out.length < limit) {
    const head = heads.pop();
    if (head === undefined) break;
    out.push(head.job);
    if (out.length < limit) next(head.rest);
  }
  return out;
}
