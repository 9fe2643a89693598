import { Redis, type RedisOptions } from 'ioredis';
import { abortErrorOf, onAbort } from '../abort.js';
import { RedisUnavailableError } from '../errors.js';
import { after } from '../internal/timer.js';

/** Where Redis is: a `redis://` URL, or ioredis options (host, port, password, db, tls…). */
export type RedisConnection = string | RedisOptions;

/**
 * What each of our own connections is for:
 * - `'command'`: requests that must never hang while Redis is down (publish, submit,
 *   cancel, semaphore calls): no offline queue, so a call made while the connection is
 *   down fails at once with `RedisUnavailableError`, and a 5 s command time limit;
 * - `'waiting'`: waits a Redis outage out, as BullMQ's own connections do: commands made
 *   while it is down are queued and sent once it is back. For a reader parked in
 *   `XREAD BLOCK` or a pub/sub subscriber (it reconnects and resends its command), and
 *   for a worker's bookkeeping around a job it holds (cancel flag, per-key lease,
 *   counters), which must not fail the job because Redis blinked.
 * @internal
 */
export type ClientRole = 'command' | 'waiting';

/** @internal Validates a connection option. */
export function connectionOption(field: string, value: unknown): RedisConnection {
  if (typeof value === 'string' && /^rediss?:\/\//.test(value)) return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return value;
  }
  throw new TypeError(
    `${field} must be a redis:// URL or ioredis options, got ${typeof value === 'string' ? JSON.stringify(value) : typeof value}`,
  );
}

/** @internal The options BullMQ's own connections get (it needs `maxRetriesPerRequest: null`). */
export function bullConnection(connection: RedisConnection): RedisOptions {
  const base = typeof connection === 'string' ? urlOptions(connection) : connection;
  return { ...base, maxRetriesPerRequest: null };
}

function urlOptions(url: string): RedisOptions {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname,
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    ...(db === undefined || Number.isNaN(db) ? {} : { db }),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * Opens one of our connections, named `label`, and waits until it is ready.
 * @throws RedisUnavailableError when it cannot connect before `signal` aborts or 10 s pass
 * (the client is closed first); an abort error when `signal` aborts.
 * @internal
 */
export async function openClient(
  connection: RedisConnection,
  role: ClientRole,
  label: string,
  signal?: AbortSignal,
): Promise<Redis> {
  const base = typeof connection === 'string' ? urlOptions(connection) : connection;
  const clientOptions: RedisOptions = {
    ...base,
    lazyConnect: true,
    // Named, so `CLIENT LIST` shows whose connection it is (and that none is left open).
    connectionName: label.replace(/\s/g, '_'),
    // We close a connection only to be done with it: no need to wait for a graceful end.
    disconnectTimeout: 0,
    ...(role === 'command'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 5000 }
      : { maxRetriesPerRequest: null }),
    // Reconnects every 50 ms to 1 s for ever: a Redis restart is waited out, not fatal.
    retryStrategy: (times: number) => Math.min(1000, 50 * times),
  };
  // ioredis 6 types `replyMapping` without `undefined`, which exactOptionalPropertyTypes minds.
  const client = new Redis(clientOptions as RedisOptions & { replyMapping?: never });
  // An error while reconnecting is reported to the waiting command, not as an event.
  client.on('error', noop);
  let timer: { clear(): void } | undefined;
  let detach = noop;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = after(10_000, () =>
          reject(new RedisUnavailableError('Could not connect to Redis within 10 s')),
        );
        if (signal === undefined) return;
        if (signal.aborted) reject(abortErrorOf(signal));
        detach = onAbort(signal, () => reject(abortErrorOf(signal)));
      }),
    ]);
  } catch (error) {
    await closeClient(client);
    throw unavailable(error, 'connect');
  } finally {
    timer?.clear();
    detach();
  }
  return client;
}

/**
 * Closes a connection now (an `XREAD BLOCK` parked on it ends) and resolves once its
 * socket is gone. Idempotent.
 * @internal
 */
export async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  // Between attempts to reconnect there is no socket, only the timer that disconnect()
  // clears, and ioredis emits no 'end' for that case.
  if (client.status === 'reconnecting') {
    client.disconnect(false);
    // ioredis still ends the old (closed) socket under a `disconnectTimeout` timer (0 ms
    // for our connections): let it fire, so closing leaves nothing behind.
    await new Promise<void>((resolve) => after(0, resolve));
    return;
  }
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  client.disconnect(false);
  await ended;
}

/**
 * A Redis client's failure as workbus's error: a connection that is down or a command
 * that timed out become `RedisUnavailableError` (the client's error as `cause`);
 * anything else (an abort, a script's own error) is returned as it is.
 * @internal
 */
export function unavailable(error: unknown, operation: string): unknown {
  if (error instanceof RedisUnavailableError) return error;
  if (error instanceof Error && CONNECTION_ERRORS.test(error.message)) {
    return new RedisUnavailableError(`Redis is unavailable (${operation}): ${error.message}`, {
      cause: error,
    });
  }
  return error;
}

const CONNECTION_ERRORS =
  /writeable|Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Command timed out|max retries|Reached the max retries|connect/i;

function noop(): void {}
