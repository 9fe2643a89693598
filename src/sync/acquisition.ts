import { abortErrorOf } from '../abort.js';
import { failed, tracked, type HeldLock } from './lockdep.js';
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
