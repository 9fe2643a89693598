/**
 * Child processes for the tests that need another process (files, locks, stores,
 * trackers, Redis workers): tsx programs, read line by line, so a test gates on what a
 * child prints, never on a sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A running child: its lines as they come, and its end. */
export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Every line printed so far. */
  readonly lines: string[];
  /** Resolves with the first line (already printed or to come) that `match` accepts. */
  line(match: (line: string) => boolean): Promise<string>;
  /** Resolves once the child has printed exactly `text` as a line; rejects if it ends first. */
  waitForLine(text: string): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  /** Resolves with the exit code (or the signal's name) once it ended and its output was read. */
  readonly exited: Promise<number | string>;
  /** Resolves when the child has exited and its pipes are closed: nothing is left open. */
  readonly closed: Promise<Exit>;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Starts `node --import tsx <fixture> ...args` from the project root; `fixture` is a
 * file URL or a path from the root. Its stderr is kept (in {@link Exit} and in the error
 * of a line that never came).
 */
export function startChild(fixture: URL | string, args: readonly string[]): Child {
  const file = typeof fixture === 'string' ? fixture : fileURLToPath(fixture);
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let partial = '';
  const lines: string[] = [];
  const waiters = new Set<{ match: (line: string) => boolean; resolve: (l: string) => void }>();
  const add = (line: string): void => {
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.match(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) add(line);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // 'close', not 'exit': by then every line it printed has been read.
  const closed = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      if (partial !== '') add(partial);
      resolve({ code, signal, stdout, stderr });
    });
  });
  const exited = closed.then(({ code, signal }) => code ?? signal ?? -1);
  const line = (match: (line: string) => boolean): Promise<string> => {
    const found = lines.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      waiters.add({ match, resolve });
      void closed.then(({ code, signal }) =>
        reject(
          new Error(
            `child ended (${code ?? signal}) before printing the line; it printed:\n${lines.join('\n')}\nstderr:\n${stderr}`,
          ),
        ),
      );
    });
  };
  return {
    process: child,
    pid: child.pid ?? 0,
    lines,
    exited,
    closed,
    line,
    waitForLine: async (text) => {
      await line((l) => l === text);
    },
    kill: (signal) => {
      child.kill(signal);
    },
  };
}
