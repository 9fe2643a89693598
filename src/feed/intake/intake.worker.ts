/**
 * The worker-thread side of feed intake: a pool worker type running this module parses
 * feeds off the main thread, so a 1 MB feed never stalls the event loop. Its answer is an
 * {@link IntakeOutcome} (plain data); {@link intakeResultOf} turns it back into a result
 * or a `FeedParseError`. A bad feed is an outcome, not a thrown error, so the pool never
 * retries it and its `kind` survives the thread boundary.
 */
import { workerTask } from '../../pool/worker-task.js';
import { intakeOutcome, type IntakeInput } from './intake.js';

export default workerTask((input: IntakeInput, ctx) =>
  intakeOutcome(input, { signal: ctx.signal }),
);
