import { MessageChannel } from 'node:worker_threads';
import Tinypool from 'tinypool';
import { abortErrorOf, onAbort } from '../abort.js';
import type { Task } from './job.js';
import { isWorkerResult, type WorkerEnvelope, type WorkerMessage } from './worker-task.js';

/**
 * The pool side of one worker job type: a tinypool of at most `concurrency` threads
 * running the type's module. Threads start on demand, stop after a second idle, and are
 * destroyed with the pool.
 */
export class WorkerRunner {
  readonly #threads: Tinypool;
  readonly #cancelGraceMs: number;

  constructor(module: string | URL, concurrency: number, cancelGraceMs: number) {
    this.#threads = new Tinypool({
      filename: module instanceof URL ? module.href : module,
      minThreads: 0,
      maxThreads: concurrency,
      // Keep an idle thread a moment for the next job (a cold start loads the module again).
      idleTimeout: 1_000,
    });
    this.#cancelGraceMs = cancelGraceMs;
  }

  /**
   * The task that runs `input` in a thread. The job's signal is forwarded over a
   * MessagePort (a cooperative task sees it); a task still running `cancelGraceMs`
   * later has its thread torn down, and the pool goes on with a fresh one.
   */
  task(input: unknown): Task<unknown> {
    return async (context) => {
      const { signal } = context;
      if (signal.aborted) throw abortErrorOf(signal);
      const { port1, port2 } = new MessageChannel();
      const teardown = new AbortController();
      let grace: ReturnType<typeof setTimeout> | undefined;
      let done = noop;
      const finished = new Promise<void>((resolve) => (done = resolve));
      port1.on('message', (message: WorkerMessage) => {
        if (message.kind === 'done') done();
        if (message.kind !== 'progress') return;
        try {
          context.progress(message.fraction, message.note);
        } catch {
          // A bad progress value from the thread must not break the job.
        }
      });
      const detach = onAbort(signal, () => {
        const abort: WorkerMessage = { kind: 'abort', reason: describe(signal.reason) };
        port1.postMessage(abort);
        grace = setTimeout(() => teardown.abort(signal.reason), this.#cancelGraceMs);
      });
      const envelope: WorkerEnvelope = {
        input,
        id: context.id,
        attempt: context.attempt,
        port: port2,
      };
      try {
        const result: unknown = await this.#threads.run(envelope, {
          transferList: [port2],
          signal: teardown.signal,
        });
        if (!isWorkerResult(result)) return result; // a module not wrapped with workerTask
        // The result came over tinypool's channel, progress over our port: wait for the
        // task's `done` (posted before it returned) so no progress is lost behind it.
        await finished;
        return result.value;
      } catch (error) {
        // Torn down: report the abort (or timeout). A task that ended itself keeps its own error.
        if (teardown.signal.aborted) throw abortErrorOf(signal);
        throw error;
      } finally {
        detach();
        clearTimeout(grace);
        port1.close();
      }
    };
  }

  /** Stops every thread (running tasks are torn down). */
  destroy(): Promise<void> {
    return this.#threads.destroy();
  }
}

function describe(reason: unknown): string {
  return reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
}

function noop(): void {}
