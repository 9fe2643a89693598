/**
 * The live dashboard's server: one page, its script, and the bridge over a WebSocket,
 * on a loopback address only.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { StopContext } from '../../lifecycle/lifecycle.js';
import type { WorkPool } from '../../pool/work-pool.js';
import type { Database } from '../../store/database.js';
import type { FailureTracker } from '../../store/failure-tracker.js';
import { duration, integer, options as checkOptions } from '../../validate.js';
import { serveWorkbus, type BridgeBus, type BridgeConnection } from '../host.js';
import { wsPort } from '../node-port.js';
import { bundlePage, pageSourceHere } from './bundle.js';
import { dashboardHtml } from './html.js';

/** Options of {@link serveDashboard}. */
export interface DashboardOptions {
  readonly pool: WorkPool;
  readonly bus?: BridgeBus | undefined;
  readonly tracker?: FailureTracker | undefined;
  readonly store?: Database | undefined;
  /** Show everything, offer no action (no cancel, retry or pause): the bridge is served read-only. @default false */
  readonly readOnly?: boolean | undefined;
  /** A loopback address: `127.0.0.1`, `::1` or `localhost`. @default '127.0.0.1' */
  readonly host?: string | undefined;
  /** The port; 0 for any free one. @default 0 */
  readonly port?: number | undefined;
  /** How often the page asks for a snapshot, in milliseconds. @default 500 */
  readonly refreshMs?: number | undefined;
  /** Most pages connected at once; one more is refused (503). @default 16 */
  readonly maxClients?: number | undefined;
  /**
   * The page script. @default the browser bundle `npm run build` writes beside this
   * module; from a checkout's TypeScript (tsx, tests), one bundled from source on first use
   */
  readonly script?: string | URL | undefined;
}

/** A running dashboard. */
export interface DashboardServer {
  /** The page's address, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  readonly port: number;
  /** Pages connected now. */
  readonly clients: number;
  /** Closes every page's connection and the server. Idempotent. */
  close(): Promise<void>;
  /** `close()`, as a `Lifecycle` component. */
  stop(context: StopContext): Promise<void>;
}

const OPTIONS = [
  'pool',
  'bus',
  'tracker',
  'store',
  'readOnly',
  'host',
  'port',
  'refreshMs',
  'maxClients',
  'script',
] as const;

const LOOPBACK = ['127.0.0.1', '::1', 'localhost'];
const SOCKET_PATH = '/bridge';
const SCRIPT_PATH = '/dashboard.js';
/** Largest frame a page may send (its commands are a few hundred bytes). */
const MAX_FRAME_BYTES = 64 * 1024;

/**
 * Serves the live dashboard for `pool` (and its bus, tracker and store) at a loopback
 * address, and resolves once it listens. Each page is a bridge client over a WebSocket:
 * it sees snapshots a few times a second and, unless `readOnly`, cancels jobs, retries
 * failed keys and pauses or resumes types.
 *
 * Only this machine's pages get in: the server listens on loopback, answers only requests
 * whose `Host` is its own address (a DNS-rebinding page names another host) and accepts a
 * WebSocket only from its own page's origin (another site's page cannot steer the pool).
 *
 * @throws TypeError/RangeError for bad options (a host that is not loopback included);
 *   the listen error (EADDRINUSE) for a port in use; an error naming the script when the
 *   page script is missing (run `npm run build`).
 * @example
 * ```ts
 * const dashboard = await serveDashboard({ pool, bus, tracker, store: db, port });
 * log(`dashboard: ${dashboard.url}`);
 * // dashboard: http://127.0.0.1:8080/
 * ```
 */
export async function serveDashboard(options: DashboardOptions): Promise<DashboardServer> {
  const o = checkOptions('serveDashboard options', options, OPTIONS);
  const host = (o['host'] as string | undefined) ?? '127.0.0.1';
  if (!LOOPBACK.includes(host)) {
    throw new RangeError(`host must be a loopback address (${LOOPBACK.join(', ')}), got ${host}`);
  }
  const readOnly = o['readOnly'] ?? false;
  if (typeof readOnly !== 'boolean') {
    throw new TypeError(`readOnly must be a boolean, got ${typeof readOnly}`);
  }
  const port = integer('port', o['port'] ?? 0, 0, 65_535);
  const refreshMs = duration('refreshMs', o['refreshMs'] ?? 500, 50);
  const maxClients = integer('maxClients', o['maxClients'] ?? 16, 1);
  const script = await pageScript(o['script'] as string | URL | undefined);
  const connections = new Set<BridgeConnection>();
  const serve = (socket: Parameters<typeof wsPort>[0]): void => {
    const connection = serveWorkbus(wsPort(socket, { maxFrameBytes: MAX_FRAME_BYTES }), {
      pool: options.pool,
      bus: options.bus,
      tracker: options.tracker,
      store: options.store,
      allow: readOnly ? undefined : { cancel: true, retry: true, pause: true },
    });
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
  };
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  let origin = '';
  const html = (): string =>
    dashboardHtml({ readOnly, socket: SOCKET_PATH, refreshMs }, SCRIPT_PATH);
  const server = createServer((request, response) => {
    if (!ownHost(request, origin)) return refuse(response, 403, 'unknown host');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return refuse(response, 405, 'method not allowed');
    }
    const path = new URL(request.url ?? '/', origin).pathname;
    if (path === '/') return send(response, 'text/html; charset=utf-8', html());
    if (path === SCRIPT_PATH) return send(response, 'text/javascript; charset=utf-8', script);
    // Browsers ask for an icon; there is none, and a 404 would be logged as an error.
    if (path === '/favicon.ico') return void response.writeHead(204).end();
    return refuse(response, 404, 'not found');
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', origin).pathname;
    const refusal =
      path !== SOCKET_PATH
        ? '404 Not Found'
        : !ownHost(request, origin) || request.headers.origin !== `http://${request.headers.host}`
          ? '403 Forbidden'
          : connections.size >= maxClients
            ? '503 Service Unavailable'
            : undefined;
    if (refusal !== undefined) {
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(request, socket, head, serve);
  });
  await listen(server, host, port);
  const bound = (server.address() as AddressInfo).port;
  const name = host.includes(':') ? `[${host}]` : host;
  origin = `http://${name}:${bound}`;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      for (const connection of connections) connection.close();
      await Promise.all([...connections].map((c) => c.closed));
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    })());
  return {
    url: `${origin}/`,
    port: bound,
    get clients() {
      return connections.size;
    },
    close,
    stop: () => close(),
  };
}

/** The page script bundled once per process, when running from a checkout's TypeScript. */
let fromSource: Promise<Uint8Array> | undefined;

/** The page script: `given`, else the bundle beside this module, else one made from source. */
async function pageScript(given: string | URL | undefined): Promise<Uint8Array> {
  const url = given ?? new URL('./page.js', import.meta.url);
  try {
    return await readFile(url);
  } catch (error) {
    // tsx or the tests run the server from src/, where `npm run build` writes no bundle.
    if (given === undefined && pageSourceHere()) return (fromSource ??= bundlePage());
    throw new Error(
      `The dashboard's page script ${String(url)} cannot be read (run \`npm run build\`): ${String(error)}`,
      { cause: error },
    );
  }
}

/** Whether the request names this server: its own address and port, as the page was loaded. */
function ownHost(request: IncomingMessage, origin: string): boolean {
  const host = request.headers.host;
  if (host === undefined) return false;
  const port = new URL(origin).port;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host);
}

function send(response: ServerResponse, type: string, body: string | Uint8Array): void {
  response.writeHead(200, {
    'content-type': type,
    'cache-control': 'no-store',
    // Scripts only from this server; the bridge only to this server's own address.
    'content-security-policy':
      "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
  });
  response.end(body);
}

function refuse(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
