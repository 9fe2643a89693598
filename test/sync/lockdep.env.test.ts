import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Loads the library in a fresh process and tries the A→B / B→A inversion, one flow after
 * the other; prints whether lockdep was on at load and what the second flow ran into.
 */
const SCRIPT = `
import { lockdep, Mutex } from './src/index.ts';
const enabledAtLoad = lockdep.enabled;
const a = new Mutex({ name: 'A' });
const b = new Mutex({ name: 'B' });
{
  const holdingA = await a.acquire();
  (await b.acquire()).release();
  holdingA.release();
}
let error = null;
const holdingB = await b.acquire();
try {
  (await a.acquire()).release();
} catch (caught) {
  error = { name: caught.name, code: caught.code, message: caught.message };
}
holdingB.release();
console.log(JSON.stringify({ enabledAtLoad, error, edges: lockdep.edges().length }));
`;

/**
 * Two flows forked at once, each taking one lock and holding it until both have; prints
 * what each saw as held and the orders recorded. With `WARM_UP`, one lock is taken and
 * released first.
 */
const FORKS = `
import { lockdep, Mutex } from './src/index.ts';
if (process.env.WARM_UP === '1') new Mutex({ name: 'warm-up' }).tryAcquire()?.release();
const a = new Mutex({ name: 'A' });
const b = new Mutex({ name: 'B' });
let open;
const bothHolding = new Promise((resolve) => (open = resolve));
const flow = async (lock) => {
  await null;
  const permit = await lock.acquire();
  await bothHolding;
  const held = lockdep.held();
  permit.release();
  return held;
};
const flows = Promise.all([flow(a), flow(b)]);
await new Promise((resolve) => setImmediate(resolve));
open();
const held = await flows;
console.log(JSON.stringify({ held, orders: lockdep.edges().map((e) => e.from + '->' + e.to) }));
`;

interface Report {
  readonly enabledAtLoad: boolean;
  readonly error: { name: string; code: string; message: string } | null;
  readonly edges: number;
}

/** Runs `script` in a fresh process from the repository root; returns its last line, parsed. */
async function runScript(
  script: string,
  vars: Record<string, string | undefined>,
): Promise<unknown> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.WORKBUS_LOCKDEP;
  for (const [name, value] of Object.entries(vars)) if (value !== undefined) env[name] = value;
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '--eval', script],
    { cwd: root, env },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as unknown;
}

/** Runs SCRIPT with `WORKBUS_LOCKDEP` set to `value` (or unset). */
const runWith = async (value: string | undefined): Promise<Report> =>
  (await runScript(SCRIPT, { WORKBUS_LOCKDEP: value })) as Report;

describe('WORKBUS_LOCKDEP', () => {
  it('=1 turns lockdep on at load, and it reports the inversion', async () => {
    const report = await runWith('1');
    expect(report).toEqual({
      enabledAtLoad: true,
      error: {
        name: 'LockOrderError',
        code: 'LOCK_ORDER',
        message: 'Lock order cycle: B -> A -> B',
      },
      edges: 1,
    });
  });

  it.each([
    ['unset', undefined],
    ['0', '0'],
    ['empty', ''],
  ])('%s leaves lockdep off: nothing is reported or recorded', async (_label, value) => {
    const report = await runWith(value);
    expect(report).toEqual({ enabledAtLoad: false, error: null, edges: 0 });
  });
});

describe('WORKBUS_LOCKDEP=1 and the first acquisition of the process', () => {
  const separate = { held: [['A'], ['B']], orders: [] };

  it('keeps two flows forked after a first acquisition apart', async () => {
    expect(await runScript(FORKS, { WORKBUS_LOCKDEP: '1', WARM_UP: '1' })).toEqual(separate);
  });

  // Until AsyncLocalStorage is activated, continuations set up earlier share one context:
  // loading with WORKBUS_LOCKDEP=1 must activate it, or the second flow's acquisition
  // would see the first's lock and record a false "A->B" order.
  it('keeps two flows forked before any acquisition apart', async () => {
    expect(await runScript(FORKS, { WORKBUS_LOCKDEP: '1' })).toEqual(separate);
  });
});
