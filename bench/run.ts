/**
 * `npm run bench`: every benchmark, one process, peers measured side by side.
 * `BENCH_SCALE=0.1` shrinks the workloads (for a quick look).
 */
import { benchBridge } from './bridge.js';
import { benchBus } from './bus.js';
import { benchDedup } from './dedup.js';
import { benchDistributed } from './distributed.js';
import { benchFeed } from './feed.js';
import { benchLockdep } from './lockdep.js';
import { benchPool } from './pool.js';
import { benchStore } from './store.js';
import { benchSync } from './sync.js';

const scale = Number(process.env.BENCH_SCALE ?? '1');
if (!(scale > 0))
  throw new RangeError(`BENCH_SCALE must be a positive number, got ${process.env.BENCH_SCALE}`);

console.log(`workbus benchmarks — node ${process.version}, scale ${scale}`);
await benchSync(scale);
await benchBus(scale);
await benchPool(scale);
await benchLockdep(scale);
await benchStore(scale);
await benchDedup(scale);
await benchFeed(scale);
await benchBridge(scale);
await benchDistributed(scale);
