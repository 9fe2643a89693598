/**
 * The bridge protocol, version 1: every frame a client and a host exchange, as plain
 * data, and the host's validation of what a client sends. Imported by both sides, so it
 * imports nothing from Node (types only from the rest of workbus).
 *
 * Versioning: the client's first frame is `hello` with the `protocol` it speaks; a host
 * that does not speak it answers a `ProtocolError` (`reason: 'version'`) and serves
 * nothing else. A change that an older peer would misread (a field's meaning, a removed
 * operation) is a new version; new optional fields and new operations are not (an older
 * host answers an unknown operation with `reason: 'unknown-op'`).
 */
import { ProtocolError, type ProtocolFailure } from '../errors.js';
import type { Envelope } from '../bus/envelope.js';
import type { SubscriberView } from '../bus/event-bus.js';
import type { SubscriberWhenFull, SubscriptionCloseReason } from '../bus/subscription.js';
import type { JobView } from '../pool/job.js';
import type { PoolSnapshot } from '../pool/snapshot.js';
import type { FailureRecord } from '../store/failure-tracker.js';
import type { StoreHealth } from '../store/health.js';

/** The protocol version this code speaks. */
export const PROTOCOL_VERSION = 1;

/** The topic of the item a subscription yields instead of what it missed. */
export const RESYNC_TOPIC = 'bridge.resync';

/** What a host lets one client do. Reads (snapshots, subscriptions, failures) are always allowed. */
export interface BridgeAllow {
  /** Job types a client may submit (a type name and plain-data input). @default [] */
  readonly submit?: readonly string[] | undefined;
  /** Cancel any job by id (a client may always cancel the jobs it submitted). @default false */
  readonly cancel?: boolean | undefined;
  /** "Retry now": clear a key's failures in the tracker. @default false */
  readonly retry?: boolean | undefined;
  /** Pause and resume job types (or the whole pool). @default false */
  readonly pause?: boolean | undefined;
}

/** {@link BridgeAllow} with every field given: what the host's welcome tells a client. */
export interface Permissions {
  readonly submit: readonly string[];
  readonly cancel: boolean;
  readonly retry: boolean;
  readonly pause: boolean;
}

/** The host's bounds on one client; told to the client in the welcome. */
export interface BridgeLimits {
  /** Largest frame: characters of its strings plus 8 per value (bytes of text for a WebSocket). @default 65536 */
  readonly maxFrameBytes: number;
  /** Deepest nesting of a frame's data. @default 16 */
  readonly maxDepth: number;
  /** Most subscriptions open at once. @default 16 */
  readonly maxSubscriptions: number;
  /** Largest subscription buffer (events held on the host, and in flight, per subscription). @default 4096 */
  readonly maxBuffer: number;
  /** Most jobs submitted by the client and not finished. @default 256 */
  readonly maxJobs: number;
  /** Most failure records a listing or a snapshot carries. @default 100 */
  readonly maxFailures: number;
}

export const DEFAULT_LIMITS: BridgeLimits = Object.freeze({
  maxFrameBytes: 65_536,
  maxDepth: 16,
  maxSubscriptions: 16,
  maxBuffer: 4096,
  maxJobs: 256,
  maxFailures: 100,
});

/** An error as it crosses: plain data. */
export interface WireError {
  readonly name: string;
  readonly code: string;
  readonly message: string;
}

/** The options of a remote submit: a job's options that are plain data. */
export interface RemoteJobOptions {
  readonly priority?: number | undefined;
  readonly key?: string | undefined;
  readonly timeoutMs?: number | undefined;
  readonly retry?:
    | {
        readonly attempts: number;
        readonly baseMs?: number | undefined;
        readonly maxMs?: number | undefined;
      }
    | undefined;
  readonly meta?: Readonly<Record<string, unknown>> | undefined;
}

/** One subscription's counters on the host. */
export interface HostSubscriptionStats {
  readonly sub: number;
  readonly topics: readonly string[] | '*';
  /** Events sent to the client. */
  readonly delivered: number;
  /** Events dropped by the subscription's policy while the client did not read. */
  readonly dropped: number;
  /** Events held on the host now (at most the subscription's buffer). */
  readonly buffered: number;
  /** Items sent and not yet acknowledged (at most the subscription's buffer). */
  readonly inFlight: number;
}

/** What the host holds for one client now: bounded by its limits whatever the client does. */
export interface ConnectionStats {
  readonly subscriptions: readonly HostSubscriptionStats[];
  /** Jobs the client submitted that have not finished. */
  readonly jobs: number;
  /** Bus listeners attached for the client's jobs (0 or 3). */
  readonly listeners: number;
  /** Frames refused with an error reply. */
  readonly refused: number;
}

/** What a snapshot shows: the pool, the tracker's failures, the store, the bus, this client. */
export interface WorkbusSnapshot {
  readonly at: number;
  /** The bus's `seq` when it was taken (0 without a bus): apply only events after it. */
  readonly seq: number;
  readonly pool: PoolSnapshot;
  /** The tracker's failures (the first `maxFailures`, by key), if the host has a tracker. */
  readonly failures: FailureList | undefined;
  /** The store's path and health counters, if the host has a store. */
  readonly store: (StoreHealth & { readonly path: string }) | undefined;
  /**
   * The bus's subscriptions (topics, policy, dropped and buffered counts: which consumer
   * is slow) and how many subscriptions and listeners it has in all.
   */
  readonly bus:
    { readonly listeners: number; readonly subscribers: readonly SubscriberView[] } | undefined;
  /** What the host holds for this client. */
  readonly client: ConnectionStats;
}

export interface FailureList {
  readonly total: number;
  readonly first: readonly FailureRecord[];
}

/** The host's answer to `hello`. */
export interface Welcome {
  readonly protocol: number;
  readonly allow: Permissions;
  readonly limits: BridgeLimits;
  /** The pool's job types. */
  readonly types: readonly string[];
  /** The bus's `seq` now. */
  readonly seq: number;
}

/** The payload of a subscription's resync item (topic {@link RESYNC_TOPIC}). */
export interface Resync {
  /** `'dropped'`: the client did not read and the host dropped events; `'reconnected'`. */
  readonly reason: 'dropped' | 'reconnected';
  /** Events dropped, or published on the bus since the last `seq` seen (every topic). */
  readonly missed: number;
  readonly snapshot: WorkbusSnapshot;
}

/** Why a remote subscription ended: the bus's reasons, or its connection's end. */
export type RemoteCloseReason = SubscriptionCloseReason | 'disconnected' | 'refused';

export type ClientFrame =
  | { readonly t: 'hello'; readonly id: number; readonly protocol: number }
  | { readonly t: 'snapshot'; readonly id: number }
  | {
      readonly t: 'subscribe';
      readonly id: number;
      readonly sub: number;
      readonly topics: readonly string[] | '*';
      readonly buffer: number;
      readonly whenFull: SubscriberWhenFull;
      /** The last `seq` this client saw before it reconnected. */
      readonly since?: number | undefined;
    }
  | { readonly t: 'unsubscribe'; readonly sub: number }
  | { readonly t: 'ack'; readonly sub: number; readonly n: number }
  | {
      readonly t: 'submit';
      readonly id: number;
      readonly type: string;
      readonly input: unknown;
      readonly options: RemoteJobOptions;
    }
  | { readonly t: 'cancel'; readonly id: number; readonly job: string }
  | { readonly t: 'failures'; readonly id: number }
  | { readonly t: 'retry'; readonly id: number; readonly key: string }
  | {
      readonly t: 'pause';
      readonly id: number;
      readonly type: string | null;
      readonly paused: boolean;
    };

export type HostFrame =
  | { readonly t: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly t: 'reply'; readonly id: number; readonly ok: false; readonly error: WireError }
  /** A refused frame that had no usable request id. */
  | { readonly t: 'error'; readonly error: WireError }
  | { readonly t: 'event'; readonly sub: number; readonly envelope: Envelope }
  | ({ readonly t: 'resync'; readonly sub: number } & Resync)
  | { readonly t: 'end'; readonly sub: number; readonly reason: RemoteCloseReason }
  /** A change of a job this client submitted (started, progress, retrying). */
  | { readonly t: 'job'; readonly view: JobView }
  /** The end of the submit whose request id is `ref`. */
  | {
      readonly t: 'done';
      readonly ref: number;
      readonly view: JobView;
      readonly ok: true;
      readonly value: unknown;
    }
  | {
      readonly t: 'done';
      readonly ref: number;
      readonly view: JobView;
      readonly ok: false;
      readonly error: WireError;
    };

/** An error as plain data: its name, its code (`INVALID_ARGUMENT` for TypeError/RangeError), its message. */
export function wireError(error: unknown): WireError {
  if (!(error instanceof Error)) {
    return { name: 'NonError', code: 'NON_ERROR', message: String(error) };
  }
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    code:
      typeof code === 'string'
        ? code
        : error instanceof TypeError || error instanceof RangeError
          ? 'INVALID_ARGUMENT'
          : 'INTERNAL',
    message: error.message,
  };
}

/** A frame the host refused: the error to answer, and the request id to answer it on, if any. */
export interface Refusal {
  readonly id: number | undefined;
  readonly error: ProtocolError;
}

const OPS: ReadonlySet<string> = new Set([
  'hello',
  'snapshot',
  'subscribe',
  'unsubscribe',
  'ack',
  'submit',
  'cancel',
  'failures',
  'retry',
  'pause',
]);

const WHEN_FULL: ReadonlySet<string> = new Set(['drop-oldest', 'drop-newest', 'close']);

/** Longest name (topic, type, key, job id) a frame may carry. */
const MAX_NAME = 256;

/**
 * Checks one frame from a client: a plain object within the limits, a known operation,
 * every field of the right type. Never throws, whatever `data` is (a getter that throws, a
 * cycle, a proxy: the walk reads only plain data, and refuses anything else).
 */
export function parseClientFrame(data: unknown, limits: BridgeLimits): ClientFrame | Refusal {
  if (data instanceof ProtocolError) return { id: undefined, error: data };
  // Read before the walk, so a refused frame is answered on its request id when it has one.
  const id = isRecord(data) ? requestId(data['id']) : undefined;
  const size = measure(data, limits);
  if (size !== undefined) return { id, error: size };
  if (!isRecord(data)) return refuse(undefined, 'malformed', 'a frame must be a plain object');
  const t = data['t'];
  if (typeof t !== 'string') return refuse(id, 'malformed', 'a frame needs an operation `t`');
  if (!OPS.has(t)) return refuse(id, 'unknown-op', `unknown operation "${t.slice(0, MAX_NAME)}"`);
  const check = new Fields(data, id);
  const frame = parseOp(t, check);
  return check.refusal ?? frame;
}

function parseOp(t: string, f: Fields): ClientFrame {
  switch (t) {
    case 'hello':
      return { t, id: f.id(), protocol: f.int('protocol', 0) };
    case 'snapshot':
    case 'failures':
      return { t, id: f.id() };
    case 'subscribe': {
      const since = f.data['since'] === undefined ? undefined : f.int('since', 0);
      return {
        t,
        id: f.id(),
        sub: f.int('sub', 0),
        topics: f.topics(),
        buffer: f.int('buffer', 1),
        whenFull: f.oneOf('whenFull', WHEN_FULL) as SubscriberWhenFull,
        ...(since === undefined ? {} : { since }),
      };
    }
    case 'unsubscribe':
      return { t, sub: f.int('sub', 0) };
    case 'ack':
      return { t, sub: f.int('sub', 0), n: f.int('n', 1) };
    case 'submit':
      return {
        t,
        id: f.id(),
        type: f.name('type'),
        input: f.data['input'],
        options: f.jobOptions(),
      };
    case 'cancel':
      return { t, id: f.id(), job: f.name('job') };
    case 'retry':
      return { t, id: f.id(), key: f.name('key') };
    default: {
      const type = f.data['type'] === null ? null : f.name('type');
      return { t: 'pause', id: f.id(), type, paused: f.bool('paused') };
    }
  }
}

/** Reads a frame's fields, remembering the first that is wrong. */
class Fields {
  refusal: Refusal | undefined;

  constructor(
    readonly data: Record<string, unknown>,
    readonly requestId: number | undefined,
  ) {}

  id(): number {
    if (this.requestId === undefined) this.#wrong('id', 'a request id (a non-negative integer)');
    return this.requestId ?? 0;
  }

  int(field: string, min: number): number {
    const value = this.data[field];
    if (!Number.isSafeInteger(value) || (value as number) < min) {
      this.#wrong(field, `an integer of at least ${min}`);
      return min;
    }
    return value as number;
  }

  bool(field: string): boolean {
    const value = this.data[field];
    if (typeof value !== 'boolean') this.#wrong(field, 'a boolean');
    return value === true;
  }

  name(field: string): string {
    const value = this.data[field];
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME) {
      this.#wrong(field, `a string of 1 to ${MAX_NAME} characters`);
      return '';
    }
    return value;
  }

  oneOf(field: string, allowed: ReadonlySet<string>): string {
    const value = this.data[field];
    if (typeof value !== 'string' || !allowed.has(value)) {
      this.#wrong(field, `one of ${[...allowed].join(', ')}`);
      return '';
    }
    return value;
  }

  topics(): readonly string[] | '*' {
    const value = this.data['topics'];
    if (value === '*') return '*';
    const ok =
      Array.isArray(value) &&
      value.length > 0 &&
      value.every((t) => typeof t === 'string' && t !== '' && t !== '*' && t.length <= MAX_NAME);
    if (!ok) this.#wrong('topics', "'*' or a non-empty array of topic names");
    return ok ? (value as string[]) : [];
  }

  jobOptions(): RemoteJobOptions {
    const value = this.data['options'];
    if (value === undefined) return {};
    if (!isRecord(value)) {
      this.#wrong('options', 'an object');
      return {};
    }
    // Each option's own rules are the pool's: it validates them as it does a local
    // submit's, and its TypeError comes back as the reply. Here only the shape.
    const known = ['priority', 'key', 'timeoutMs', 'retry', 'meta'];
    const unknown = Object.keys(value).find((k) => !known.includes(k));
    if (unknown !== undefined) this.#wrong(`options.${unknown.slice(0, MAX_NAME)}`, 'not there');
    const retry = value['retry'];
    if (retry !== undefined) {
      const keys = isRecord(retry) ? Object.keys(retry) : ['?'];
      if (keys.some((k) => !['attempts', 'baseMs', 'maxMs'].includes(k))) {
        this.#wrong('options.retry', 'an object of attempts, baseMs and maxMs');
      }
    }
    return value;
  }

  #wrong(field: string, expected: string): void {
    this.refusal ??= refuse(this.requestId, 'malformed', `${field} must be ${expected}`);
  }
}

function refuse(id: number | undefined, reason: ProtocolFailure, message: string): Refusal {
  return { id, error: new ProtocolError(message, { reason }) };
}

function requestId(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : undefined;
}

/** A plain object: its prototype is Object's or null (not an array, a Map, a Date…). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Walks `data` without recursion (a deeply nested frame cannot overflow the stack) and
 * refuses it as soon as it is too deep, too big, or holds something that is not plain data
 * (only null, undefined, booleans, finite numbers, strings, arrays and plain objects).
 */
function measure(data: unknown, limits: BridgeLimits): ProtocolError | undefined {
  let size = 0;
  const stack: [unknown, number][] = [[data, 0]];
  while (stack.length > 0 || size > limits.maxFrameBytes) {
    const [value, depth] = stack.pop() ?? [undefined, 0];
    size += 8;
    if (typeof value === 'string') size += value.length;
    if (size > limits.maxFrameBytes) {
      return new ProtocolError(`a frame must be at most ${limits.maxFrameBytes} bytes`, {
        reason: 'too-large',
      });
    }
    if (value === null || value === undefined || typeof value === 'boolean') continue;
    if (typeof value === 'string') continue;
    if (typeof value === 'number') {
      if (Number.isFinite(value)) continue;
      return new ProtocolError('a frame holds a number that is not finite', {
        reason: 'malformed',
      });
    }
    const children = Array.isArray(value) ? value : isRecord(value) ? Object.values(value) : null;
    if (children === null) {
      return new ProtocolError(
        `a frame must be plain data, and holds ${Object.prototype.toString.call(value)}`,
        { reason: 'malformed' },
      );
    }
    if (depth >= limits.maxDepth && children.length > 0) {
      return new ProtocolError(`a frame must nest at most ${limits.maxDepth} levels`, {
        reason: 'too-large',
      });
    }
    // Counted before walking them, so a huge array is refused without a huge stack.
    size += 8 * children.length;
    if (!Array.isArray(value)) for (const key of Object.keys(value)) size += key.length;
    if (size > limits.maxFrameBytes) continue;
    for (const child of children) stack.push([child, depth + 1]);
  }
  return undefined;
}
