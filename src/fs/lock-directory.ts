/**
 * The lock directory of a path, on `proper-lockfile`: `<path>.lock` (mkdir is atomic), kept
 * fresh by touching its mtime, taken over once older than its stale time. Shared by the
 * callback locks of `file-lock.ts` and the store's owner lock, which holds one for a
 * Database's whole life. What this adds to the library: an abortable wait (its own
 * `retries` cannot be cancelled), a refresh well inside the stale window, and a lost lock
 * reported to a callback instead of thrown from a timer, which would end the process.
 * Internal: not part of the public surface.
 */
import { abortErrorOf, sleep } from '../abort.js';
import { FileLockedError } from '../errors.js';
import { MAX_TIMER_STEP_MS } from '../internal/timer.js';
import { duration } from '../validate.js';

/**
 * proper-lockfile, loaded on first use: loading it installs process signal handlers (its
 * signal-exit hook removes held locks on exit), which an app that imports workbus but
 * never locks a file should not get.
 */
let properLockfile: ReturnType<typeof loadProperLockfile> | undefined;

function loadProperLockfile() {
  return import('proper-lockfile');
}

export const DEFAULT_STALE_MS = 10_000;
/** proper-lockfile refreshes at most once a second; three refreshes fit in a stale window. */
const MIN_STALE_MS = 3_000;
/** First pause between attempts, doubled each time up to {@link MAX_RETRY_MS}. */
const FIRST_RETRY_MS = 5;
/**
 * The longest pause between attempts: how late a waiter may notice that the lock was
 * released. Each pause is an abortable sleep, so an abort never waits for it.
 */
const MAX_RETRY_MS = 100;

/** A stale time option (`field` names it in errors): {@link DEFAULT_STALE_MS} when absent. */
export function staleOption(field: string, value: unknown): number {
  if (value === undefined) return DEFAULT_STALE_MS;
  const staleMs = duration(field, value, MIN_STALE_MS);
  // proper-lockfile arms its refresh with a plain setTimeout, which fires at once
  // past 2^31 − 1 ms: a longer stale time would refresh in a busy loop.
  if (staleMs > MAX_TIMER_STEP_MS) {
    throw new RangeError(
      `${field} must be a duration in milliseconds of at least ${MIN_STALE_MS} (at most ${MAX_TIMER_STEP_MS}), got ${staleMs} (number)`,
    );
  }
  return staleMs;
}

/**
 * Takes the lock of `target` (already canonical), attempt after attempt, each a single
 * non-waiting `lock()`, with an abortable sleep between them; without `wait`, a held lock
 * is a {@link FileLockedError} at once. Resolves with the release function.
 * `onCompromised` is called from proper-lockfile's refresh timer when the lock is lost
 * while held: it must not throw.
 */
export async function acquire(
  target: string,
  staleMs: number,
  signal: AbortSignal | undefined,
  wait: boolean,
  onCompromised: (error: Error) => void,
): Promise<() => Promise<void>> {
  for (let attempt = 0; ; attempt++) {
    const release = await tryLock(target, staleMs, onCompromised);
    if (release !== undefined) {
      if (signal?.aborted) {
        // Aborted while the attempt was in flight: the caller asked to stop and never
        // saw the lock, so give it back. A failed release changes nothing for them.
        await release().catch(() => undefined);
        throw abortErrorOf(signal);
      }
      return release;
    }
    if (!wait) throw new FileLockedError(target);
    await sleep(retryDelay(attempt), { signal });
  }
}

/** One attempt: the release function, or undefined when another holder has the lock. */
async function tryLock(
  target: string,
  staleMs: number,
  onCompromised: (error: Error) => void,
): Promise<(() => Promise<void>) | undefined> {
  properLockfile ??= loadProperLockfile();
  const { lock } = await properLockfile;
  try {
    return await lock(target, {
      stale: staleMs,
      // A refresh every third of the window: one late refresh (a busy event loop, a
      // slow disk) must not let another process judge a live holder dead.
      update: staleMs / 3,
      // canonicalPath has already followed symlinks, and a file that does not exist
      // yet (which realpath would refuse) can be locked too.
      realpath: false,
      retries: 0,
      onCompromised,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
    throw error;
  }
}

/**
 * Exponential with equal jitter (half fixed, half random): waiters that found the lock
 * held together do not retry together, and none retries in a tight loop.
 */
function retryDelay(attempt: number): number {
  const cap = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt);
  return cap / 2 + (Math.random() * cap) / 2;
}
