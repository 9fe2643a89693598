/**
 * The tests' Redis (see `redis-setup.ts`) and one key prefix per test file, so that files
 * running in parallel never see each other's keys.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, inject } from 'vitest';
import { closeClient, openClient } from '../../src/distributed/connection.js';
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

/**
 * A connection for a test file's own checks (`CLIENT LIST`, counters), opened before its
 * tests; after them, every key under `prefix` is deleted and the connection closed.
 * @returns a getter for the connection.
 */
export function redisAdmin(prefix: string): () => Redis {
  let admin: Redis | undefined;
  beforeAll(async () => {
    admin = await openClient(redisUrl(), 'command', `${prefix}:admin`);
  });
  afterAll(async () => {
    if (admin === undefined) return;
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await closeClient(admin);
  });
  return () => {
    if (admin === undefined) throw new Error('redisAdmin(): used outside a test');
    return admin;
  };
}
