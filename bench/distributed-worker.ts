/**
 * A worker process of `bench/distributed.ts`: `<workbus|bullmq> <redis url> <prefix>`.
 * Runs no-op jobs of type 'noop' (concurrency 8) until killed; prints "ready".
 */
import { Worker } from 'bullmq';
import { DistributedPool } from 'workbus/distributed';

const [mode, url = '', name = ''] = process.argv.slice(2);
if (mode === 'bullmq') {
  const worker = new Worker('noop', () => Promise.resolve(null), {
    connection: { url, maxRetriesPerRequest: null },
    prefix: name,
    concurrency: 8,
  });
  await worker.waitUntilReady();
} else {
  await DistributedPool.open({
    connection: url,
    name,
    types: { noop: { concurrency: 8 } },
    handlers: { noop: () => null },
  });
}
console.log('ready');
