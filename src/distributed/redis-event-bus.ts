import type { Redis } from 'ioredis';
import { onAbort, sleep, throwIfAborted } from '../abort.js';
import type { Envelope, EnvelopeOf, Topic } from '../bus/envelope.js';
import type { AllTopics, SubscribeOptions } from '../bus/event-bus.js';
import {
  Subscription,
  type SubscriberWhenFull,
  type SubscriptionPort,
} from '../bus/subscription.js';
import { ClosedError, SubscriberLimitError } from '../errors.js';
import {
  integer,
  oneOf,
  optionalSignal,
  options as checkOptions,
  nonEmptyString,
} from '../validate.js';
import {
  closeClient,
  connectionOption,
  openClient,
  unavailable,
  type RedisConnection,
} from './connection.js';

/** Options of {@link RedisEventBus.open}. */
export interface RedisEventBusOptions {
  /** Where Redis is. */
  readonly connection: RedisConnection;
  /**
   * The bus's name: its stream is the key `<name>`, its sequence counter `<name>:seq`.
   * Processes that open a bus of the same name on the same Redis share it.
   * @default 'workbus:bus'
   */
  readonly name?: string | undefined;
  /**
   * Events the stream keeps (`XADD … MAXLEN ~`): the history a reconnecting subscriber
   * can replay, shared by every process. Trimming is approximate (Redis trims whole
   * nodes), so a few more may be kept.
   * @default 10000
   */
  readonly maxLen?: number | undefined;
  /**
   * Most subscriptions open at once in this process (each holds a Redis connection of
   * its own for its blocking reads). @default 64
   */
  readonly maxSubscribers?: number | undefined;
  /** Aborting it gives up connecting. */
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link RedisEventBus.subscribe}. */
export interface RedisSubscribeOptions extends SubscribeOptions {
  /**
   * The last `seq` this subscriber saw (of any topic): it receives what came after it
   * that the stream still holds, then new events; what was trimmed meanwhile is counted
   * in {@link StreamSubscription.missed}. Without it, it receives what is published after
   * `subscribe` resolves.
   */
  readonly after?: number | undefined;
}

const BUS_OPTIONS = ['connection', 'name', 'maxLen', 'maxSubscribers', 'signal'] as const;
const SUBSCRIBE_OPTIONS = ['buffer', 'whenFull', 'signal', 'after'] as const;
const POLICIES: readonly SubscriberWhenFull[] = ['drop-oldest', 'drop-newest', 'close'];
/** Entries read per XREAD: bounds one read's memory, not the subscriber's buffer. */
const READ_COUNT = 256;

/**
 * One step, so sequence numbers and stream ids agree: the counter's next value is the
 * entry's id (`<seq>-0`), and ids only grow. `at` is the publisher's clock.
 */
const PUBLISH = `
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], seq .. '-0', 't', ARGV[2], 'p', ARGV[3], 'a', ARGV[4])
return seq`;

/**
 * A subscription to a {@link RedisEventBus}: the in-process `Subscription` (bounded
 * buffer, `whenFull` policy, stats, `closedReason`), fed by its own reader of the stream.
 */
export class StreamSubscription<E extends Envelope = Envelope> extends Subscription<E> {
  #missed = 0;
  #last = 0;

  /**
   * Events (of any topic) this subscriber can never receive because the stream had
   * trimmed them before it read them: after a reconnect with `after`, or while its
   * reader was more than `maxLen` events behind. Sequence numbers have no holes, so a jump
   * is exactly the count.
   */
  get missed(): number {
    return this.#missed;
  }

  /** The last `seq` read from the stream (of any topic): pass it as `after` to resume. */
  get lastSeq(): number {
    return this.#last;
  }

  /** @internal */
  _advance(seq: number): void {
    if (seq > this.#last + 1) this.#missed += seq - this.#last - 1;
    this.#last = seq;
  }

  /** @internal The starting point: `after`, with what was trimmed before the first read. */
  _start(last: number, missed: number): void {
    this.#last = last;
    this.#missed = missed;
  }
}

/**
 * The `EventBus` contract across processes, on one Redis stream.
 *
 * - **`publish` never waits on a subscriber**: it is one `XADD` with `MAXLEN ~` (the
 *   stream is the bounded history every process shares), acknowledged by Redis alone.
 *   It returns a promise of the event's `seq` — the one departure from the in-process
 *   bus, whose `publish` is synchronous: across processes, an event exists once Redis
 *   has it.
 * - **`seq` is bus-wide** (one counter in Redis, for every publishing process), so every
 *   subscriber sees events in `seq` order, per topic and across topics.
 * - **Subscribers in any process** read the stream with their own connection and fill
 *   the same bounded buffer as the in-process bus, with the same `whenFull` policies: a
 *   consumer that never reads drops or is closed (`'slow-consumer'`), and Redis never
 *   holds more than `maxLen` events for it.
 * - **Resuming**: `subscribe(topics, { after: lastSeq })` replays what the stream still
 *   holds after `lastSeq` and counts in `missed` what it no longer does.
 * - Payloads cross as JSON: plain data (a `Date` arrives as its ISO string).
 *
 * Not carried over: synchronous `on` listeners (a remote event arrives asynchronously;
 * iterate a subscription instead), and the in-process rule that a subscriber added
 * during a dispatch misses the current event (there is no dispatch across processes).
 * A Redis that loses its data (restarted without persistence) restarts the sequence:
 * subscribers resuming with an older `after` see nothing until it passes their `seq`.
 *
 * @example
 * ```ts
 * const bus = await RedisEventBus.open<{ 'feed.updated': { url: string } }>({
 *   connection: url,
 *   name: `${name}:bus`,
 * });
 * const updates = await bus.subscribe(['feed.updated'], { buffer: 64 });
 * await bus.publish('feed.updated', { url: 'https://example.org/feed.xml' });
 * for await (const { payload, seq } of updates) {
 *   log(`${seq} ${payload.url}`);
 *   break; // leaving the loop unsubscribes
 * }
 * await bus.close();
 * ```
 */
export class RedisEventBus<Events extends object> {
  /** The stream's key. */
  readonly name: string;
  /** Events the stream keeps. */
  readonly maxLen: number;
  /** Most subscriptions open at once in this process. */
  readonly maxSubscribers: number;
  readonly #connection: RedisConnection;
  readonly #client: Redis;
  readonly #subscriptions = new Set<Pick<SubscriptionPort<never>, 'end'>>();
  readonly #readers = new Set<Promise<void>>();
  #closing: Promise<void> | undefined;

  private constructor(
    connection: RedisConnection,
    client: Redis,
    name: string,
    maxLen: number,
    maxSubscribers: number,
  ) {
    this.#connection = connection;
    this.#client = client;
    this.name = name;
    this.maxLen = maxLen;
    this.maxSubscribers = maxSubscribers;
    client.defineCommand('workbusPublish', { numberOfKeys: 2, lua: PUBLISH });
  }

  /**
   * Connects to Redis. Waits until connected.
   * @throws RedisUnavailableError when Redis cannot be reached within 10 s; an abort
   * error when `signal` aborts; TypeError/RangeError for bad options.
   */
  static async open<Events extends object>(
    options: RedisEventBusOptions,
  ): Promise<RedisEventBus<Events>> {
    const o = checkOptions('RedisEventBus options', options, BUS_OPTIONS);
    const connection = connectionOption('connection', o['connection']);
    const name = nonEmptyString('name', o['name'] ?? 'workbus:bus');
    const maxLen = integer('maxLen', o['maxLen'] ?? 10_000, 1);
    const maxSubscribers = integer('maxSubscribers', o['maxSubscribers'] ?? 64, 1);
    const signal = optionalSignal('signal', o['signal']);
    throwIfAborted(signal);
    const client = await openClient(connection, 'command', name, signal);
    return new RedisEventBus<Events>(connection, client, name, maxLen, maxSubscribers);
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Subscriptions open in this process. */
  get subscriberCount(): number {
    return this.#subscriptions.size;
  }

  /**
   * Appends an event to the stream. Waits for Redis's acknowledgement only, never for a
   * subscriber.
   * @returns the event's `seq`.
   * @throws ClosedError after `close()`; RedisUnavailableError when Redis cannot be
   * reached (at once while the connection is down, never hanging; the event may or may
   * not have been appended); TypeError for a bad topic or a payload JSON cannot encode.
   */
  async publish<K extends Topic<Events>>(topic: K, payload: Events[K]): Promise<number> {
    if (typeof topic !== 'string' || topic === '' || topic === '*') {
      throw new TypeError(`topic must be a non-empty string other than '*', got ${String(topic)}`);
    }
    if (this.closed) throw new ClosedError(`RedisEventBus is closed; cannot publish "${topic}"`);
    const json = JSON.stringify(payload) ?? 'null';
    try {
      const seq = await (this.#client as RedisWithPublish).workbusPublish(
        this.name,
        `${this.name}:seq`,
        this.maxLen,
        topic,
        json,
        Date.now(),
      );
      return Number(seq);
    } catch (error) {
      throw unavailable(error, `publish "${topic}"`);
    }
  }

  /**
   * Subscribes to some topics (or `'*'`) through a bounded buffer, as
   * `EventBus.subscribe`. Waits until its starting point in the stream is fixed: it
   * receives every event published after it resolves (or after `options.after`).
   * @throws ClosedError after `close()`; SubscriberLimitError at `maxSubscribers`;
   * RedisUnavailableError when Redis cannot be reached; an abort error if `signal` has
   * aborted; TypeError/RangeError for bad topics or options.
   */
  subscribe<K extends Topic<Events>>(
    topics: K | readonly K[],
    options?: RedisSubscribeOptions,
  ): Promise<StreamSubscription<EnvelopeOf<Events, K>>>;
  subscribe(
    topics: AllTopics,
    options?: RedisSubscribeOptions,
  ): Promise<StreamSubscription<EnvelopeOf<Events>>>;
  async subscribe(
    topics: string | readonly string[],
    options: RedisSubscribeOptions = {},
  ): Promise<StreamSubscription<EnvelopeOf<Events>>> {
    const wanted = topicSet(topics);
    const given = checkOptions('subscribe options', options, SUBSCRIBE_OPTIONS);
    const capacity = integer('buffer', given['buffer'] ?? 256, 1, 2 ** 32 - 1);
    const whenFull = oneOf('whenFull', given['whenFull'] ?? 'drop-oldest', POLICIES);
    const signal = optionalSignal('signal', given['signal']);
    const after = given['after'] === undefined ? undefined : integer('after', given['after'], 0);
    this.#checkOpen();
    if (this.#subscriptions.size >= this.maxSubscribers) {
      throw new SubscriberLimitError(
        `RedisEventBus has ${this.#subscriptions.size} subscriptions, its maxSubscribers; close some or raise the limit`,
      );
    }
    throwIfAborted(signal);
    const reader = await openClient(this.#connection, 'waiting', this.name, signal);
    let start: { last: number; missed: number };
    try {
      start = await this.#startingPoint(after);
    } catch (error) {
      await closeClient(reader);
      throw unavailable(error, 'subscribe');
    }
    if (this.closed || signal?.aborted === true) {
      await closeClient(reader);
      this.#checkOpen();
      throwIfAborted(signal);
    }
    type E = EnvelopeOf<Events>;
    let port!: SubscriptionPort<E>;
    const stop = new AbortController();
    const subscription = new StreamSubscription<E>({ capacity, whenFull }, (p) => {
      port = p;
      this.#subscriptions.add(p);
      const detachSignal = onAbort(signal, () => p.end('aborted'));
      return () => {
        detachSignal();
        this.#subscriptions.delete(p);
        stop.abort();
        // Ends the XREAD parked on it; the loop sees `stop` and returns.
        void closeClient(reader);
      };
    });
    subscription._start(start.last, start.missed);
    const loop = this.#read(reader, wanted, subscription, port, stop.signal).finally(() =>
      closeClient(reader),
    );
    this.#readers.add(loop);
    void loop.finally(() => this.#readers.delete(loop));
    return subscription;
  }

  /**
   * Closes the bus: `publish` and `subscribe` throw `ClosedError`; every subscription
   * ends with `'bus-closed'` (its consumer drains what it holds); resolves once every
   * connection of this bus is closed. Idempotent (a second call returns the same promise).
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const port of [...this.#subscriptions]) port.end('bus-closed');
      await Promise.allSettled([...this.#readers]);
      await closeClient(this.#client);
    })();
    return this.#closing;
  }

  /** Lifecycle component stop: `close()`. */
  stop(): Promise<void> {
    return this.close();
  }

  async #startingPoint(after: number | undefined): Promise<{ last: number; missed: number }> {
    const current = Number((await this.#client.get(`${this.name}:seq`)) ?? 0);
    if (after === undefined || after >= current) return { last: after ?? current, missed: 0 };
    const oldest = await this.#client.xrange(this.name, '-', '+', 'COUNT', 1);
    // What was trimmed is counted here and skipped, so the first read counts no jump.
    const first = oldest[0] === undefined ? current + 1 : seqOf(oldest[0][0]);
    const missed = Math.max(0, first - after - 1);
    return { last: after + missed, missed };
  }

  async #read(
    reader: Redis,
    wanted: ReadonlySet<string> | undefined,
    subscription: StreamSubscription<EnvelopeOf<Events>>,
    port: SubscriptionPort<EnvelopeOf<Events>>,
    stop: AbortSignal,
  ): Promise<void> {
    while (!stop.aborted) {
      let batch: [string, string[]][];
      try {
        const reply = await reader.xread(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          0,
          'STREAMS',
          this.name,
          `${subscription.lastSeq}-0`,
        );
        batch = reply?.[0]?.[1] ?? [];
      } catch {
        // Redis is down or restarting: the reader reconnects on its own; try again soon.
        if (stop.aborted) return;
        await sleep(100, { signal: stop }).catch(noop);
        continue;
      }
      for (const [id, fields] of batch) {
        const seq = seqOf(id);
        subscription._advance(seq);
        const envelope = decode(fields, seq);
        if (envelope !== undefined && (wanted === undefined || wanted.has(envelope.topic))) {
          port.deliver(envelope as EnvelopeOf<Events>);
        }
      }
    }
  }

  #checkOpen(): void {
    if (this.closed) throw new ClosedError('RedisEventBus is closed; cannot subscribe');
  }
}

type RedisWithPublish = Redis & {
  workbusPublish(
    stream: string,
    seqKey: string,
    maxLen: number,
    topic: string,
    payload: string,
    at: number,
  ): Promise<number>;
};

function seqOf(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/** A stream entry as an envelope; one this bus did not write is skipped. */
function decode(fields: string[], seq: number): Envelope | undefined {
  let topic: string | undefined;
  let payload: string | undefined;
  let at = 0;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1] as string;
    if (fields[i] === 't') topic = value;
    else if (fields[i] === 'p') payload = value;
    else if (fields[i] === 'a') at = Number(value);
  }
  if (topic === undefined || payload === undefined) return undefined;
  try {
    return { topic, payload: JSON.parse(payload) as unknown, seq, at };
  } catch {
    return undefined;
  }
}

function topicSet(topics: unknown): ReadonlySet<string> | undefined {
  if (topics === '*') return undefined;
  const list: unknown[] =
    typeof topics === 'string' ? [topics] : Array.isArray(topics) ? topics : [];
  if (list.length === 0 || !list.every((t) => typeof t === 'string' && t !== '' && t !== '*')) {
    throw new TypeError(
      `topics must be '*', a topic name, or a non-empty array of topic names, got ${JSON.stringify(topics)}`,
    );
  }
  return new Set(list as string[]);
}

function noop(): void {}
