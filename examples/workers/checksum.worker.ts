/** A CPU-bound job type for the demo: checksums a buffer many times, in a worker thread. */
import { createHash } from 'node:crypto';
import { workerTask } from 'workbus';

export interface ChecksumInput {
  readonly text: string;
  readonly rounds: number;
}

export default workerTask((input: ChecksumInput, ctx) => {
  let digest = input.text;
  for (let round = 1; round <= input.rounds; round++) {
    ctx.signal.throwIfAborted();
    digest = createHash('sha256').update(digest).digest('hex');
    if (round % (input.rounds / 4) === 0) ctx.progress(round / input.rounds, `round ${round}`);
  }
  return digest.slice(0, 16);
});
