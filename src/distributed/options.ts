import type { RateLimit, WorkPoolOptions } from '../pool/options.js';
import type { RetryOptions, TaskContext } from '../pool/job.js';
import { normalizeRetry } from '../pool/retry.js';
import { rateLimit, timeLimit } from '../pool/options.js';
import {
  callable,
  duration,
  integer,
  optionalSignal,
  options,
  nonEmptyString,
} from '../validate.js';
import { connectionOption, type RedisConnection } from './connection.js';
import { bullPriority } from './priority.js';

/** A handler: what a worker process runs for one job of a type (input is plain JSON data). */
export type Handler<I = never, R = unknown> = (
  input: I,
  context: TaskContext,
) => R | PromiseLike<R>;

/** Retry settings that cross processes (no `retryIf`: a function stays in the worker process). */
export type WireRetryOptions = Omit<RetryOptions, 'retryIf'>;

/** Anything the pool can publish its events to: an `EventBus` or a `RedisEventBus`. */
export interface DistributedEventSink {
  publish(topic: string, payload: never): unknown;
}

/** Limits and behaviour of one job type, the same in every process that names it. */
export interface DistributedTypeOptions {
  /** Jobs of this type one worker process runs at once (a positive integer). */
  readonly concurrency: number;
  /**
   * Jobs of this type running at once across every worker process (BullMQ's global
   * concurrency, stored in Redis: the last process to open with it sets it).
   */
  readonly globalConcurrency?: number | undefined;
  /** At most `limit` starts per `intervalMs` across every worker process. */
  readonly rate?: RateLimit | undefined;
  /** Defaults for this type's jobs. */
  readonly defaults?:
    | {
        readonly priority?: number | undefined;
        readonly timeoutMs?: number | undefined;
        readonly retry?: WireRetryOptions | undefined;
      }
    | undefined;
  /**
   * Decides, in the worker process, whether a failed attempt is retried (as
   * `RetryOptions.retryIf`; a `NonRetryableError` or an abort never is).
   */
  readonly retryIf?: ((error: unknown, attempt: number) => boolean) | undefined;
  /**
   * At most `limit` jobs of one `limitKey` (a host) running at once across every process,
   * on a Redis semaphore with leases: a crashed holder's slot is free after `leaseMs`
   * (renewed every third of it while held). A job whose key is full is delayed by
   * `retryDelayMs` without counting an attempt.
   */
  readonly perKey?:
    | {
        readonly limit: number;
        /** @default 30000 */
        readonly leaseMs?: number | undefined;
        /** @default 100 */
        readonly retryDelayMs?: number | undefined;
      }
    | undefined;
}

/** The `types` option: job type name → its limits. */
export type DistributedTypesOptions = { readonly [type: string]: DistributedTypeOptions };

/**
 * Options of {@link DistributedPool.open}. `history`, `abortGraceMs`,
 * `progressIntervalMs` and `random` mean what they mean for `WorkPool` (Redis keeps
 * `history` finished jobs per type and outcome).
 */
export interface DistributedPoolOptions<Types extends DistributedTypesOptions> extends Pick<
  WorkPoolOptions,
  'history' | 'abortGraceMs' | 'progressIntervalMs' | 'random'
> {
  /** Where Redis is. */
  readonly connection: RedisConnection;
  /** The pool's name: the prefix of every key it uses in Redis. @default 'workbus' */
  readonly name?: string | undefined;
  /** The job types and their limits. */
  readonly types: Types;
  /**
   * The handlers this process runs, by type: a process with none only submits. Each
   * worker process registers its own (no closure crosses the wire).
   */
  readonly handlers?: { readonly [K in keyof Types]?: Handler } | undefined;
  /** Where this process publishes the events of what happens in it. */
  readonly bus?: DistributedEventSink | undefined;
  /**
   * A job whose worker stopped renewing its lock (killed, frozen) is taken back after
   * this long and run again, its attempt counted (BullMQ's lock duration and stall check
   * interval). @default 30000
   */
  readonly stalledIntervalMs?: number | undefined;
  /** Aborting it gives up connecting. */
  readonly signal?: AbortSignal | undefined;
}

/** @internal */
export interface NormalizedDistributedType {
  readonly name: string;
  readonly concurrency: number;
  readonly globalConcurrency: number | undefined;
  readonly rate: RateLimit | undefined;
  readonly priority: number;
  readonly timeoutMs: number | undefined;
  readonly retry: { readonly attempts: number; readonly baseMs: number; readonly maxMs: number };
  readonly retryIf: ((error: unknown, attempt: number) => boolean) | undefined;
  readonly perKey:
    { readonly limit: number; readonly leaseMs: number; readonly retryDelayMs: number } | undefined;
  readonly handler: Handler<unknown> | undefined;
}

/** @internal */
export interface NormalizedDistributedOptions {
  readonly connection: RedisConnection;
  readonly name: string;
  readonly types: ReadonlyMap<string, NormalizedDistributedType>;
  readonly history: number;
  readonly bus: DistributedEventSink | undefined;
  readonly abortGraceMs: number;
  readonly progressIntervalMs: number;
  readonly random: () => number;
  readonly stalledIntervalMs: number;
  readonly signal: AbortSignal | undefined;
}

const POOL_KEYS = [
  'connection',
  'name',
  'types',
  'handlers',
  'history',
  'bus',
  'abortGraceMs',
  'progressIntervalMs',
  'random',
  'stalledIntervalMs',
  'signal',
] as const;
const TYPE_KEYS = ['concurrency', 'globalConcurrency', 'rate', 'defaults', 'retryIf', 'perKey'];

/** One attempt, BullMQ's default: `retry` is always set, so every job has a wire shape. */
const NO_RETRY = Object.freeze({ attempts: 1, baseMs: 100, maxMs: 30_000 });

/** @internal Validates every option once into a frozen copy. */
export function normalizeDistributedOptions(
  value: DistributedPoolOptions<DistributedTypesOptions>,
): NormalizedDistributedOptions {
  const o = options('DistributedPool options', value, POOL_KEYS);
  if (typeof o.types !== 'object' || o.types === null || Object.keys(o.types).length === 0) {
    throw new TypeError('types must be an object naming at least one job type');
  }
  const handlers =
    o.handlers === undefined ? {} : (o.handlers as Record<string, Handler<unknown> | undefined>);
  for (const name of Object.keys(handlers)) {
    if (!(name in o.types)) {
      throw new TypeError(`handlers.${name} is for a type that is not in types`);
    }
  }
  const types = new Map<string, NormalizedDistributedType>();
  for (const [name, t] of Object.entries(o.types as Record<string, unknown>)) {
    types.set(name, normalizeType(name, t, handlers[name]));
  }
  if (o.bus !== undefined && typeof (o.bus as { publish?: unknown }).publish !== 'function') {
    throw new TypeError('bus must have a publish(topic, payload) method, such as an EventBus');
  }
  return Object.freeze({
    connection: connectionOption('connection', o.connection),
    name: nonEmptyString('name', o.name ?? 'workbus'),
    types,
    history: integer('history', o.history ?? 100, 0),
    bus: o.bus as DistributedEventSink | undefined,
    abortGraceMs: duration('abortGraceMs', o.abortGraceMs ?? 1000),
    progressIntervalMs: duration('progressIntervalMs', o.progressIntervalMs ?? 100),
    random: o.random === undefined ? Math.random : callable('random', o.random as () => number),
    stalledIntervalMs: duration('stalledIntervalMs', o.stalledIntervalMs ?? 30_000, 1),
    signal: optionalSignal('signal', o.signal),
  });
}

function normalizeType(
  name: string,
  value: unknown,
  handler: Handler<unknown> | undefined,
): NormalizedDistributedType {
  const field = `types.${name}`;
  const t = options(field, value, TYPE_KEYS);
  // BullMQ's limiter takes whole milliseconds.
  const rate = rateLimit(`${field}.rate`, t.rate);
  if (rate !== undefined && !Number.isInteger(rate.intervalMs)) {
    throw new RangeError(
      `${field}.rate.intervalMs must be a whole number of milliseconds, got ${rate.intervalMs}`,
    );
  }
  const d =
    t.defaults === undefined
      ? {}
      : options(`${field}.defaults`, t.defaults, ['priority', 'timeoutMs', 'retry']);
  let perKey: NormalizedDistributedType['perKey'];
  if (t.perKey !== undefined) {
    const p = options(`${field}.perKey`, t.perKey, ['limit', 'leaseMs', 'retryDelayMs']);
    perKey = Object.freeze({
      limit: integer(`${field}.perKey.limit`, p.limit, 1),
      leaseMs: duration(`${field}.perKey.leaseMs`, p.leaseMs ?? 30_000, 1),
      retryDelayMs: duration(`${field}.perKey.retryDelayMs`, p.retryDelayMs ?? 100, 1),
    });
  }
  const priority = d.priority === undefined ? 0 : d.priority;
  bullPriority(`${field}.defaults.priority`, priority);
  return Object.freeze({
    name,
    concurrency: integer(`${field}.concurrency`, t.concurrency, 1),
    globalConcurrency:
      t.globalConcurrency === undefined
        ? undefined
        : integer(`${field}.globalConcurrency`, t.globalConcurrency, 1),
    rate,
    priority: priority as number,
    timeoutMs: timeLimit(`${field}.defaults.timeoutMs`, d.timeoutMs),
    retry: wireRetry(`${field}.defaults.retry`, d.retry) ?? NO_RETRY,
    retryIf:
      t.retryIf === undefined
        ? undefined
        : callable(`${field}.retryIf`, t.retryIf as (error: unknown, attempt: number) => boolean),
    perKey,
    handler: handler === undefined ? undefined : callable(`handlers.${name}`, handler),
  });
}

/** @internal A `retry` option without `retryIf`, which cannot cross processes. */
export function wireRetry(
  field: string,
  value: unknown,
): { readonly attempts: number; readonly baseMs: number; readonly maxMs: number } | undefined {
  if (typeof value === 'object' && value !== null && 'retryIf' in value) {
    throw new TypeError(
      `${field}.retryIf cannot cross processes: give it as the type's retryIf in the worker processes`,
    );
  }
  const retry = normalizeRetry(field, value);
  return retry === undefined
    ? undefined
    : Object.freeze({ attempts: retry.attempts, baseMs: retry.baseMs, maxMs: retry.maxMs });
}
