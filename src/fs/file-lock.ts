/**
 * Cross-process file locks on `proper-lockfile`: the lock of `path` is the directory
 * `<path>.lock` (mkdir is atomic), kept fresh by touching its mtime; a lock whose mtime is
 * older than `staleMs` is taken over. What this module adds: an abortable wait (the
 * library's own `retries` cannot be cancelled), a refresh interval well inside the stale
 * window, and a lost lock reported through the holder's signal instead of the library's
 * default, which throws from a timer and takes the process down.
 */
import { abortErrorOf, LinkedSignal, sleep, throwIfAborted } from '../abort.js';
import type { AbortOptions } from '../abort.js';
import { FileLockedError, LockCompromisedError } from '../errors.js';
import { MAX_TIMER_STEP_MS } from '../internal/timer.js';
import {
  callable,
  duration,
  nonEmptyString,
  optionalSignal,
  options as checkOptions,
} from '../validate.js';
import { canonicalPath } from './canonical-path.js';

/**
 * proper-lockfile, loaded on first use: loading it installs process signal handlers (its
 * signal-exit hook removes held locks on exit), which an app that imports workbus but
 * never locks a file should not get.
 */
let properLockfile: ReturnType<typeof loadProperLockfile> | undefined;

function loadProperLockfile() {
  return import('proper-lockfile');
}

/** Options of {@link withFileLock} and {@link tryWithFileLock}. */
export interface FileLockOptions extends AbortOptions {
  /**
   * A lock not refreshed for this long is stale: its holder is taken to be dead (or
   * hung) and the next caller takes it over. The holder refreshes it every `staleMs / 3`,
   * so a refresh may be late once, even twice, without losing the lock. From 3000 (the
   * refresh cannot be more frequent than once a second) to 2^31 − 1.
   * @default 10_000
   */
  readonly staleMs?: number | undefined;
}

const FILE_LOCK_OPTIONS = ['staleMs', 'signal'] as const;
const DEFAULT_STALE_MS = 10_000;
/** proper-lockfile refreshes at most once a second; three refreshes fit in a stale window. */
const MIN_STALE_MS = 3_000;
/** First pause between attempts, doubled each time up to {@link MAX_RETRY_MS}. */
const FIRST_RETRY_MS = 5;
/**
 * The longest pause between attempts: how late a waiter may notice that the lock was
 * released. Each pause is an abortable sleep, so an abort never waits for it.
 */
const MAX_RETRY_MS = 100;

/** The holder's work, given a signal that aborts when the caller's does or the lock is lost. */
export type FileLockTask<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/**
 * Runs `fn` holding the cross-process lock of `path`, then releases it. Waits while
 * another holder (another process, or another call in this one: the lock is not
 * re-entrant) has it, polling with a jittered backoff of at most 100 ms; a lock whose
 * holder has not refreshed it for `staleMs` (it died, or hung) is taken over. The file
 * itself need not exist; its directory must.
 *
 * `fn` gets a signal that aborts when the caller's `signal` does, or with a
 * {@link LockCompromisedError} when the lock is lost while held (its lock directory was
 * removed, or another process found it stale and took it over). The lock is advisory:
 * it excludes only other callers of this function (or of proper-lockfile) on the same
 * path, on one machine.
 *
 * @example
 * ```ts
 * const opened = await withFileLock(
 *   settings,
 *   async (signal) => {
 *     const current = JSON.parse(await readFile(settings, 'utf8')) as Settings;
 *     const next = { ...current, opened: current.opened + 1 };
 *     await writeFileAtomic(settings, JSON.stringify(next), { signal });
 *     return next.opened;
 *   },
 *   { staleMs: 10_000, signal },
 * );
 * ```
 * @returns what `fn` returns, once the lock is released.
 * @throws TypeError (as a rejection) for a bad `path` or `fn`, or an unknown or `null`
 *   option; RangeError for a `staleMs` out of range. Nothing is touched.
 * @throws AbortError (or TimeoutError) when `signal` aborts before the lock is taken
 *   (an already aborted signal touches nothing; a lock taken in the same moment is
 *   given back).
 * @throws LockCompromisedError when the lock was lost while `fn` ran, after `fn` settles
 *   (whatever `fn` returned or threw, since exclusion no longer held).
 * @throws whatever `fn` throws, after the lock is released; the file system's error when
 *   the lock cannot be taken or released.
 */
export function withFileLock<T>(
  path: string,
  fn: FileLockTask<T>,
  options: FileLockOptions = {},
): Promise<T> {
  return runLocked('withFileLock', path, fn, options, true);
}

/**
 * {@link withFileLock} without the wait: takes the lock if it is free (or stale), runs
 * `fn` and releases it; rejects with a {@link FileLockedError} at once, without calling
 * `fn`, when another holder has it. Everything else is as {@link withFileLock}.
 *
 * @example
 * ```ts
 * try {
 *   await tryWithFileLock(settings, () => log('not reached: the lock is held'));
 * } catch (error) {
 *   if (!(error instanceof FileLockedError)) throw error;
 *   log(`busy: ${error.code}`);
 * }
 * ```
 * @throws FileLockedError when the lock is held; otherwise as {@link withFileLock}.
 */
export function tryWithFileLock<T>(
  path: string,
  fn: FileLockTask<T>,
  options: FileLockOptions = {},
): Promise<T> {
  return runLocked('tryWithFileLock', path, fn, options, false);
}

async function runLocked<T>(
  caller: string,
  path: string,
  fn: FileLockTask<T>,
  options: FileLockOptions,
  wait: boolean,
): Promise<T> {
  nonEmptyString('path', path);
  callable('fn', fn);
  const given = checkOptions(`${caller} options`, options, FILE_LOCK_OPTIONS);
  const staleMs = staleOption(given['staleMs']);
  const signal = optionalSignal(`${caller} options.signal`, given['signal']);
  throwIfAborted(signal);
  const target = await canonicalPath(path);
  using holder = new LinkedSignal(signal);
  let lost: LockCompromisedError | undefined;
  const release = await acquire(target, staleMs, signal, wait, (error) => {
    // Called from proper-lockfile's refresh timer: never throw here.
    lost ??= new LockCompromisedError(target, { cause: error });
    holder.abort(lost);
  });
  let outcome: { readonly value: T } | { readonly error: unknown };
  try {
    outcome = { value: await fn(holder.signal) };
  } catch (error) {
    outcome = { error };
  }
  if (lost === undefined) {
    await release().catch((error: unknown) => {
      // Lost between fn's end and the release: that loss is the news, not the refusal.
      if (lost === undefined) throw error;
    });
  }
  if (lost !== undefined) throw lost;
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

function staleOption(value: unknown): number {
  if (value === undefined) return DEFAULT_STALE_MS;
  const staleMs = duration('staleMs', value, MIN_STALE_MS);
  // proper-lockfile arms its refresh with a plain setTimeout, which fires at once
  // past 2^31 − 1 ms: a longer staleMs would refresh in a busy loop.
  if (staleMs > MAX_TIMER_STEP_MS) {
    throw new RangeError(
      `staleMs must be a duration in milliseconds of at least ${MIN_STALE_MS} (at most ${MAX_TIMER_STEP_MS}), got ${staleMs} (number)`,
    );
  }
  return staleMs;
}

/**
 * Takes the lock, attempt after attempt, each a single non-waiting `lock()`, with an
 * abortable sleep between them. proper-lockfile's own `retries` would wait in timers we
 * cannot cancel.
 */
async function acquire(
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
