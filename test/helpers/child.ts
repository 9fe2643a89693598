/**
 * Child processes running TypeScript fixtures (through tsx), read line by line: the
 * multi-process tests gate on what a child prints, never on a sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A running child: its lines as they come, and its end. */
export interface Child {
  readonly process: ChildProcess;
  /** Every line printed so far. */
  readonly lines: string[];
  /** Resolves with the first line (already printed or to come) that `match` accepts. */
  line(match: (line: string) => boolean): Promise<string>;
  /** Resolves with the exit code (or the signal's name) once it ended and its output was read. */
  readonly exited: Promise<number | string>;
}

/** Starts `node --import tsx <fixture> ...args`; its stderr is passed through. */
export function startChild(fixture: URL, args: readonly string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture.pathname, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters = new Set<{ match: (line: string) => boolean; resolve: (l: string) => void }>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.match(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<number | string>((resolve) =>
    // 'close', not 'exit': by then every line it printed has been read.
    child.once('close', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    process: child,
    lines,
    exited,
    line: (match) => {
      const found = lines.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiters.add({ match, resolve });
        void exited.then((code) =>
          reject(
            new Error(
              `child exited (${code}) before printing the line; it printed:\n${lines.join('\n')}`,
            ),
          ),
        );
      });
    },
  };
}
