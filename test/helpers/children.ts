/**
 * Child processes for the tests that need another process (files, locks, stores,
 * trackers): tsx programs from the tests' `fixtures/` folders, watched line by line.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Child {
  readonly pid: number;
  /** Resolves once the child has printed `line`; rejects if it closes first. */
  waitForLine(line: string): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the child has exited and its pipes are closed: nothing is left open. */
  readonly closed: Promise<Exit>;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the tsx program `fixture` (a path from the project root) with `args`. */
export function startChild(fixture: string, args: readonly string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let done = false;
  const watchers = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const watcher of watchers) watcher();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      done = true;
      for (const watcher of watchers) watcher();
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    pid: child.pid ?? 0,
    closed,
    kill: (signal) => {
      child.kill(signal);
    },
    waitForLine: (line) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (stdout.split('\n').includes(line)) {
            watchers.delete(check);
            resolve();
          } else if (done) {
            watchers.delete(check);
            reject(new Error(`child closed before printing "${line}": ${stderr}`));
          }
        };
        watchers.add(check);
        check();
      }),
  };
}
