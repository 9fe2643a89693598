/**
 * Scaling out (`workbus/distributed`): the event bus on a Redis stream and the work pool
 * on BullMQ, in one process here (each pool and bus holds its own connections, as
 * another process would). The TSDoc examples of `src/distributed/` and the README's
 * "Scaling out" code are copied from here; `test/examples.test.ts` runs it against the
 * tests' Redis.
 */
import { DistributedPool, RedisEventBus } from 'workbus/distributed';

export async function scalingOut(
  url: string,
  name: string,
  log: (line: string) => void = console.log,
): Promise<void> {
  const bus = await RedisEventBus.open<{ 'feed.updated': { url: string } }>({
    connection: url,
    name: `${name}:bus`,
  });
  const updates = await bus.subscribe(['feed.updated'], { buffer: 64 });
  await bus.publish('feed.updated', { url: 'https://example.org/feed.xml' });
  for await (const { payload, seq } of updates) {
    log(`${seq} ${payload.url}`);
    break; // leaving the loop unsubscribes
  }
  await bus.close();

  // Every process opens the pool with the same types; a worker process adds handlers.
  const types = { measure: { concurrency: 4, globalConcurrency: 8 } };
  const worker = await DistributedPool.open({
    connection: url,
    name,
    types,
    handlers: { measure: (text: string, { signal }) => (signal.aborted ? 0 : text.length) },
  });
  const producer = await DistributedPool.open({ connection: url, name, types });
  const length = await producer.run('measure', 'hello', { priority: 5 });
  log(`measured ${String(length)}`);
  await producer.close();
  await worker.close();
}
