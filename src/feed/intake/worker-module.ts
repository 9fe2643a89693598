/** Where the intake's worker module is, with its types, for a pool's worker type. */
import { workerModule } from '../../pool/worker-task.js';
import type * as intakeWorkerModule from './intake.worker.js';

/**
 * The feed intake worker module, for a pool type's `worker` option:
 *
 * @example
 * ```ts
 * const pool = new WorkPool({ concurrency: 4, types: { parse: { concurrency: 2, worker: intakeWorker } } });
 * const outcome = await pool.run('parse', { bytes, contentType, url });
 * const { document } = intakeResultOf(outcome); // or a FeedParseError
 * ```
 *
 * It names the built module (`intake.worker.js` beside this one). Code run from the
 * TypeScript sources (tests under a TypeScript loader) needs a JavaScript module that
 * registers the loader in the thread first, as `test/feed/intake/fixtures` shows.
 */
export const intakeWorker = workerModule<typeof intakeWorkerModule>(
  new URL('./intake.worker.js', import.meta.url),
);
