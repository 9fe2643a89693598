import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import Tinypool from 'tinypool';
import { abortErrorOf, onAbort } from '../abort.js';
import { NonRetryableError, WorkerError } from '../errors.js';
import { after, type Timer } from '../internal/timer.js';
import type { Task } from './job.js';
import {
  type FailureDetail,
  type WorkerEnvelope,
  type WorkerMessage,
  type WorkerOutcome,
} from './worker-task.js';

/** Why a job's thread was torn down when its job did not ask for it. */
const THREAD_DIED = Symbol('thread died');

type Settled =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** What the pool learnt about one job from its port. */
interface Report {
  started: boolean;
  outcome: WorkerOutcome | undefined;
  /** Tinypool has answered (a thread that died after that is not this job's concern). */
  answered: boolean;
}

/**
 * The pool side of one worker job type: a tinypool of at most `concurrency` threads
 * running the type's module. Threads start on demand, stop after a second idle, and are
 * destroyed with the pool.
 *
 * The module is not loaded when a thread starts (tinypool would report a failure there
 * as an `'error'` event and leave the job queued) but by the thread's first job, so a
 * load failure is that job's failure. Every way a job can end is then read from two
 * sources: its port (`started`, then one outcome, then the thread closes it) and
 * tinypool's answer; see {@link WorkerRunner.task}.
 * @internal
 */
export class WorkerRunner {
  readonly #threads: Tinypool;
  readonly #type: string;
  readonly #module: string;
  readonly #cancelGraceMs: number;
  /** Threads seen running this type's jobs, until they exit: `destroy` waits for them. */
  readonly #seen = new WeakSet<object>();
  readonly #exits = new Set<Promise<void>>();

  constructor(type: string, module: string | URL, concurrency: number, cancelGraceMs: number) {
    this.#type = type;
    this.#module = module instanceof URL ? module.href : module;
    this.#threads = new Tinypool({
      minThreads: 0,
      maxThreads: concurrency,
      // Keep an idle thread a moment for the next job (a cold start loads the module again).
      idleTimeout: 1_000,
    });
    // Tinypool re-emits a thread failure no task was waiting for (the thread is already
    // replaced); unheard, that event would crash the process.
    this.#threads.on('error', noop);
    this.#cancelGraceMs = cancelGraceMs;
  }

  /**
   * The task that runs `input` in a thread. The job's signal is forwarded over a
   * MessagePort (a cooperative task sees it); a task still running `cancelGraceMs`
   * later has its thread torn down, and the pool goes on with a fresh one.
   *
   * The job settles with the task's value or thrown value, an abort error when it was
   * cancelled and torn down, or `WorkerError` for anything the module or thread did
   * wrong. A thread that dies mid-job closes the job's port: the job fails at once and
   * the dead thread is removed, freeing its slot.
   */
  task(input: unknown): Task<unknown> {
    return async (context) => {
      const { signal } = context;
      if (signal.aborted) throw abortErrorOf(signal);
      const { port1, port2 } = new MessageChannel();
      const teardown = new AbortController();
      const report: Report = { started: false, outcome: undefined, answered: false };
      const receive = (message: WorkerMessage): void => {
        if (message.kind === 'started') report.started = true;
        else if (message.kind === 'progress') context.progress(message.fraction, message.note);
        else if (message.kind !== 'abort') report.outcome ??= message;
      };
      // Messages the thread posted before tinypool's answer are already queued on the
      // port when that answer arrives (one thread, causal order): take them at once. A
      // closed port has delivered them all, and must not be read: Node 20 crashes the
      // process when receiveMessageOnPort runs while a port is closing.
      let closed = false;
      const drain = (): void => {
        if (closed) return;
        for (let e = receiveMessageOnPort(port1); e; e = receiveMessageOnPort(port1)) {
          receive(e.message as WorkerMessage);
        }
      };
      const onClose = (): void => {
        closed = true;
        // Closed without an outcome before tinypool answered: the thread is gone, and
        // tinypool never notices an exit. Aborting its task makes it drop the thread.
        if (report.outcome === undefined && !report.answered) teardown.abort(THREAD_DIED);
      };
      port1.on('message', receive);
      port1.on('close', onClose);
      let grace: Timer | undefined;
      const detach = onAbort(signal, () => {
        const abort: WorkerMessage = { kind: 'abort', reason: describe(signal.reason) };
        port1.postMessage(abort);
        grace = after(this.#cancelGraceMs, () => teardown.abort(signal.reason));
      });
      const envelope: WorkerEnvelope = {
        input,
        id: context.id,
        attempt: context.attempt,
        port: port2,
      };
      try {
        const running = this.#threads.run(envelope, {
          filename: this.#module,
          transferList: [port2],
          signal: teardown.signal,
        });
        this.#watchThreads();
        const settled = await running.then(
          (value): Settled => ({ ok: true, value }),
          (error: unknown): Settled => ({ ok: false, error }),
        );
        report.answered = true;
        drain();
        return this.#conclude(settled, report, teardown.signal, signal);
      } finally {
        detach();
        grace?.clear();
        port1.off('close', onClose);
        port1.close();
      }
    };
  }

  #conclude(settled: Settled, report: Report, teardown: AbortSignal, signal: AbortSignal): unknown {
    const { outcome } = report;
    if (teardown.aborted && teardown.reason !== THREAD_DIED) throw abortErrorOf(signal);
    if (outcome?.kind === 'returned') return outcome.value;
    if (outcome?.kind === 'threw') {
      throw outcome.nonRetryable ? nonRetryable(outcome.error, outcome.permanent) : outcome.error;
    }
    if (outcome?.kind === 'broke') throw this.#error(outcome.problem, rebuild(outcome.detail));
    if (teardown.aborted) throw this.#error('its thread exited while running the job');
    // A wrapped task posts its outcome before it returns: this came from an unwrapped function.
    if (settled.ok) throw this.#error('its default export is not wrapped with workerTask');
    if (report.started) {
      throw this.#error('its thread crashed while running the job', settled.error);
    }
    // The thread may hold the failed import in its module cache: replace it, so a later
    // job loads the module afresh.
    this.#recycle();
    throw this.#error(
      'it failed to load, or does not default-export a function wrapped with workerTask',
      settled.error,
    );
  }

  #error(problem: string, cause?: unknown): WorkerError {
    const because = cause === undefined ? '' : `: ${describe(cause)}`;
    return new WorkerError(
      `Worker module ${this.#module} of job type "${this.#type}" failed the job: ${problem}${because}`,
      { type: this.#type, module: this.#module, ...(cause === undefined ? {} : { cause }) },
    );
  }

  /**
   * Idle threads stop now, busy ones after their job. Only after a load failure: tinypool's
   * `isolateWorkers` would instead start a thread (and load the module) for every job.
   */
  #recycle(): void {
    this.#watchThreads();
    // Rejects only if a thread fails while stopping, and such a thread is gone all the same.
    this.#threads.recycleWorkers().catch(noop);
  }

  /** Notes each thread's exit, so `destroy` can wait for threads tinypool already let go. */
  #watchThreads(): void {
    for (const thread of this.#threads.threads) {
      if (this.#seen.has(thread)) continue;
      this.#seen.add(thread);
      const exit = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      this.#exits.add(exit);
      void exit.then(() => this.#exits.delete(exit));
    }
  }

  /**
   * Stops every thread (running tasks are torn down) and waits until every thread this
   * type ran, including those already torn down or recycled, has exited.
   */
  async destroy(): Promise<void> {
    this.#watchThreads();
    await Promise.all([this.#threads.destroy(), ...this.#exits]);
  }
}

/** A failure that crossed the thread boundary as strings, as an Error again. */
function rebuild(detail: FailureDetail): Error {
  const error = new Error(detail.message);
  error.name = detail.name;
  if (detail.stack !== undefined) error.stack = detail.stack;
  return error;
}

/** A `NonRetryableError` as its thread threw it, from the plain Error cloning left of it. */
function nonRetryable(cloned: unknown, permanent: boolean): NonRetryableError {
  if (!(cloned instanceof Error)) return new NonRetryableError(String(cloned), { permanent });
  const error = new NonRetryableError(
    cloned.message,
    cloned.cause === undefined ? { permanent } : { cause: cloned.cause, permanent },
  );
  if (cloned.stack !== undefined) error.stack = cloned.stack;
  return error;
}

function describe(reason: unknown): string {
  return reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
}

function noop(): void {}
