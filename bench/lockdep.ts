/**
 * What lockdep costs: uncontended `await acquire()` + `release()` pairs on a Mutex with
 * lockdep off and on, against a bare `Semaphore(1)` (the floor: the code path a Mutex
 * takes when lockdep is off, without the Mutex wrapper); then the same with a nested
 * pair (hold A, take B), where lockdep also checks the order against the graph.
 */
import { pathToFileURL } from 'node:url';
import { Mutex, Semaphore, lockdep } from 'workbus';
import { measure, printTable, type Case, type Row } from './harness.js';

/** Runs `fn` with lockdep switched as asked, then puts the switch and the graph back. */
async function withLockdep(on: boolean, fn: () => Promise<void>): Promise<void> {
  const was = lockdep.enabled;
  if (on) lockdep.enable();
  else lockdep.disable();
  try {
    await fn();
  } finally {
    if (was) lockdep.enable();
    else lockdep.disable();
    lockdep.reset();
  }
}

const single = (on: boolean): Case['run'] => {
  return (ops) =>
    withLockdep(on, async () => {
      const mutex = new Mutex({ name: 'A' });
      for (let i = 0; i < ops; i++) (await mutex.acquire()).release();
    });
};

const nested = (on: boolean): Case['run'] => {
  return (ops) =>
    withLockdep(on, async () => {
      const a = new Mutex({ name: 'A' });
      const b = new Mutex({ name: 'B' });
      for (let i = 0; i < ops; i++) {
        const outer = await a.acquire();
        (await b.acquire()).release();
        outer.release();
      }
    });
};

const bareSingle: Case['run'] = (ops) =>
  withLockdep(false, async () => {
    const sem = new Semaphore(1);
    for (let i = 0; i < ops; i++) (await sem.acquire()).release();
  });

const bareNested: Case['run'] = (ops) =>
  withLockdep(false, async () => {
    const a = new Semaphore(1);
    const b = new Semaphore(1);
    for (let i = 0; i < ops; i++) {
      const outer = await a.acquire();
      (await b.acquire()).release();
      outer.release();
    }
  });

/** One measured row per case, each case measured on its own (so in the order asked). */
async function measureOne(name: string, run: Case['run'], ops: number): Promise<Row> {
  const [row] = await measure([{ name, run }], ops);
  if (row === undefined) throw new Error(`no measurement for ${name}`);
  return row;
}

/** The rows with their ratios taken against the first. */
function rebased(rows: readonly Row[]): Row[] {
  const base = rows[0]?.opsPerSec ?? Number.NaN;
  return rows.map((r) => ({ ...r, ratio: r.opsPerSec / base }));
}

/** Extra time per operation of `row` over `than`, as a signed percentage. */
function overhead(row: Row, than: Row): string {
  const percent = (than.opsPerSec / row.opsPerSec - 1) * 100;
  return `${percent >= 0 ? '+' : ''}${percent.toFixed(1)}%`;
}

interface Figures {
  readonly off: Row;
  readonly on: Row;
  readonly floor: Row;
  readonly offAfterOn: Row;
}

function report(title: string, f: Figures): void {
  printTable(title, rebased([f.off, f.on, f.floor, f.offAfterOn]));
  console.log(`  time per op, lockdep off vs the bare Semaphore(1): ${overhead(f.off, f.floor)}`);
  console.log(`  time per op, lockdep on vs lockdep off:            ${overhead(f.on, f.off)}`);
  console.log(
    `  time per op, off after having been on vs off:      ${overhead(f.offAfterOn, f.off)}`,
  );
}

/**
 * Every "off" case and the floors are measured before lockdep is first turned on, and
 * measured again after `lockdep.disable()`: the last row shows that disabling removes
 * lockdep's async hook, so a process that turned checking off pays nothing for it.
 */
export async function benchLockdep(scale: number): Promise<void> {
  const ops = Math.round(1_000_000 * scale);
  const count = ops.toLocaleString('en-US');
  if (lockdep.enabled) console.log('\n(lockdep was already on: the "off" rows are not clean)');
  const singleOff = await measureOne('Mutex, lockdep off', single(false), ops);
  const singleFloor = await measureOne('bare Semaphore(1) (floor)', bareSingle, ops);
  const nestedOff = await measureOne('Mutex A then B, lockdep off', nested(false), ops);
  const nestedFloor = await measureOne('bare Semaphore(1) A then B (floor)', bareNested, ops);
  const singleOn = await measureOne('Mutex, lockdep on', single(true), ops);
  const nestedOn = await measureOne('Mutex A then B, lockdep on', nested(true), ops);
  const singleAfter = await measureOne('Mutex, lockdep off after it was on', single(false), ops);
  const nestedAfter = await measureOne(
    'Mutex A then B, lockdep off after it was on',
    nested(false),
    ops,
  );
  report(`lockdep: uncontended acquire/release pairs (${count} pairs)`, {
    off: singleOff,
    on: singleOn,
    floor: singleFloor,
    offAfterOn: singleAfter,
  });
  report(`lockdep: nested pairs, hold A and take B (${count} nested pairs)`, {
    off: nestedOff,
    on: nestedOn,
    floor: nestedFloor,
    offAfterOn: nestedAfter,
  });
}

// `npx tsx bench/lockdep.ts` runs this benchmark alone (`BENCH_SCALE` as for `npm run bench`).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchLockdep(Number(process.env.BENCH_SCALE ?? '1'));
}
