/**
 * The worker-thread side of a worker job type. A worker module wraps its function with
 * {@link workerTask} and exports it as default:
 *
 * ```ts
 * export default workerTask(async (input: { text: string }, ctx) => {
 *   for (...) { ctx.signal.throwIfAborted(); ctx.progress(i / n); ... }
 *   return result; // structured-cloned back to the pool
 * });
 * ```
 *
 * The pool sends each job's input with a MessagePort: progress goes back over it, and a
 * cancel comes in over it (the task's `signal` aborts). A task that ignores the abort is
 * stopped by tearing its thread down after the type's `cancelGraceMs`.
 */
import type { MessagePort } from 'node:worker_threads';
import { AbortError } from '../errors.js';

/** What a worker task receives besides its input. */
export interface WorkerTaskContext {
  /** Aborts when the job is cancelled, times out, or the pool closes. */
  readonly signal: AbortSignal;
  readonly id: string;
  readonly attempt: number;
  /** Reports progress in [0, 1] to the pool (coalesced there into `job.progress` events). */
  progress(fraction: number, note?: string): void;
}

/** @internal The message a worker job carries into its thread. */
export interface WorkerEnvelope {
  readonly input: unknown;
  readonly id: string;
  readonly attempt: number;
  readonly port: MessagePort;
}

/** @internal Messages over a worker job's port. */
export type WorkerMessage =
  | { readonly kind: 'progress'; readonly fraction: number; readonly note: string | undefined }
  | { readonly kind: 'done' }
  | { readonly kind: 'abort'; readonly reason: string };

/**
 * @internal What a wrapped task returns through tinypool. The marker tells the pool that
 * a `done` message was posted on the job's port before the result, so the pool can wait
 * for it and lose no progress message behind the result (the two travel on different
 * channels).
 */
export interface WorkerResult<R> {
  readonly workbusWorkerResult: true;
  readonly value: R;
}

/** @internal */
export function isWorkerResult(value: unknown): value is WorkerResult<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { workbusWorkerResult?: unknown }).workbusWorkerResult === true
  );
}

/** Wraps a worker module's function so the pool can run it in a thread. */
export function workerTask<I, R>(
  fn: (input: I, context: WorkerTaskContext) => R | PromiseLike<R>,
): (envelope: WorkerEnvelope) => Promise<WorkerResult<R>> {
  return async ({ input, id, attempt, port }) => {
    const controller = new AbortController();
    port.on('message', (message: WorkerMessage) => {
      if (message.kind === 'abort') controller.abort(new AbortError(message.reason));
    });
    try {
      const value = await fn(input as I, {
        signal: controller.signal,
        id,
        attempt,
        progress: (fraction, note) => {
          const message: WorkerMessage = { kind: 'progress', fraction, note };
          port.postMessage(message);
        },
      });
      return { workbusWorkerResult: true, value };
    } finally {
      const done: WorkerMessage = { kind: 'done' };
      port.postMessage(done);
      port.close();
    }
  };
}
