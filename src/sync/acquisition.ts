import { abortErrorOf } from '../abort.js';
import { failed, runHolding, tracked, type HeldLock } from './lockdep.js';
import type { Permit } from './permit.js';

/** The permit a caller gets without waiting: tracked when lockdep follows the acquisition. */
export function grantedNow(permit: Permit, entry: HeldLock | undefined): Promise<Permit> {
  return Promise.resolve(entry ? tracked(permit, entry) : permit);
}

/**
 * The permit a parked caller gets. The caller resumes a microtask after its grant; if its
 * signal aborted in between, it asked to stop and never saw the permit, so the capacity
 * goes back (as Go's `semaphore.Acquire` does). With lockdep following the acquisition,
 * the permit marks it held, and a failed wait drops it from the flow's held locks.
 */
export function grantedLater(
  parked: Promise<Permit>,
  signal: AbortSignal | undefined,
  entry: HeldLock | undefined,
): Promise<Permit> {
  const granted = signal ? parked.then((permit) => keepUnlessAborted(permit, signal)) : parked;
  if (entry === undefined) return granted;
  return granted.then(
    (permit) => tracked(permit, entry),
    (error: unknown) => failed(entry, error),
  );
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

/**
 * The body of every `run(fn)`: waits for the permit, runs `fn` in a flow that holds the
 * lock (under lockdep), and releases it when `fn` settles, even if it throws.
 */
export async function runHeld<T>(
  acquisition: Acquisition,
  fn: () => T | PromiseLike<T>,
): Promise<T> {
  const permit = await acquisition.permit;
  try {
    const { entry } = acquisition;
    return await (entry ? runHolding(entry, fn) : fn());
  } finally {
    permit.release();
  }
}
