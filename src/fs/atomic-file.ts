/**
 * Atomic file replacement: write a temp file beside the target, fsync it, rename it over
 * the target, fsync the directory. A reader opens either the old file or the new one,
 * never a mix; after the directory fsync the new file survives a power cut.
 *
 * Why not `write-file-atomic`: its temp files are named `<name>.<decimal number>`, which
 * cannot be told apart from a user's own files (`app.log.1`, `data.json.2024`), so a
 * writer cannot safely clean up the temp files a crash left behind; it does not fsync the
 * directory after the rename; and it cannot be stopped between its steps. The steps
 * themselves are few, and are all here.
 */
import { randomBytes } from 'node:crypto';
import { lstat, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { abortOptions, throwIfAborted, type AbortOptions } from '../abort.js';
import { KeyedMutex } from '../sync/keyed-mutex.js';
import { nonEmptyString } from '../validate.js';
import { canonicalPath } from './canonical-path.js';

/**
 * Marks our temp files. Only names `<file name>.<12 hex digits>.workbus-tmp` are ever
 * removed as strays, so no file a user named can match.
 */
const TEMP_SUFFIX = '.workbus-tmp';

/**
 * How long a temp file must have gone unmodified before a writer removes it as a stray.
 * A younger one may belong to a write of the same path still running in another process
 * (nothing in a name proves its writer dead on every file system); removing it would make
 * that write fail, although never tear the file. A minute is far beyond any healthy
 * write-and-fsync.
 */
const STRAY_AGE_MS = 60_000;

/**
 * Writes of one path in this process, in call order: without it two overlapping writes
 * could rename in either order, and an older version could land last.
 */
const writes = new KeyedMutex<string>({ name: 'workbus/fs.writeFileAtomic' });

/**
 * Replaces the file at `path` with `data` atomically: a reader sees the whole old file or
 * the whole new one, never a partial or empty file, even if this process crashes
 * mid-write. It waits for earlier `writeFileAtomic` calls on the same path in this
 * process (so the last call's data is what stays), writes a temp file in the same
 * directory, fsyncs it, renames it over `path` and fsyncs the directory, so the new file
 * survives a power cut once the promise resolves. A symlink is followed: its target is
 * replaced and the link stays. An existing file's permission bits are kept (its owner is
 * not: the new file belongs to this process's user).
 *
 * Before writing, temp files of this same path that a crashed writer left behind are
 * removed once they are a minute old (a younger one may be a running write in another
 * process); other paths' temp files and every other file are left alone. Writers in
 * different processes are not ordered: the last rename wins (use {@link withFileLock}
 * around the read-modify-write to order them).
 *
 * The `signal` stops the call until the rename: an already aborted signal rejects before
 * anything is touched; an abort while waiting for an earlier write, or before the
 * rename, removes the temp file and rejects, leaving `path` as it was. Once renamed,
 * the write has happened and the promise resolves.
 *
 * @example
 * ```ts
 * await writeFileAtomic(settings, JSON.stringify({ theme: 'dark', opened: 0 }), { signal });
 * ```
 * @throws TypeError (as a rejection) for a `path` that is not a non-empty string, `data`
 *   that is neither a string nor a `Uint8Array`, or an unknown or `null` option.
 * @throws AbortError (or TimeoutError, for a timeout reason) when `signal` aborts first.
 * @throws the file system's error (`ENOENT` for a missing directory, `EACCES`, `ENOSPC`…);
 *   the temp file is removed and `path` is unchanged, unless the directory fsync itself
 *   failed after the rename.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AbortOptions = {},
): Promise<void> {
  nonEmptyString('path', path);
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new TypeError(`data must be a string or a Uint8Array, got ${typeof data}`);
  }
  const signal = abortOptions('writeFileAtomic options', options);
  throwIfAborted(signal);
  const target = await canonicalPath(path);
  await writes.run(
    target,
    async () => {
      await removeStrays(target);
      await replace(target, data, signal);
    },
    { signal },
  );
}

async function replace(
  target: string,
  data: string | Uint8Array,
  signal: AbortSignal | undefined,
): Promise<void> {
  const directory = dirname(target);
  const temp = join(
    directory,
    `${basename(target)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`,
  );
  const mode = await modeOf(target);
  let renamed = false;
  try {
    // 'wx': a name collision (a 48-bit random suffix) fails instead of sharing a file.
    const handle = await open(temp, 'wx', mode ?? 0o666);
    try {
      // open() applies the umask; the copy must keep the original's bits exactly.
      if (mode !== undefined) await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    throwIfAborted(signal);
    await rename(temp, target);
    renamed = true;
  } finally {
    if (!renamed) await rm(temp, { force: true });
  }
  await syncDirectory(directory);
}

/** Permission bits of the file being replaced, or undefined when there is none yet. */
async function modeOf(target: string): Promise<number | undefined> {
  try {
    return (await stat(target)).mode & 0o7777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The rename is only in the directory's entry until the directory itself is flushed:
 * without this, a power cut after we resolve can bring back the old file.
 */
async function syncDirectory(directory: string): Promise<void> {
  // Windows cannot open a directory as a file; NTFS journals the rename itself.
  if (process.platform === 'win32') return;
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a directory at all (as PostgreSQL's fsync_fname
    // also allows); the rename is then as durable as that file system makes it.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP') throw error;
  } finally {
    await handle.close();
  }
}

/** Temp files of `target` (and only of it) last modified at least {@link STRAY_AGE_MS} ago. */
async function removeStrays(target: string): Promise<void> {
  const prefix = `${basename(target)}.`;
  const directory = dirname(target);
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    // Housekeeping must never stop the write: a directory we may write but not list
    // keeps its strays, which only waste space.
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !isTempSuffix(name.slice(prefix.length))) continue;
    const path = join(directory, name);
    const info = await lstat(path).catch(() => undefined);
    if (info?.isFile() && Date.now() - info.mtimeMs >= STRAY_AGE_MS) {
      // Another writer may remove it first, or it may be another user's in a sticky
      // directory: either way it is not this write's business.
      await rm(path, { force: true }).catch(() => undefined);
    }
  }
}

/** `<12 hex digits>.workbus-tmp`: what follows `<file name>.` in our temp names. */
function isTempSuffix(rest: string): boolean {
  return rest.endsWith(TEMP_SUFFIX) && /^[0-9a-f]{12}$/.test(rest.slice(0, -TEMP_SUFFIX.length));
}
