/**
 * examples/shutdown.ts: the app run in-process (it stops itself), and as a program that
 * receives SIGINT in a child process (one signal: a clean stop, the report, exit 0; two:
 * exit 130 at once).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runShutdownDemo } from '../../examples/shutdown.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const OUTCOMES = 'stopped|aborted|failed|timed-out|not-started';
/** A report line: name, outcome, duration. */
const reportLine = new RegExp(`^\\s+(\\S+)\\s+(${OUTCOMES})\\s+(\\d+) ms`, 'gm');

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** `Date.now()` when the process exited. */
  readonly at: number;
}

/** Hang guard only: a child still running after this is killed (the test then fails). */
const KILL_AFTER_MS = 30_000;

/** Runs `examples/shutdown.ts` as a program, the way a user would (`tsx`). */
function runProgram(args: readonly string[] = []): {
  readonly signal: (name: NodeJS.Signals) => void;
  readonly waitFor: (pattern: RegExp) => Promise<void>;
  readonly exited: Promise<Exit>;
  readonly stdout: () => string;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/shutdown.ts', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let exit: Exit | undefined;
  const watchers = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const watcher of watchers) watcher();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.on('exit', (code, signal) => {
    exit = { code, signal, at: Date.now() };
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  // 'close' comes after 'exit' and after the stdio pipes have closed: nothing is left open.
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      for (const watcher of watchers) watcher();
      resolve(exit ?? { code, signal, at: Date.now() });
    });
  });
  const waitFor = (pattern: RegExp): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (pattern.test(stdout)) {
          watchers.delete(check);
          resolve();
        } else if (exit !== undefined || child.exitCode !== null) {
          watchers.delete(check);
          reject(new Error(`exited before printing ${pattern}:\n${stdout}\n${stderr}`));
        }
      };
      watchers.add(check);
      check();
    });
  return {
    signal: (name) => void child.kill(name),
    waitFor,
    exited,
    stdout: () => stdout,
  };
}

describe('examples/shutdown.ts', () => {
  it('runs in-process, stops itself in order, and loses no job or write', async () => {
    const lines: string[] = [];
    const { report, submitted, finished, store } = await runShutdownDemo({
      log: (line) => lines.push(line),
      stopAfterMs: 50,
    });
    expect(report.components.map((c) => [c.name, c.outcome])).toEqual([
      ['producer', 'stopped'],
      ['pool', 'stopped'],
      ['store', 'stopped'],
      ['bus', 'stopped'],
    ]);
    expect(report.ok).toBe(true);
    // Every job ran, the flush the producer submitted while stopping included, and each
    // wrote once: the pool drained before the store closed, and the lock lost no update.
    expect(submitted).toBeGreaterThan(1);
    expect(finished).toEqual({ succeeded: submitted });
    expect(store.size).toBe(submitted);
    expect(store.version).toBe(submitted);
    expect(store.get('flush')).toBeDefined();
    expect(lines[0]).toMatch(/^working/);
    expect(lines).toContain('stop report (ok):');
    expect(lines.join('\n').match(reportLine)).toHaveLength(4);
  });

  it('as a program: SIGINT stops it cleanly; it prints the report and exits 0 by itself', async () => {
    const program = runProgram();
    await program.waitFor(/^working/m);
    const sentAt = Date.now();
    program.signal('SIGINT');
    const { code, signal, at } = await program.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    // Grace is 2 s for each component (the stop takes a few ms): a generous hang guard.
    expect(at - sentAt).toBeLessThan(10_000);
    const stdout = program.stdout();
    const report = [...stdout.matchAll(reportLine)].map((m) => [m[1], m[2]]);
    expect(report).toEqual([
      ['producer', 'stopped'],
      ['pool', 'stopped'],
      ['store', 'stopped'],
      ['bus', 'stopped'],
    ]);
    expect(stdout).toMatch(/^stop report \(ok\):$/m);
    // The report comes after the producer began stopping, that is after the signal.
    expect(stdout.indexOf('stop report')).toBeGreaterThan(stdout.indexOf('producer: stopping'));
  });

  it('as a program: a second SIGINT while a component is slow to stop exits at once with 130', async () => {
    const program = runProgram(['--flush-ms', '20000']);
    await program.waitFor(/^working/m);
    program.signal('SIGINT');
    await program.waitFor(/^producer: stopping/m);
    const sentAt = Date.now();
    program.signal('SIGINT');
    const { code, signal, at } = await program.exited;
    expect({ code, signal }).toEqual({ code: 130, signal: null });
    expect(at - sentAt).toBeLessThan(10_000);
    expect(program.stdout()).not.toMatch(/stop report/); // it did not wait for the stop
  });
});
