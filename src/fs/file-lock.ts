/**
 * Cross-process file locks held for a callback: the lock directory of `path`
 * (`lock-directory.ts`: `<path>.lock`, refreshed, taken over once stale, abortable
 * waits), with a lost lock reported through the holder's signal.
 */
import { LinkedSignal, throwIfAborted } from '../abort.js';
import type { AbortOptions } from '../abort.js';
import { LockCompromisedError } from '../errors.js';
import { callable, nonEmptyString, optionalSignal, options as checkOptions } from '../validate.js';
import { canonicalPath } from './canonical-path.js';
import { acquire, staleOption } from './lock-directory.js';

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
  const staleMs = staleOption('staleMs', given['staleMs']);
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
