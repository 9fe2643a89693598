/**
 * Files: an atomic replace and a cross-process lock around a read-modify-write. The
 * README's "Files" section and the TSDoc examples of `src/fs/` are copied from here;
 * `test/examples.test.ts` runs it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLockedError, tryWithFileLock, withFileLock, writeFileAtomic } from 'workbus';

interface Settings {
  theme: string;
  opened: number;
}

export async function files(log: (line: string) => void = console.log): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'workbus-files-'));
  const settings = join(directory, 'settings.json');
  const { signal } = new AbortController();
  try {
    // --- atomic
    await writeFileAtomic(settings, JSON.stringify({ theme: 'dark', opened: 0 }), { signal });
    // --- end

    // --- lock
    const opened = await withFileLock(
      settings,
      async (signal) => {
        const current = JSON.parse(await readFile(settings, 'utf8')) as Settings;
        const next = { ...current, opened: current.opened + 1 };
        await writeFileAtomic(settings, JSON.stringify(next), { signal });
        return next.opened;
      },
      { staleMs: 10_000, signal },
    );
    log(`opened ${opened} time(s): ${await readFile(settings, 'utf8')}`);
    // --- end

    await withFileLock(settings, async () => {
      try {
        await tryWithFileLock(settings, () => log('not reached: the lock is held'));
      } catch (error) {
        if (!(error instanceof FileLockedError)) throw error;
        log(`busy: ${error.code}`);
      }
    });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
