/**
 * The bridge's client: what a renderer, a browser page or another thread uses to see and
 * steer a pool hosted elsewhere. It imports nothing from Node (a test bundles it for the
 * browser), so it runs in a renderer or a page as it is.
 */
import { onAbort, throwIfAborted } from '../abort.js';
import type { Envelope } from '../bus/envelope.js';
import type { SubscriberWhenFull } from '../bus/subscription.js';
import { DisconnectedError, RemoteError } from '../errors.js';
import { after, type Timer } from '../internal/timer.js';
import type { JobView } from '../pool/job.js';
import { duration, integer, oneOf, optionalSignal, options as checkOptions } from '../validate.js';
import type { FramePort } from './port.js';
import {
  PROTOCOL_VERSION,
  RESYNC_TOPIC,
  isRecord,
  type ClientFrame,
  type FailureList,
  type HostFrame,
  type Permissions,
  type RemoteJobOptions,
  type Welcome,
  type WireError,
  type WorkbusSnapshot,
} from './protocol.js';
import { RemoteSubscription, type ResyncEnvelope } from './remote-subscription.js';

/** A port, or how to get one: a function lets the client reconnect when the port closes. */
export type PortSource = FramePort | (() => FramePort | Promise<FramePort>);

/** Options of {@link connectWorkbus}. */
export interface ConnectOptions {
  /**
   * With a port function: wait this long before reconnecting after the port closes,
   * doubling up to `maxMs` while attempts fail. `false`: never reconnect.
   * @default { baseMs: 100, maxMs: 5000 }
   */
  readonly reconnect?: { readonly baseMs?: number; readonly maxMs?: number } | false | undefined;
  /** Aborting it closes the client (and the first connect, if it still waits). */
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link WorkbusClient.subscribe}; as a bus subscription's. */
export interface RemoteSubscribeOptions {
  /** Items held for this subscriber (on the client, and as many on the host). @default 256 */
  readonly buffer?: number | undefined;
  /** What the host does when the buffer is full. @default 'drop-oldest' */
  readonly whenFull?: SubscriberWhenFull | undefined;
  /** Aborting it unsubscribes. */
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link WorkbusClient.submit}. */
export interface RemoteSubmitOptions extends RemoteJobOptions {
  /** Aborting it cancels the job on the host (a cancel message by id: a signal does not cross). */
  readonly signal?: AbortSignal | undefined;
  /** Called with the job's view each time it starts, progresses, retries and ends. */
  readonly onUpdate?: ((view: JobView) => void) | undefined;
}

/** A job submitted through the bridge. */
export interface RemoteJob<R = unknown> {
  readonly id: string;
  readonly type: string;
  /** Its last view received. */
  readonly view: JobView;
  /**
   * The job's value, or a `RemoteError` with the host's error (`code: 'ABORTED'` when
   * cancelled), or `DisconnectedError` if the connection ends first (the job may go on).
   */
  readonly result: Promise<R>;
  /** Cancels it on the host. Resolves false if it had ended or was already cancelled. */
  cancel(): Promise<boolean>;
}

const CONNECT_OPTIONS = ['reconnect', 'signal'] as const;
const SUBSCRIBE_OPTIONS = ['buffer', 'whenFull', 'signal'] as const;
const SUBMIT_OPTIONS = ['priority', 'key', 'timeoutMs', 'retry', 'meta', 'signal', 'onUpdate'];
const POLICIES: readonly SubscriberWhenFull[] = ['drop-oldest', 'drop-newest', 'close'];

/**
 * Connects to a host served by `serveWorkbus` and waits for its welcome.
 * @throws (rejects) `RemoteError` with code `BRIDGE_PROTOCOL` if the host speaks another
 * protocol version; `DisconnectedError` if the port closes first; an abort error.
 * @example
 * ```ts
 * const dashboard = await connectWorkbus(() => webSocketPort(new WebSocket(url)));
 * const finished = dashboard.subscribe(['job.finished'], { buffer: 64 });
 * await finished.ready; // the host has subscribed: what is published from now on arrives
 * ```
 */
export async function connectWorkbus(
  port: PortSource,
  options: ConnectOptions = {},
): Promise<WorkbusClient> {
  const o = checkOptions('connectWorkbus options', options, CONNECT_OPTIONS);
  const signal = optionalSignal('signal', o['signal']);
  const reconnect = o['reconnect'];
  let backoff: Backoff | undefined;
  if (typeof port === 'function' && reconnect !== false) {
    const r = checkOptions('reconnect', reconnect ?? {}, ['baseMs', 'maxMs']);
    backoff = {
      baseMs: duration('reconnect.baseMs', r['baseMs'] ?? 100),
      maxMs: duration('reconnect.maxMs', r['maxMs'] ?? 5000),
    };
  } else if (typeof port !== 'function' && (typeof port !== 'object' || port === null)) {
    throw new TypeError('port must be a FramePort or a function returning one');
  }
  throwIfAborted(signal);
  const client = new WorkbusClient(port, backoff);
  const detach = onAbort(signal, () => client.close());
  try {
    await client.connect();
  } catch (error) {
    detach();
    client.close();
    throw error;
  }
  client.onClosed(detach);
  return client;
}

interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

type Pending = { resolve(value: unknown): void; reject(error: unknown): void };

/** One submit's job on the client, until its `done` frame. */
class Submitted implements RemoteJob {
  /** Undefined until the host's reply (or the job's end) says what it is. */
  seen: JobView | undefined;
  readonly result: Promise<unknown>;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;
  readonly #cancel: (id: string) => Promise<boolean>;
  readonly onUpdate: ((view: JobView) => void) | undefined;

  constructor(cancel: (id: string) => Promise<boolean>, onUpdate: Submitted['onUpdate']) {
    this.#cancel = cancel;
    this.onUpdate = onUpdate;
    this.result = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // As the pool's results: an unread failure is no unhandled rejection.
    this.result.catch(() => undefined);
  }

  get view(): JobView {
    return this.seen as JobView;
  }

  get id(): string {
    return this.view.id;
  }

  get type(): string {
    return this.view.type;
  }

  cancel(): Promise<boolean> {
    return this.#cancel(this.id);
  }

  update(view: JobView): void {
    this.seen = view;
    this.onUpdate?.(view);
  }
}

/**
 * A connection to a bridge host. Every method sends plain data and waits for the host's
 * answer; a call made while disconnected rejects with `DisconnectedError` at once.
 */
export class WorkbusClient {
  readonly #source: PortSource;
  readonly #backoff: Backoff | undefined;
  #port: FramePort | undefined;
  #welcome: Welcome | undefined;
  #state: 'connecting' | 'open' | 'reconnecting' | 'closed' = 'connecting';
  #nextId = 0;
  #nextSub = 0;
  readonly #pending = new Map<number, Pending>();
  readonly #subs = new Map<number, { sub: RemoteSubscription; frame: SubscribeFrame }>();
  /** Submits in flight, by request id (the `ref` of their `done`). */
  readonly #jobs = new Map<number, Submitted>();
  #attempts = 0;
  #timer: Timer | undefined;
  readonly #onClosed: (() => void)[] = [];

  /** @internal Use {@link connectWorkbus}. */
  constructor(source: PortSource, backoff: Backoff | undefined) {
    this.#source = source;
    this.#backoff = backoff;
  }

  /** `'open'`, `'reconnecting'` (the port closed; a new one is being made) or `'closed'`. */
  get state(): 'connecting' | 'open' | 'reconnecting' | 'closed' {
    return this.#state;
  }

  /** What the host lets this client do (a dashboard hides the rest). */
  get allow(): Permissions {
    return (this.#welcome as Welcome).allow;
  }

  /** The pool's job types. */
  get types(): readonly string[] {
    return (this.#welcome as Welcome).types;
  }

  /** The protocol version both sides speak. */
  get protocol(): number {
    return (this.#welcome as Welcome).protocol;
  }

  /**
   * The pool, tracker, store and bus now (built at most a few times a second on the host:
   * calls in between share the next one).
   */
  snapshot(): Promise<WorkbusSnapshot> {
    return this.#request({ t: 'snapshot' }) as Promise<WorkbusSnapshot>;
  }

  /**
   * Subscribes to bus topics on the host (or `'*'`). The iterable yields envelopes, and a
   * `'bridge.resync'` item after the consumer fell behind or the connection came back. A
   * refused subscription (no bus, too many, a bad topic) throws its `RemoteError` from the
   * loop.
   * @throws TypeError/RangeError for bad options; an abort error if `signal` has aborted.
   */
  subscribe<E extends Envelope = Envelope>(
    topics: string | readonly string[],
    options: RemoteSubscribeOptions = {},
  ): RemoteSubscription<E> {
    const o = checkOptions('subscribe options', options, SUBSCRIBE_OPTIONS);
    const buffer = integer('buffer', o['buffer'] ?? 256, 1);
    const whenFull = oneOf('whenFull', o['whenFull'] ?? 'drop-oldest', POLICIES);
    const signal = optionalSignal('signal', o['signal']);
    const list = topics === '*' ? '*' : typeof topics === 'string' ? [topics] : [...topics];
    throwIfAborted(signal);
    const id = ++this.#nextSub;
    const sub = new RemoteSubscription<E>(
      buffer,
      {
        ack: (n) => this.#post({ t: 'ack', sub: id, n }),
        unsubscribe: () => {
          detach();
          this.#subs.delete(id);
          this.#post({ t: 'unsubscribe', sub: id });
        },
      },
      this.#welcome?.seq ?? 0,
    );
    const detach = onAbort(signal, () => sub.abort());
    const frame: SubscribeFrame = { t: 'subscribe', sub: id, topics: list, buffer, whenFull };
    this.#subs.set(id, { sub: sub as unknown as RemoteSubscription, frame });
    this.#open(id, frame);
    return sub;
  }

  /**
   * Submits a job of `type` with plain-data `input` on the host (a type the host allows).
   * Resolves once the host has queued it.
   * @throws (rejects) `RemoteError` with code `BRIDGE_FORBIDDEN` for a type not allowed,
   * `INVALID_ARGUMENT` for bad options, `QUEUE_FULL`, `CLOSED`…; an abort error if
   * `signal` has aborted.
   */
  async submit<R = unknown>(
    type: string,
    input: unknown,
    options: RemoteSubmitOptions = {},
  ): Promise<RemoteJob<R>> {
    const given = checkOptions('submit options', options, SUBMIT_OPTIONS);
    const signal = optionalSignal('signal', given['signal']);
    throwIfAborted(signal);
    const { signal: _signal, onUpdate, ...jobOptions } = options;
    const job = new Submitted((id) => this.cancel(id), onUpdate);
    const id = this.#nextId + 1;
    this.#jobs.set(id, job);
    let view: JobView;
    try {
      view = (await this.#request({ t: 'submit', type, input, options: jobOptions })) as JobView;
    } catch (error) {
      this.#jobs.delete(id);
      throw error;
    }
    // The done frame may have come first (a job that ended at once): keep its view.
    job.seen ??= view;
    if (signal !== undefined) {
      const detach = onAbort(signal, () => void this.cancel(view.id).catch(() => false));
      job.result.then(detach, detach);
    }
    return job as RemoteJob<R>;
  }

  /**
   * Cancels a job on the host: one this client submitted, or (if the host allows cancel)
   * any job. Resolves true if the cancel reached a job still running or queued, false if
   * it had ended or was already cancelled.
   */
  cancel(jobId: string): Promise<boolean> {
    return this.#request({ t: 'cancel', job: jobId }) as Promise<boolean>;
  }

  /** The tracker's failures (the first ones, by key); `undefined` if the host has no tracker. */
  failures(): Promise<FailureList | undefined> {
    return this.#request({ t: 'failures' }) as Promise<FailureList | undefined>;
  }

  /** "Retry now": clears `key`'s failures in the host's tracker, so its next job runs. */
  async retry(key: string): Promise<void> {
    await this.#request({ t: 'retry', key });
  }

  /** Pauses `type` (or the whole pool) on the host. */
  async pause(type?: string): Promise<void> {
    await this.#request({ t: 'pause', type: type ?? null, paused: true });
  }

  /** Resumes `type` (or the whole pool) on the host. */
  async resume(type?: string): Promise<void> {
    await this.#request({ t: 'pause', type: type ?? null, paused: false });
  }

  /**
   * Closes the connection: the port closes (the host releases what it held), pending
   * calls reject with `DisconnectedError`, subscriptions end. Idempotent.
   */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#timer?.clear();
    this.#timer = undefined;
    const port = this.#port;
    this.#port = undefined;
    this.#disconnected(false);
    port?.close();
    for (const fn of this.#onClosed.splice(0)) fn();
  }

  /** @internal */
  onClosed(fn: () => void): void {
    if (this.#state === 'closed') fn();
    else this.#onClosed.push(fn);
  }

  /** @internal The first connection (and each reconnection): a port, the hello, the subscriptions. */
  async connect(): Promise<void> {
    const source = this.#source;
    const port = typeof source === 'function' ? await source() : source;
    if (this.#state === 'closed') {
      port.close();
      throw new DisconnectedError('The client was closed while connecting');
    }
    this.#port = port;
    port.start(
      (frame) => this.#receive(port, frame),
      () => this.#lost(port),
    );
    const welcome = (await this.#request({ t: 'hello', protocol: PROTOCOL_VERSION })) as Welcome;
    this.#welcome = welcome;
    this.#state = 'open';
    this.#attempts = 0;
    for (const [id, { sub, frame }] of this.#subs) {
      this.#open(id, { ...frame, since: sub.lastSeq });
    }
  }

  #open(id: number, frame: SubscribeFrame): void {
    this.#request(frame).then(
      () => this.#subs.get(id)?.sub.open(),
      (error: unknown) => {
        const entry = this.#subs.get(id);
        if (entry === undefined || error instanceof DisconnectedError) return;
        this.#subs.delete(id);
        entry.sub.end('refused', error instanceof RemoteError ? wireOf(error) : undefined);
      },
    );
  }

  #request(frame: DistributiveOmit<ClientFrame, 'id'>): Promise<unknown> {
    const port = this.#port;
    // Before the welcome only the hello may go: a subscription made meanwhile is opened
    // once the connection is (see connect).
    if (port === undefined || (this.#state !== 'open' && frame.t !== 'hello')) {
      return Promise.reject(new DisconnectedError(`Not connected (${this.#state})`));
    }
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        port.send({ ...frame, id });
      } catch (error) {
        this.#pending.delete(id);
        reject(error);
      }
    });
  }

  /** Sends a frame that gets no reply (an ack, an unsubscribe); dropped while disconnected. */
  #post(frame: ClientFrame): void {
    if (this.#state !== 'open') return;
    try {
      this.#port?.send(frame);
    } catch {
      // The port is going away: its close is on its way too.
    }
  }

  #receive(port: FramePort, data: unknown): void {
    if (port !== this.#port || !isRecord(data) || typeof data['t'] !== 'string') return;
    const frame = data as unknown as HostFrame;
    switch (frame.t) {
      case 'reply': {
        const pending = this.#pending.get(frame.id);
        if (pending === undefined) return;
        this.#pending.delete(frame.id);
        if (frame.ok) pending.resolve(frame.value);
        else pending.reject(new RemoteError(frame.error));
        return;
      }
      case 'event':
        this.#subs.get(frame.sub)?.sub.push(frame.envelope);
        return;
      case 'resync': {
        const { t: _t, sub, ...payload } = frame;
        const item: ResyncEnvelope = {
          topic: RESYNC_TOPIC,
          payload,
          seq: payload.snapshot.seq,
          at: payload.snapshot.at,
        };
        this.#subs.get(sub)?.sub.push(item);
        return;
      }
      case 'end': {
        const entry = this.#subs.get(frame.sub);
        this.#subs.delete(frame.sub);
        entry?.sub.end(frame.reason);
        return;
      }
      case 'job':
        for (const job of this.#jobs.values())
          if (job.seen?.id === frame.view.id) job.update(frame.view);
        return;
      case 'done': {
        const job = this.#jobs.get(frame.ref);
        if (job === undefined) return;
        this.#jobs.delete(frame.ref);
        job.update(frame.view);
        if (frame.ok) job.resolve(frame.value);
        else job.reject(new RemoteError(frame.error));
        return;
      }
      default:
        return;
    }
  }

  /**
   * The port closed under us: pending calls fail; with a port function, a reconnect is
   * planned (or, while one is under way, its failed hello plans the next attempt).
   */
  #lost(port: FramePort): void {
    if (port !== this.#port) return;
    this.#port = undefined;
    port.close();
    if (this.#state === 'closed') return;
    if (this.#backoff === undefined || this.#state === 'connecting') {
      this.close();
      return;
    }
    const wasOpen = this.#state === 'open';
    this.#state = 'reconnecting';
    this.#disconnected(true);
    if (wasOpen) this.#retryLater();
  }

  #retryLater(): void {
    const { baseMs, maxMs } = this.#backoff as Backoff;
    const delay = Math.min(maxMs, baseMs * 2 ** this.#attempts++);
    this.#timer = after(delay, () => {
      this.#timer = undefined;
      this.connect().catch(() => {
        if (this.#state === 'closed') return;
        const port = this.#port;
        this.#port = undefined;
        port?.close();
        this.#retryLater();
      });
    });
  }

  /** Rejects what waited on the connection; subscriptions end, or wait to resume. */
  #disconnected(resumable: boolean): void {
    const error = new DisconnectedError();
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    for (const job of this.#jobs.values()) job.reject(error);
    this.#jobs.clear();
    for (const [id, { sub }] of this.#subs) {
      if (resumable) sub.suspend();
      else {
        this.#subs.delete(id);
        sub.end('disconnected');
      }
    }
  }
}

type SubscribeFrame = DistributiveOmit<Extract<ClientFrame, { t: 'subscribe' }>, 'id'>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function wireOf(error: RemoteError): WireError {
  return { name: error.name, code: error.code, message: error.message };
}
