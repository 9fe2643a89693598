import type { SubscriberView } from '../bus/event-bus.js';
import type { Subscription } from '../bus/subscription.js';
import { ClosedError, ForbiddenError, ProtocolError } from '../errors.js';
import type { Job, JobView, TaskContext } from '../pool/job.js';
import type { WorkPool } from '../pool/work-pool.js';
import type { Database } from '../store/database.js';
import type { FailureTracker } from '../store/failure-tracker.js';
import { callable, duration, integer, options as checkOptions } from '../validate.js';
import { HostSubscription } from './host-subscription.js';
import type { FramePort } from './port.js';
import {
  DEFAULT_LIMITS,
  PROTOCOL_VERSION,
  parseClientFrame,
  wireError,
  type BridgeAllow,
  type BridgeLimits,
  type ClientFrame,
  type ConnectionStats,
  type FailureList,
  type HostFrame,
  type Permissions,
  type Welcome,
  type WorkbusSnapshot,
} from './protocol.js';
import { SnapshotCoalescer } from './snapshot-coalescer.js';

/**
 * What the host uses of an `EventBus`: any bus fits, whatever its events. The topics come
 * from the wire, so the bus's own typing of them cannot apply here.
 */
export interface BridgeBus {
  /** The last published `seq`. */
  readonly seq: number;
  readonly subscriberCount: number;
  subscribers(): readonly SubscriberView[];
  subscribe(topics: never, options: never): Subscription;
  on(topic: never, listener: never): () => void;
}

/** Runs a job of a task type for a client: its plain-data input, the job's context. */
export type RemoteTask = (input: unknown, context: TaskContext) => unknown;

/** Options of {@link serveWorkbus}. */
export interface ServeOptions {
  /** The pool seen and steered. */
  readonly pool: WorkPool;
  /**
   * The bus the pool publishes its events to: what clients subscribe to, and where the
   * host sees its clients' jobs start and progress. Without it, subscriptions are refused.
   */
  readonly bus?: BridgeBus | undefined;
  /** The pool's failure tracker: listed in snapshots and `failures()`; "retry now" clears a key. */
  readonly tracker?: FailureTracker | undefined;
  /** The store, shown in snapshots. */
  readonly store?: Database | undefined;
  /** What a client may do besides reading. Leave it out for read-only: no command at all. */
  readonly allow?: BridgeAllow | undefined;
  /**
   * How a client's job of a task type runs (a worker type needs none: its input goes to
   * its module). A type in `allow.submit` that is neither is refused by the pool.
   * @example
   * ```ts
   * tasks: { resize: (input, { signal }) => resize(input as ResizeInput, signal) },
   * ```
   */
  readonly tasks?: Readonly<Record<string, RemoteTask>> | undefined;
  /** Bounds on each client (defaults in {@link BridgeLimits}). */
  readonly limits?: Partial<BridgeLimits> | undefined;
  /** Least time between two snapshots built for a client. @default 250 */
  readonly snapshotIntervalMs?: number | undefined;
  /** Queued and retrying jobs a snapshot lists (the first, in dispatch order). @default 50 */
  readonly snapshotLimit?: number | undefined;
}

/** The host's handle on one client's connection. */
export interface BridgeConnection {
  /** What the host holds for this client now. */
  stats(): ConnectionStats;
  /** Resolves once the connection has ended and released everything it held. */
  readonly closed: Promise<void>;
  /** Ends the connection: closes the port, releases its subscriptions and listeners. Idempotent. */
  close(): void;
}

const SERVE_OPTIONS = [
  'pool',
  'bus',
  'tracker',
  'store',
  'allow',
  'tasks',
  'limits',
  'snapshotIntervalMs',
  'snapshotLimit',
] as const;

const JOB_TOPICS = ['job.started', 'job.progress', 'job.retrying'] as const;

/**
 * Serves one client over `port`: the pool, bus, tracker and store are shown to it, and
 * steered by it as far as `allow` lets it. Every frame the client sends is validated
 * (shape, sizes, operation, permission); a bad one gets a typed error reply
 * (`ProtocolError`, `ForbiddenError`) and never throws here or touches another client.
 * When the port closes (a renderer reload), everything the client held is released at
 * once: its subscriptions, its bus listeners, its pending snapshot. Jobs it submitted go
 * on: they are the pool's.
 *
 * @throws TypeError/RangeError for bad options (an unknown key included).
 * @example
 * ```ts
 * const connection = serveWorkbus(nodePort(port1), {
 *   pool,
 *   bus,
 *   allow: { submit: ['resize'], cancel: true }, // leave allow out for read-only
 *   tasks: { resize: (input, { signal }) => resize(input as ResizeInput, signal) },
 * });
 * ```
 */
export function serveWorkbus(port: FramePort, options: ServeOptions): BridgeConnection {
  const o = checkOptions('serveWorkbus options', options, SERVE_OPTIONS);
  if (typeof port !== 'object' || port === null || typeof port.start !== 'function') {
    throw new TypeError('port must be a FramePort (nodePort, electronPort, wsPort, …)');
  }
  if (typeof o['pool'] !== 'object' || o['pool'] === null) {
    throw new TypeError('serveWorkbus options.pool must be a WorkPool');
  }
  const connection = new Connection(port, normalize(options));
  return {
    stats: () => connection.stats(),
    closed: connection.closed,
    close: () => connection.close(),
  };
}

interface Normalized {
  readonly pool: WorkPool;
  readonly bus: BridgeBus | undefined;
  readonly tracker: FailureTracker | undefined;
  readonly store: Database | undefined;
  readonly allow: Permissions;
  readonly tasks: ReadonlyMap<string, RemoteTask>;
  readonly limits: BridgeLimits;
  readonly snapshotIntervalMs: number;
  readonly snapshotLimit: number;
}

function normalize(options: ServeOptions): Normalized {
  const allow = checkOptions('allow', options.allow ?? {}, ['submit', 'cancel', 'retry', 'pause']);
  const submit = allow['submit'] ?? [];
  if (!Array.isArray(submit) || !submit.every((t) => typeof t === 'string')) {
    throw new TypeError('allow.submit must be an array of job type names');
  }
  for (const flag of ['cancel', 'retry', 'pause']) {
    if (allow[flag] !== undefined && typeof allow[flag] !== 'boolean') {
      throw new TypeError(`allow.${flag} must be a boolean, got ${typeof allow[flag]}`);
    }
  }
  const given = checkOptions('limits', options.limits ?? {}, Object.keys(DEFAULT_LIMITS));
  const limits = Object.fromEntries(
    Object.entries(DEFAULT_LIMITS).map(([k, v]) => [k, integer(`limits.${k}`, given[k] ?? v, 1)]),
  ) as unknown as BridgeLimits;
  const tasks = new Map<string, RemoteTask>();
  for (const [type, fn] of Object.entries(options.tasks ?? {}))
    tasks.set(type, callable(`tasks.${type}`, fn));
  return {
    pool: options.pool,
    bus: options.bus,
    tracker: options.tracker,
    store: options.store,
    allow: Object.freeze({
      submit: Object.freeze([...submit]),
      cancel: allow['cancel'] === true,
      retry: allow['retry'] === true,
      pause: allow['pause'] === true,
    }),
    tasks,
    limits: Object.freeze(limits),
    snapshotIntervalMs: duration('snapshotIntervalMs', options.snapshotIntervalMs ?? 250),
    snapshotLimit: integer('snapshotLimit', options.snapshotLimit ?? 50, 0),
  };
}

/** One client's connection: its state, and everything it holds on the host. */
class Connection {
  readonly #port: FramePort;
  readonly #o: Normalized;
  readonly #snapshots: SnapshotCoalescer<WorkbusSnapshot>;
  readonly #subscriptions = new Map<number, HostSubscription>();
  /** This client's unfinished jobs: the handles of its submits, by job id. */
  readonly #jobs = new Map<string, Job[]>();
  /** Job ids this client cancelled: a second cancel reports false. */
  readonly #cancelled = new Set<string>();
  /**
   * The ids of this client's last finished jobs (at most `maxJobs`), so that cancelling
   * one that has ended reports false rather than a refusal.
   */
  readonly #finished = new Set<string>();
  readonly #abort = new AbortController();
  #detachJobs: (() => void) | undefined;
  /** Updates seen while a submit runs (see #submit). */
  #early: JobView[] | undefined;
  #greeted = false;
  #state: 'open' | 'closed' = 'open';
  #refused = 0;
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;

  constructor(port: FramePort, o: Normalized) {
    this.#port = port;
    this.#o = o;
    this.#snapshots = new SnapshotCoalescer(() => this.#snapshot(), o.snapshotIntervalMs);
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    port.start(
      (data) => this.#receive(data),
      () => this.close(),
    );
  }

  stats(): ConnectionStats {
    return {
      subscriptions: [...this.#subscriptions.values()].map((s) => s.stats),
      jobs: this.#jobs.size,
      listeners: this.#detachJobs === undefined ? 0 : JOB_TOPICS.length,
      refused: this.#refused,
    };
  }

  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#abort.abort(new ClosedError('The bridge connection closed'));
    for (const sub of this.#subscriptions.values()) sub.close();
    this.#subscriptions.clear();
    this.#stopListening();
    this.#jobs.clear();
    this.#cancelled.clear();
    this.#finished.clear();
    this.#snapshots.close();
    this.#port.close();
    this.#resolveClosed();
  }

  /** Sends a frame; false if it could not be (it does not clone, or the port is gone). */
  #send(frame: HostFrame): boolean {
    if (this.#state === 'closed') return false;
    try {
      this.#port.send(frame);
      return true;
    } catch {
      return false;
    }
  }

  #reply(id: number, value: unknown): void {
    if (this.#send({ t: 'reply', id, ok: true, value })) return;
    this.#fail(
      id,
      new ProtocolError('The reply does not clone as plain data', { reason: 'malformed' }),
    );
  }

  #fail(id: number | undefined, error: unknown): void {
    const wire = wireError(error);
    if (error instanceof ProtocolError || error instanceof ForbiddenError) this.#refused++;
    this.#send(
      id === undefined ? { t: 'error', error: wire } : { t: 'reply', id, ok: false, error: wire },
    );
  }

  /** One frame from the client. Never throws: whatever goes wrong is the client's reply. */
  #receive(data: unknown): void {
    if (this.#state === 'closed') return;
    let id: number | undefined;
    try {
      const parsed = parseClientFrame(data, this.#o.limits);
      if ('error' in parsed) {
        this.#fail(parsed.id, parsed.error);
        return;
      }
      id = 'id' in parsed ? parsed.id : undefined;
      this.#handle(parsed);
    } catch (error) {
      this.#fail(id, error);
    }
  }

  #handle(frame: ClientFrame): void {
    if (frame.t === 'hello') {
      this.#hello(frame.id, frame.protocol);
      return;
    }
    if (!this.#greeted) {
      throw new ProtocolError('The first frame must be hello', { reason: 'handshake' });
    }
    switch (frame.t) {
      case 'snapshot':
        this.#later(frame.id, this.#snapshots.next());
        return;
      case 'subscribe':
        this.#subscribe(frame);
        this.#reply(frame.id, true);
        return;
      case 'unsubscribe':
        this.#subscriptions.get(frame.sub)?.close();
        this.#subscriptions.delete(frame.sub);
        return;
      case 'ack':
        this.#subscriptions.get(frame.sub)?.ack(Math.min(frame.n, this.#o.limits.maxBuffer));
        return;
      case 'submit':
        this.#submit(frame);
        return;
      case 'cancel':
        this.#reply(frame.id, this.#cancel(frame.job));
        return;
      case 'failures':
        this.#reply(frame.id, this.#failures());
        return;
      case 'retry':
        this.#later(frame.id, this.#retry(frame.key));
        return;
      case 'pause':
        this.#pause(frame.type, frame.paused);
        this.#reply(frame.id, true);
        return;
    }
  }

  #hello(id: number, protocol: number): void {
    if (protocol !== PROTOCOL_VERSION) {
      throw new ProtocolError(`This host speaks protocol ${PROTOCOL_VERSION}, not ${protocol}`, {
        reason: 'version',
      });
    }
    this.#greeted = true;
    const welcome: Welcome = {
      protocol: PROTOCOL_VERSION,
      allow: this.#o.allow,
      limits: this.#o.limits,
      types: Object.keys(this.#o.pool.snapshot({ limit: 0 }).types),
      seq: this.#o.bus?.seq ?? 0,
    };
    this.#reply(id, welcome);
  }

  /** Replies with what `promise` settles to. */
  #later(id: number, promise: Promise<unknown>): void {
    promise.then(
      (value) => this.#reply(id, value),
      (error: unknown) => this.#fail(id, error),
    );
  }

  #subscribe(frame: Extract<ClientFrame, { t: 'subscribe' }>): void {
    const { bus, limits } = this.#o;
    if (bus === undefined) throw new ClosedError('This host has no bus to subscribe to');
    if (this.#subscriptions.has(frame.sub)) {
      throw new ProtocolError(`Subscription ${frame.sub} is already open`, { reason: 'malformed' });
    }
    if (this.#subscriptions.size >= limits.maxSubscriptions) {
      throw new ProtocolError(`At most ${limits.maxSubscriptions} subscriptions at once`, {
        reason: 'limit',
      });
    }
    if (frame.buffer > limits.maxBuffer) {
      throw new ProtocolError(`buffer must be at most ${limits.maxBuffer}`, { reason: 'limit' });
    }
    const subscription = bus.subscribe(
      frame.topics as never,
      {
        buffer: frame.buffer,
        whenFull: frame.whenFull,
      } as never,
    );
    const resume =
      frame.since === undefined ? undefined : { missed: Math.max(0, bus.seq - frame.since) };
    const link = {
      send: (f: HostFrame) => this.#send(f),
      snapshot: () => this.#snapshots.next(),
    };
    this.#subscriptions.set(
      frame.sub,
      new HostSubscription(frame.sub, frame.topics, subscription, frame.buffer, link, resume),
    );
  }

  #submit(frame: Extract<ClientFrame, { t: 'submit' }>): void {
    const { pool, allow, limits, tasks } = this.#o;
    if (!allow.submit.includes(frame.type)) {
      throw new ForbiddenError(`This client may not submit jobs of type "${frame.type}"`);
    }
    if (this.#jobs.size >= limits.maxJobs) {
      throw new ProtocolError(`At most ${limits.maxJobs} unfinished jobs per client`, {
        reason: 'limit',
      });
    }
    const task = tasks.get(frame.type);
    const input = frame.input;
    const work = task === undefined ? input : (context: TaskContext) => task(input, context);
    this.#listenToJobs();
    // A job may start, and report progress, inside submit, before its id is known here:
    // those updates are held, and sent once the reply has told the client the id.
    const early: JobView[] = [];
    this.#early = early;
    let job: Job;
    try {
      job = pool.submit<unknown>(frame.type, work as never, frame.options);
    } catch (error) {
      if (this.#jobs.size === 0) this.#stopListening();
      throw error;
    } finally {
      this.#early = undefined;
    }
    const handles = this.#jobs.get(job.id);
    if (handles === undefined) this.#jobs.set(job.id, [job]);
    else handles.push(job);
    this.#reply(frame.id, job.view());
    for (const view of early) if (view.id === job.id) this.#send({ t: 'job', view });
    const ref = frame.id;
    job.result.then(
      (value) => this.#done(job, ref, { ok: true, value }),
      (error: unknown) => this.#done(job, ref, { ok: false, error: wireError(error) }),
    );
  }

  /** Attached while the client has jobs, so an idle client holds no listener. */
  #listenToJobs(): void {
    const bus = this.#o.bus;
    if (this.#detachJobs !== undefined || bus === undefined) return;
    const update = (view: JobView): void => {
      if (this.#early !== undefined) this.#early.push(view);
      else if (this.#jobs.has(view.id)) this.#send({ t: 'job', view });
    };
    const offs = JOB_TOPICS.map((topic) => bus.on(topic as never, update as never));
    this.#detachJobs = () => {
      for (const off of offs) off();
    };
  }

  #stopListening(): void {
    this.#detachJobs?.();
    this.#detachJobs = undefined;
  }

  #done(
    job: Job,
    ref: number,
    outcome: { ok: true; value: unknown } | { ok: false; error: ReturnType<typeof wireError> },
  ): void {
    const handles = (this.#jobs.get(job.id) ?? []).filter((h) => h !== job);
    if (handles.length > 0) this.#jobs.set(job.id, handles);
    else {
      this.#jobs.delete(job.id);
      this.#cancelled.delete(job.id);
      this.#finished.add(job.id);
      if (this.#finished.size > this.#o.limits.maxJobs) {
        this.#finished.delete(this.#finished.values().next().value as string);
      }
    }
    if (this.#jobs.size === 0) this.#stopListening();
    const view = job.view();
    if (this.#send({ t: 'done', ref, view, ...outcome })) return;
    const error = wireError(
      new ProtocolError(`The result of job ${job.id} does not clone as plain data`, {
        reason: 'malformed',
      }),
    );
    this.#send({ t: 'done', ref, view, ok: false, error });
  }

  /**
   * Cancels a job this client submitted (its own handles: joiners of the same key go on),
   * or, with `allow.cancel`, any job of the pool.
   */
  #cancel(id: string): boolean {
    const own = this.#jobs.get(id);
    if (own !== undefined) {
      if (this.#cancelled.has(id)) return false;
      this.#cancelled.add(id);
      for (const job of own) job.cancel();
      return true;
    }
    if (!this.#o.allow.cancel) {
      if (this.#finished.has(id)) return false;
      throw new ForbiddenError('This client may cancel only the jobs it submitted');
    }
    return this.#o.pool.cancel(id);
  }

  #failures(): FailureList | undefined {
    const list = this.#o.tracker?.list();
    if (list === undefined) return undefined;
    return { total: list.length, first: list.slice(0, this.#o.limits.maxFailures) };
  }

  async #retry(key: string): Promise<null> {
    if (!this.#o.allow.retry) throw new ForbiddenError('This client may not retry keys');
    const tracker = this.#o.tracker;
    if (tracker === undefined) throw new ClosedError('This host has no failure tracker');
    await tracker.clear(key, { signal: this.#abort.signal });
    return null;
  }

  #pause(type: string | null, paused: boolean): void {
    if (!this.#o.allow.pause) throw new ForbiddenError('This client may not pause or resume');
    const pool = this.#o.pool;
    if (paused) pool.pause(type ?? undefined);
    else pool.resume(type ?? undefined);
  }

  #snapshot(): WorkbusSnapshot {
    const { pool, bus, store } = this.#o;
    return {
      at: Date.now(),
      seq: bus?.seq ?? 0,
      pool: pool.snapshot({ limit: this.#o.snapshotLimit }),
      failures: this.#failures(),
      store: store === undefined ? undefined : { path: store.path, ...store.health() },
      bus:
        bus === undefined
          ? undefined
          : { listeners: bus.subscriberCount, subscribers: bus.subscribers() },
      client: this.stats(),
    };
  }
}
