/**
 * Vitest global setup: the Redis the distributed tests use. `WORKBUS_REDIS_URL` when set
 * (`.ci/run` starts one and sets it; so does a developer's `npm run redis`); otherwise a
 * redis-server started here for this run, when the binary is installed. With neither,
 * nothing starts, and every test that asks for Redis fails saying how to get one
 * (`test/helpers/redis.ts`).
 */
import type { TestProject } from 'vitest/node';
import { hasRedisServer, startRedis, type RedisServer } from '../../scripts/redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The tests' Redis, or '' when none could be found or started. */
    redisUrl: string;
  }
}

let server: RedisServer | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let url = process.env['WORKBUS_REDIS_URL'] ?? '';
  if (url === '' && hasRedisServer()) {
    server = await startRedis();
    url = server.url;
  }
  project.provide('redisUrl', url);
  return async () => {
    await server?.stop();
  };
}
