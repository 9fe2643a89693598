import { AbortError, JobFailedError, TimeoutError } from '../errors.js';
import type { ErrorView } from '../pool/job.js';

/**
 * What crosses Redis for one job: plain JSON data, never a closure. The handler is
 * found by the job's type in the worker process.
 * @internal
 */
export interface WireJob {
  readonly input: unknown;
  /** workbus's priority (higher first), kept for views; BullMQ's own is derived from it. */
  readonly priority: number;
  readonly key: string | undefined;
  readonly timeoutMs: number | undefined;
  readonly retry: { readonly attempts: number; readonly baseMs: number; readonly maxMs: number };
  readonly meta: Readonly<Record<string, unknown>> | undefined;
  /** The per-key semaphore's key (a host), when the type has `perKey`. */
  readonly limitKey: string | undefined;
}

/**
 * A failure as BullMQ stores it: its `failedReason` is this JSON, so every process reads
 * the same name, message and code, and whether the job was cancelled.
 * @internal
 */
export interface WireError extends ErrorView {
  readonly cancelled?: true;
}

/** @internal */
export function encodeError(view: WireError): string {
  return JSON.stringify(view);
}

/** @internal A `failedReason` as an error view (one BullMQ wrote itself is a plain message). */
export function decodeError(failedReason: string | undefined): WireError {
  try {
    const parsed = JSON.parse(failedReason ?? '') as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'name' in parsed && 'message' in parsed) {
      return parsed as WireError;
    }
  } catch {
    // not ours: a stall limit, a lost lock, …
  }
  return { name: 'Error', message: failedReason ?? 'failed' };
}

/**
 * The error a submitter's `result` rejects with for a failed job: an abort error when it
 * was cancelled, `TimeoutError` when its last attempt timed out, else `JobFailedError`
 * carrying the worker's error name, message and code. @internal
 */
export function failureOf(id: string, view: WireError): Error {
  if (view.cancelled === true) return new AbortError(`Job ${id} was cancelled`, { cause: view });
  if (view.code === 'TIMEOUT') return new TimeoutError(view.message, { cause: view });
  return new JobFailedError(`Job ${id} failed: ${view.name}: ${view.message}`, { error: view });
}
