import { abortErrorOf } from '../abort.js';
import { attributed, holding, lockdep, runHolding, type HeldLock } from './lockdep.js';
import type { Permit } from './permit.js';

/**
 * The permit a parked caller gets. The caller resumes a microtask after its grant; if its
 * signal aborted in between, it asked to stop and never saw the permit, so the capacity
 * goes back (as Go's `semaphore.Acquire` does).
 */
export function grantedLater(
  parked: Promise<Permit>,
  signal: AbortSignal | undefined,
): Promise<Permit> {
  return signal ? parked.then((permit) => keepUnlessAborted(permit, signal)) : parked;
}

function keepUnlessAborted(permit: Permit, signal: AbortSignal): Permit {
  if (!signal.aborted) return permit;
  permit.release();
  throw abortErrorOf(signal);
}

/** A started acquisition: the permit to come, and lockdep's record of it (if checking). */
export interface Acquisition {
  readonly permit: Promise<Permit>;
  readonly entry: HeldLock | undefined;
}

/** The promise a bare `acquire()` returns: under lockdep, held by the flow that awaits it. */
export function handedOut(acquisition: Acquisition): Promise<Permit> {
  const { permit, entry } = acquisition;
  return entry === undefined ? permit : attributed(entry, permit);
}

/**
 * The body of every `run(fn)`: waits for the permit, runs `fn` in a flow that holds the
 * lock (under lockdep), and releases it when `fn` settles, even if it throws.
 */
export async function runHeld<T>(
  acquisition: Acquisition,
  fn: () => T | PromiseLike<T>,
): Promise<T> {
  const { entry } = acquisition;
  const permit = await (entry ? holding(entry, acquisition.permit) : acquisition.permit);
  try {
    return await (entry && lockdep.enabled ? runHolding(entry, fn) : fn());
  } finally {
    permit.release();
  }
}
