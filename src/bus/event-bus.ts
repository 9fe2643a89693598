import { onAbort, throwIfAborted } from '../abort.js';
import { ClosedError, SubscriberLimitError } from '../errors.js';
import { enabled as lockdepOn, runInOwnFlow } from '../sync/lockdep.js';
import { callable, integer, oneOf, optionalSignal, options as checkOptions } from '../validate.js';
import type { Envelope, EnvelopeOf, Topic } from './envelope.js';
import {
  Subscription,
  type SubscriberWhenFull,
  type SubscriptionPort,
  type SubscriptionStats,
} from './subscription.js';

/** Every topic: `subscribe('*')` and `on('*', …)`. */
export type AllTopics = '*';

const SUBSCRIBER_POLICIES: readonly SubscriberWhenFull[] = ['drop-oldest', 'drop-newest', 'close'];

const BUS_OPTIONS = ['maxSubscribers', 'onError'] as const;
const SUBSCRIBE_OPTIONS = ['buffer', 'whenFull', 'signal'] as const;

/** Options of {@link EventBus}. */
export interface EventBusOptions {
  /**
   * Most subscriptions plus `on` listeners at once; one more throws
   * `SubscriberLimitError`. Catches subscription leaks early. `Infinity` for no limit.
   * @default 1024
   */
  readonly maxSubscribers?: number | undefined;
  /**
   * Called with the error and the envelope when an `on` listener throws. The other
   * listeners still get the event. If it throws itself, that error is logged.
   * @default logs with console.error
   */
  readonly onError?: ((error: unknown, envelope: Envelope) => void) | undefined;
}

/** Options of {@link EventBus.subscribe}. */
export interface SubscribeOptions {
  /** Envelopes buffered for this subscriber. @default 256 */
  readonly buffer?: number | undefined;
  /** What happens when the buffer is full. @default 'drop-oldest' */
  readonly whenFull?: SubscriberWhenFull | undefined;
  /** Aborting it unsubscribes (`closedReason: 'aborted'`). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * One registration: called with events of `seq` above `since` (who receives an event is
 * fixed when it is published). A record, not a wrapping closure: the dispatch loop calls
 * an `on` listener's `call`, or a subscription's `port`, itself, one call per delivery.
 * The two are called from two sites, so V8 sees one kind of callee at each: a site that
 * called both ran `on` listeners a third slower once any subscription had been fed
 * (measured in bench/bus.ts: 0.65× eventemitter3, against 1.0× without subscriptions).
 */
interface Listener {
  readonly since: number;
  readonly call: ((payload: unknown, envelope: Envelope) => void) | undefined;
  readonly port: SubscriptionPort<Envelope> | undefined;
}

/** One subscription as {@link EventBus.subscribers} lists it: plain, frozen data. */
export interface SubscriberView extends SubscriptionStats {
  /** The topics it listens to; `['*']` for every topic. */
  readonly topics: readonly string[];
  /** Its buffer size. */
  readonly buffer: number;
  readonly whenFull: SubscriberWhenFull;
}

/** What the bus keeps of a subscription to list it. */
interface Subscriber {
  readonly port: Pick<SubscriptionPort<never>, 'end' | 'stats'>;
  readonly topics: readonly string[];
  readonly buffer: number;
  readonly whenFull: SubscriberWhenFull;
}

/** No listeners: shared, never written (lists are replaced, not changed). */
const NONE: readonly Listener[] = Object.freeze([]);

/**
 * A typed publish/subscribe bus. `Events` maps each topic to its payload type.
 *
 * Delivery rules:
 * - `publish` is synchronous, never waits, and never throws because of a subscriber:
 *   a throwing `on` listener goes to `onError` and the rest still run; a slow
 *   subscription drops or closes by its own policy.
 * - Who receives an event is fixed when it is published: a subscriber added later
 *   (even during its dispatch) does not get it (each subscriber remembers the last
 *   `seq` published before it joined); an `on` listener removed during dispatch still
 *   gets the current event if it listens to the same topic (as with Node's
 *   EventEmitter; the `'*'` fan-out runs after the topic's), while an ended
 *   subscription buffers nothing more.
 * - A publish made from inside a listener is dispatched after the current event has
 *   reached everyone, so every subscriber sees events in `seq` order.
 * - The bus owns subscriber buffers and closes them; subscribers only unsubscribe.
 */
export class EventBus<Events extends object> {
  /** Most subscriptions plus listeners at once. */
  readonly maxSubscribers: number;
  /**
   * Listeners by topic, and of every topic. Each list is replaced on every change, never
   * changed in place, so a dispatch walks the list as it was when it began.
   */
  readonly #byTopic = new Map<string, readonly Listener[]>();
  #any: readonly Listener[] = NONE;
  readonly #onError: (error: unknown, envelope: Envelope) => void;
  readonly #subscriptions = new Set<Subscriber>();
  #listeners = 0;
  #seq = 0;
  #closed = false;
  #dispatching = false;
  readonly #deferred: Envelope[] = [];

  /**
   * @throws TypeError/RangeError naming `maxSubscribers` or `onError` when invalid;
   * TypeError for options that are not an object, an unknown option or a `null` one.
   */
  constructor(options: EventBusOptions = {}) {
    const given = checkOptions('EventBus options', options, BUS_OPTIONS);
    const max = given['maxSubscribers'] ?? 1024;
    this.maxSubscribers =
      max === Number.POSITIVE_INFINITY ? max : integer('maxSubscribers', max, 1);
    this.#onError = options.onError === undefined ? logError : callable('onError', options.onError);
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The `seq` of the last event published (0 before any): a reader that saw up to `seq`
   * s has missed `bus.seq − s` events since, on every topic.
   */
  get seq(): number {
    return this.#seq;
  }

  /** Subscriptions plus `on` listeners now attached. */
  get subscriberCount(): number {
    return this.#subscriptions.size + this.#listeners;
  }

  /**
   * The subscriptions now attached, oldest first, each with its topics, buffer policy and
   * counters (how many events it dropped, how many wait in its buffer): who is slow, seen
   * from outside. `on` listeners have no buffer and are only counted in
   * {@link EventBus.subscriberCount}. A copy of this instant.
   */
  subscribers(): readonly SubscriberView[] {
    return Object.freeze(
      [...this.#subscriptions].map(({ port, topics, buffer, whenFull }) =>
        Object.freeze({ topics, buffer, whenFull, ...port.stats() }),
      ),
    );
  }

  /**
   * Publishes `payload` on `topic` to every current subscriber and listener. Never waits.
   * @returns how many subscriptions and listeners it was offered to.
   * @throws ClosedError after `close()`; TypeError for a topic that is not a non-empty
   * string other than `'*'`.
   */
  publish<K extends Topic<Events>>(topic: K, payload: Events[K]): number {
    if (typeof topic !== 'string' || topic === '' || topic === '*') {
      throw new TypeError(
        `topic must be a non-empty string other than '*', got ${describeTopics(topic)}`,
      );
    }
    if (this.#closed) throw new ClosedError(`EventBus is closed; cannot publish "${topic}"`);
    const seq = ++this.#seq;
    // Only '*' listeners (a common shape): no lookup by topic.
    const listeners = this.#byTopic.size === 0 ? undefined : this.#byTopic.get(topic);
    const receivers = (listeners === undefined ? 0 : listeners.length) + this.#any.length;
    // Nobody listens: no envelope, no clock read.
    if (receivers === 0) return 0;
    // Not frozen at run time: the type is readonly, and freezing doubled publish cost.
    const envelope: Envelope = { topic, payload, seq, at: Date.now() };
    if (this.#dispatching) {
      this.#deferred.push(envelope);
      return receivers;
    }
    this.#dispatching = true;
    try {
      this.#dispatch(envelope, listeners);
      if (this.#deferred.length > 0) this.#dispatchDeferred();
    } finally {
      this.#dispatching = false;
    }
    return receivers;
  }

  /**
   * Calls `listener` synchronously for each event on `topic` (or every topic, `'*'`).
   * A throwing listener is reported to `onError`; the others still run.
   * @returns the function that removes the listener (idempotent).
   * @throws ClosedError after `close()`; SubscriberLimitError at `maxSubscribers`;
   * TypeError for a topic that is not `'*'` or a non-empty string, or a listener that is
   * not a function.
   */
  on<K extends Topic<Events>>(
    topic: K,
    listener: (payload: Events[K], envelope: EnvelopeOf<Events, K>) => void,
  ): () => void;
  on(
    topic: AllTopics,
    listener: (payload: Events[Topic<Events>], envelope: EnvelopeOf<Events>) => void,
  ): () => void;
  on(topic: string, listener: (payload: never, envelope: never) => void): () => void {
    if (typeof topic !== 'string' || topic === '') {
      throw new TypeError(`topic must be '*' or a topic name, got ${describeTopics(topic)}`);
    }
    callable('listener', listener);
    this.#checkOpen('on');
    this.#checkRoom();
    const registration: Listener = {
      since: this.#seq,
      call: listener as (payload: unknown, envelope: Envelope) => void,
      port: undefined,
    };
    const key = topic === '*' ? ANY : topic;
    this.#attach(key, registration);
    this.#listeners++;
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      if (this.#closed) return;
      this.#detach(key, registration);
      this.#listeners--;
    };
  }

  /**
   * Subscribes to some topics (or `'*'`, every topic) through a bounded buffer.
   * Never blocks the publisher: a full buffer drops (`'drop-oldest'`, `'drop-newest'`)
   * or ends the subscription (`'close'` → `closedReason: 'slow-consumer'`).
   * @throws ClosedError after `close()`; SubscriberLimitError at `maxSubscribers`;
   * an abort error if `signal` has already aborted; TypeError/RangeError for bad topics or
   * options (an unknown or `null` option included).
   * @example
   * ```ts
   * const updates = bus.subscribe(['feed.updated'], { buffer: 64, whenFull: 'drop-oldest' });
   * bus.publish('feed.updated', { url, newItems: 2 });
   * bus.close(); // the loop below drains what the subscription holds, then ends
   * for await (const { payload } of updates) log(`${payload.url}: ${payload.newItems} new`);
   * ```
   */
  subscribe<K extends Topic<Events>>(
    topics: K | readonly K[],
    options?: SubscribeOptions,
  ): Subscription<EnvelopeOf<Events, K>>;
  subscribe(topics: AllTopics, options?: SubscribeOptions): Subscription<EnvelopeOf<Events>>;
  subscribe(
    topics: Topic<Events> | readonly Topic<Events>[] | AllTopics,
    options?: SubscribeOptions,
  ): Subscription<EnvelopeOf<Events>>;
  subscribe(
    topics: string | readonly string[],
    options: SubscribeOptions = {},
  ): Subscription<EnvelopeOf<Events>> {
    const keys = topicKeys(topics);
    const named = Object.freeze(keys.map((key) => (typeof key === 'symbol' ? '*' : key)));
    const given = checkOptions('subscribe options', options, SUBSCRIBE_OPTIONS);
    const capacity = integer('buffer', given['buffer'] ?? 256, 1, 2 ** 32 - 1);
    const whenFull = oneOf('whenFull', given['whenFull'] ?? 'drop-oldest', SUBSCRIBER_POLICIES);
    const signal = optionalSignal('signal', given['signal']);
    this.#checkOpen('subscribe');
    this.#checkRoom();
    throwIfAborted(signal);
    type E = EnvelopeOf<Events>;
    return new Subscription<E>({ capacity, whenFull }, (port) => {
      const deliver: Listener = { since: this.#seq, call: undefined, port };
      for (const key of keys) this.#attach(key, deliver);
      const subscriber: Subscriber = { port, topics: named, buffer: capacity, whenFull };
      this.#subscriptions.add(subscriber);
      const detachSignal = onAbort(signal, () => port.end('aborted'));
      return () => {
        detachSignal();
        if (this.#closed) return;
        for (const key of keys) this.#detach(key, deliver);
        this.#subscriptions.delete(subscriber);
      };
    });
  }

  /**
   * Closes the bus: further `publish`, `on` and `subscribe` throw `ClosedError`; every
   * listener is removed; every subscription ends with `'bus-closed'` after its consumer
   * drains what it already holds. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#byTopic.clear();
    this.#any = NONE;
    this.#listeners = 0;
    const subscribers = [...this.#subscriptions];
    this.#subscriptions.clear();
    for (const { port } of subscribers) port.end('bus-closed');
  }

  /** Lifecycle component stop: `close()` (subscriptions drain, then end). */
  stop(): void {
    this.close();
  }

  /**
   * The topic's listeners (as they were when it was published) first, then those of
   * every topic (looked up after the first ran).
   */
  #dispatch(envelope: Envelope, listeners: readonly Listener[] | undefined): void {
    if (listeners !== undefined) this.#deliver(listeners, envelope);
    this.#deliver(this.#any, envelope);
  }

  /**
   * A throwing listener is reported, and the next one called: one `try` around the loop,
   * re-entered after a throw, rather than one per call.
   */
  #deliver(listeners: readonly Listener[], envelope: Envelope): void {
    const { seq, payload } = envelope;
    let i = 0;
    while (i < listeners.length) {
      try {
        for (; i < listeners.length; i++) {
          const listener = listeners[i] as Listener;
          if (seq <= listener.since) continue;
          const call = listener.call;
          // A port only buffers the envelope: no listener code runs, so no flow of its own.
          if (call === undefined) listener.port?.deliver(envelope);
          else if (lockdepOn) callInOwnFlow(call, envelope);
          else call(payload, envelope);
        }
      } catch (error) {
        i++;
        this.#report(error, envelope);
      }
    }
  }

  /** Events published by listeners during a dispatch, in order (more may join meanwhile). */
  #dispatchDeferred(): void {
    const deferred = this.#deferred;
    try {
      for (let i = 0; i < deferred.length; i++) {
        const envelope = deferred[i] as Envelope;
        this.#dispatch(envelope, this.#byTopic.get(envelope.topic));
      }
    } finally {
      deferred.length = 0;
    }
  }

  #attach(key: TopicKey, listener: Listener): void {
    if (key === ANY) this.#any = [...this.#any, listener];
    else this.#byTopic.set(key, [...(this.#byTopic.get(key) ?? NONE), listener]);
  }

  /** Removes `listener`, one registration (the same function attached twice is two). */
  #detach(key: TopicKey, listener: Listener): void {
    const list = key === ANY ? this.#any : (this.#byTopic.get(key) ?? NONE);
    const at = list.lastIndexOf(listener);
    if (at < 0) return;
    const rest = [...list.slice(0, at), ...list.slice(at + 1)];
    if (key === ANY) this.#any = rest;
    else if (rest.length === 0) this.#byTopic.delete(key);
    else this.#byTopic.set(key, rest);
  }

  #report(error: unknown, envelope: Envelope): void {
    try {
      this.#onError(error, envelope);
    } catch (hookError) {
      logError(hookError, envelope);
    }
  }

  #checkOpen(operation: string): void {
    if (this.#closed) throw new ClosedError(`EventBus is closed; cannot ${operation}`);
  }

  #checkRoom(): void {
    if (this.subscriberCount >= this.maxSubscribers) {
      throw new SubscriberLimitError(
        `EventBus has ${this.subscriberCount} subscribers, its maxSubscribers; unsubscribe some or raise the limit`,
      );
    }
  }
}

/** Where a listener is registered: a topic, or every topic. */
const ANY: unique symbol = Symbol('any topic');
type TopicKey = string | typeof ANY;

function topicKeys(topics: unknown): TopicKey[] {
  if (topics === '*') return [ANY];
  const list: unknown[] =
    typeof topics === 'string' ? [topics] : Array.isArray(topics) ? topics : [];
  if (list.length === 0 || !list.every((t) => typeof t === 'string' && t !== '' && t !== '*')) {
    throw new TypeError(
      `topics must be '*', a topic name, or a non-empty array of topic names, got ${describeTopics(topics)}`,
    );
  }
  return [...new Set(list as string[])];
}

/**
 * Calls a listener in a flow of its own (lockdep on). Apart from the listener wrapper so
 * the wrapper captures nothing per call: a closure over the envelope there would cost a
 * context allocation per listener per event even with lockdep off.
 */
function callInOwnFlow(
  call: (payload: unknown, envelope: Envelope) => void,
  envelope: Envelope,
): void {
  runInOwnFlow(() => call(envelope.payload, envelope));
}

function describeTopics(topics: unknown): string {
  if (typeof topics === 'symbol' || typeof topics === 'bigint') return String(topics);
  return JSON.stringify(topics) ?? String(topics);
}

function logError(error: unknown, envelope: Envelope): void {
  console.error(`workbus: a listener for "${envelope.topic}" (seq ${envelope.seq}) threw`, error);
}
