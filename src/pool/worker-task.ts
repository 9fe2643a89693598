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
 * The pool sends each job's input with a MessagePort. Everything the job tells the pool
 * travels over that port, in order: `started`, progress reports, then exactly one outcome,
 * after which the thread closes its end. A cancel comes in over it (the task's `signal`
 * aborts). A task that ignores the abort is stopped by tearing its thread down after the
 * type's `cancelGraceMs`.
 */
import type { MessagePort } from 'node:worker_threads';
import { AbortError, NonRetryableError } from '../errors.js';

/** What a worker task receives besides its input. */
export interface WorkerTaskContext {
  /** Aborts when the job is cancelled, times out, or the pool closes. */
  readonly signal: AbortSignal;
  readonly id: string;
  readonly attempt: number;
  /**
   * Reports progress in [0, 1] to the pool (coalesced there into `job.progress` events).
   * @throws RangeError/TypeError for a fraction outside [0, 1] or a note that is not a
   * string; the job then fails with `WorkerError` even if the task catches it, since the
   * report could not reach the pool.
   */
  progress(fraction: number, note?: string): void;
}

/** The message a worker job carries into its thread (opaque to worker modules). */
export interface WorkerEnvelope {
  readonly input: unknown;
  readonly id: string;
  readonly attempt: number;
  readonly port: MessagePort;
}

/** @internal A failure reduced to strings, which always survive structured cloning. */
export interface FailureDetail {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
}

/** @internal How the task ended, as told to the pool. */
export type WorkerOutcome =
  | { readonly kind: 'returned'; readonly value: unknown }
  /**
   * `nonRetryable`: the task threw a `NonRetryableError`, which cloning turns into a plain
   * Error (class, `code` and `permanent` are lost), so the pool must be told to restore it.
   */
  | {
      readonly kind: 'threw';
      readonly error: unknown;
      readonly nonRetryable: boolean;
      readonly permanent: boolean;
    }
  /** The task broke the thread boundary; the pool fails the job with `WorkerError`. */
  | { readonly kind: 'broke'; readonly problem: string; readonly detail: FailureDetail };

/** @internal Messages over a worker job's port. */
export type WorkerMessage =
  | { readonly kind: 'started' }
  | { readonly kind: 'progress'; readonly fraction: number; readonly note: string | undefined }
  | { readonly kind: 'abort'; readonly reason: string }
  | WorkerOutcome;

/** @internal */
export function failureDetail(value: unknown): FailureDetail {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  return { name: typeof value, message: safeString(value), stack: undefined };
}

declare const types: unique symbol;

/**
 * What {@link workerTask} returns: the function a worker module default-exports. Its
 * input and result types travel with it (type-only), so {@link workerModule} can give
 * the pool a typed worker type.
 */
export type WorkerTaskFunction<I, R> = ((envelope: WorkerEnvelope) => Promise<void>) & {
  readonly [types]?: { readonly input: I; readonly result: Awaited<R> };
};

/** A worker module with its task's input and result types, for a type's `worker` option. */
export interface WorkerModule<I, R> {
  /** The module's location: an absolute path or a file URL. */
  readonly url: string | URL;
  readonly [types]?: { readonly input: I; readonly result: R };
}

/** Any worker module, whatever its types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyWorkerModule = WorkerModule<any, any>;

/**
 * Names a worker module together with its types, so `submit` and `run` of its job type
 * check the input and know the result: `M` is the module's type
 * (`import type * as checksum from './workers/checksum.worker.js'`, then `typeof checksum`).
 *
 * @example
 * ```ts
 * const checksumWorker = workerModule<typeof checksum>(
 *   new URL('./workers/checksum.worker.mjs', import.meta.url),
 * );
 * ```
 */
export function workerModule<
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  M extends { readonly default: WorkerTaskFunction<any, any> },
>(
  url: string | URL,
): M['default'] extends WorkerTaskFunction<infer I, infer R> ? WorkerModule<I, R> : never {
  if (!(url instanceof URL) && (typeof url !== 'string' || url === '')) {
    throw new TypeError(`workerModule(url) needs a module path or file URL, got ${typeof url}`);
  }
  return Object.freeze({ url }) as never;
}

/**
 * Wraps a worker module's function so the pool can run it in a thread. The wrapped
 * function never rejects and resolves to nothing: every way the task can end, including
 * a value that cannot be cloned, is posted to the pool over the job's port.
 *
 * @example
 * ```ts
 * export default workerTask((input: ChecksumInput, ctx) => {
 *   let digest = input.text;
 *   for (let round = 1; round <= input.rounds; round++) {
 *     ctx.signal.throwIfAborted();
 *     digest = createHash('sha256').update(digest).digest('hex');
 *     if (round % (input.rounds / 4) === 0) ctx.progress(round / input.rounds, `round ${round}`);
 *   }
 *   return digest.slice(0, 16);
 * });
 * ```
 */
export function workerTask<I, R>(
  fn: (input: I, context: WorkerTaskContext) => R | PromiseLike<R>,
): WorkerTaskFunction<I, R> {
  return async ({ input, id, attempt, port }) => {
    send(port, { kind: 'started' });
    const controller = new AbortController();
    port.on('message', (message: WorkerMessage) => {
      if (message.kind === 'abort') controller.abort(new AbortError(message.reason));
    });
    let badProgress: Error | undefined;
    const progress = (fraction: number, note?: string): void => {
      try {
        checkProgress(fraction, note);
      } catch (error) {
        badProgress ??= error as Error;
        throw error;
      }
      send(port, { kind: 'progress', fraction, note });
    };
    let outcome: WorkerOutcome;
    try {
      const value = await fn(input as I, { signal: controller.signal, id, attempt, progress });
      outcome = { kind: 'returned', value };
    } catch (error) {
      outcome = {
        kind: 'threw',
        error,
        nonRetryable: error instanceof NonRetryableError,
        permanent: error instanceof NonRetryableError && error.permanent,
      };
    }
    if (badProgress !== undefined) {
      outcome = broke('reported progress the pool cannot take', badProgress);
    }
    try {
      send(port, outcome);
    } catch (cloneError) {
      // DataCloneError: report it, with what the task produced, in strings that always clone.
      const what = outcome.kind === 'returned' ? 'returned a result' : 'threw a value';
      const why = cloneError instanceof Error ? cloneError.message : safeString(cloneError);
      const produced = outcome.kind === 'threw' ? outcome.error : cloneError;
      send(port, broke(`${what} that cannot be cloned (${why})`, produced));
    } finally {
      port.close();
    }
  };
}

function send(port: MessagePort, message: WorkerMessage): void {
  port.postMessage(message);
}

function broke(problem: string, cause: unknown): WorkerOutcome {
  return { kind: 'broke', problem, detail: failureDetail(cause) };
}

/** The pool's own checks on progress, made here so a bad report fails in the thread. */
function checkProgress(fraction: unknown, note: unknown): void {
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
    throw new RangeError(
      `progress fraction must be a number from 0 to 1, got ${safeString(fraction)}`,
    );
  }
  if (note !== undefined && typeof note !== 'string') {
    throw new TypeError(`progress note must be a string, got ${typeof note}`);
  }
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
