import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { after, type Timer } from '../internal/timer.js';
import { unavailable } from './connection.js';

/**
 * Holders of one key are a sorted set of (lease expiry, token), on Redis's clock so that
 * every process agrees. Expired leases are dropped before counting: a holder that died
 * (kill -9, a lost machine) frees its slot when its lease runs out, never later.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;

/** Extends a lease that is still held; 0 when it expired (its slot may be someone else's now). */
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not expiry or tonumber(expiry) <= now then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

type ScriptClient = Redis & {
  workbusSemAcquire(key: string, limit: number, leaseMs: number, token: string): Promise<number>;
  workbusSemRenew(key: string, leaseMs: number, token: string): Promise<number>;
};

/** One held slot. */
export interface Lease {
  /** The key it holds a slot of. */
  readonly key: string;
  /** Gives the slot back (renewals stop). Idempotent; a failure to reach Redis is left to the lease's expiry. */
  release(): Promise<void>;
}

/**
 * `limit` holders per key across every process sharing a Redis: the per-host politeness
 * of a fetcher spread over several processes (BullMQ's group limits are in its paid
 * edition only). Each slot is a lease of `leaseMs`, renewed every third of it while held,
 * so a crashed holder's slot comes back after at most `leaseMs`.
 *
 * There is no waiting queue across processes: `tryAcquire` answers at once, and the
 * distributed pool delays a job whose key is full rather than parking a worker on it.
 * @internal Used by the distributed pool's `perKey` type option.
 */
export class RedisKeyedSemaphore {
  readonly #client: ScriptClient;
  readonly #prefix: string;
  readonly #limit: number;
  readonly #leaseMs: number;

  constructor(client: Redis, prefix: string, limit: number, leaseMs: number) {
    client.defineCommand('workbusSemAcquire', { numberOfKeys: 1, lua: ACQUIRE });
    client.defineCommand('workbusSemRenew', { numberOfKeys: 1, lua: RENEW });
    this.#client = client as ScriptClient;
    this.#prefix = prefix;
    this.#limit = limit;
    this.#leaseMs = leaseMs;
  }

  /**
   * Takes a slot of `key` if one is free now.
   * @returns the lease, or `undefined` when `limit` holders have live leases.
   * @throws RedisUnavailableError when Redis cannot be reached.
   */
  async tryAcquire(key: string): Promise<Lease | undefined> {
    const redisKey = `${this.#prefix}${key}`;
    const token = randomUUID();
    let got: number;
    try {
      got = await this.#client.workbusSemAcquire(redisKey, this.#limit, this.#leaseMs, token);
    } catch (error) {
      throw unavailable(error, `acquire a slot of "${key}"`);
    }
    if (got !== 1) return undefined;
    return this.#lease(key, redisKey, token);
  }

  /** Holders of `key` with live leases now. */
  async holders(key: string): Promise<number> {
    const redisKey = `${this.#prefix}${key}`;
    const [seconds, micros] = await this.#client.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    return this.#client.zcount(redisKey, `(${now}`, '+inf');
  }

  #lease(key: string, redisKey: string, token: string): Lease {
    let timer: Timer | undefined;
    let released = false;
    const renew = (): void => {
      timer = after(Math.max(1, Math.floor(this.#leaseMs / 3)), () => {
        void this.#client.workbusSemRenew(redisKey, this.#leaseMs, token).then(
          (held) => {
            if (held === 1 && !released) renew();
          },
          // Redis unreachable: try again at the next third; the lease may expire meanwhile.
          () => {
            if (!released) renew();
          },
        );
      });
    };
    renew();
    return {
      key,
      release: async () => {
        if (released) return;
        released = true;
        timer?.clear();
        await this.#client.zrem(redisKey, token).catch(noop);
      },
    };
  }
}

function noop(): void {}
