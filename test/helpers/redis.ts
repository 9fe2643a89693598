/**
 * The tests' Redis (see `redis-setup.ts`) and one key prefix per test file, so that files
 * running in parallel never see each other's keys.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { HOW_TO_GET_REDIS } from '../../scripts/redis.js';

/**
 * The Redis URL for this run.
 * @throws Error saying how to get a Redis when there is none (a test needing it fails, never skips).
 */
export function redisUrl(): string {
  const url = inject('redisUrl');
  if (url === '') throw new Error(`No Redis for this test run. ${HOW_TO_GET_REDIS}`);
  return url;
}

/** A key prefix no other test file (or run) uses: `wbt:<name>:<random>`. */
export function testPrefix(name: string): string {
  return `wbt:${name}:${randomBytes(4).toString('hex')}`;
}
