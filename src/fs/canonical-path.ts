/**
 * The one name of a file, shared by the atomic writer and the file lock: absolute, with
 * symlinks followed. Two callers reaching one file through different links or relative
 * paths must replace the same file and contend for the same lock.
 * Internal: not part of the public surface.
 */
import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * `path` absolute with symlinks followed. A file that does not exist yet is named
 * through its directory's real path, so it gets the name it will have once written.
 * Rejects with the file system's error when the directory does not exist either.
 */
export async function canonicalPath(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const absolute = resolve(path);
  return join(await realpath(dirname(absolute)), basename(absolute));
}
