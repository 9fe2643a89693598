/**
 * A loopback HTTP server that serves feeds the way real publishers do: validators and
 * 304s, latency, and the misbehaviours a reader meets (a server error that clears up, a
 * server too slow for its timeout, a rate limit with `Retry-After`, a feed that is gone
 * or has moved). Each feed belongs to a host (`127.0.0.N`: every address in 127/8 is
 * loopback on Linux), so per-host politeness can be seen; the server counts what it is
 * asked, and how many requests each host and each feed had open at once.
 *
 * It backs the demo, and the tests use it to check what the fetcher does to servers.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from '../internal/timer.js';

/** How a feed misbehaves. */
export type FeedBehaviour =
  /** Answers 500 to its first `failures` requests, then serves normally. */
  | { readonly kind: 'flaky'; readonly failures: number }
  /** Starts answering only after `delayMs` (past a fetcher's timeout, say). */
  | { readonly kind: 'slow'; readonly delayMs: number }
  /** Answers 429 with `Retry-After: retryAfterSeconds` to its first `times` requests. */
  | { readonly kind: 'rate-limited'; readonly retryAfterSeconds: number; readonly times: number }
  /** Answers 410. */
  | { readonly kind: 'gone' }
  /** Redirects with `status` to the feed named `to` (on its own host). */
  | { readonly kind: 'moved'; readonly status: 301 | 302 | 307 | 308; readonly to: string };

/** A feed to serve. */
export interface ServedFeed {
  /** Its path: `/<name>`. Unique across the server. */
  readonly name: string;
  /** The loopback address of its host, `127.0.0.1` to `127.255.255.254`. */
  readonly host: string;
  readonly body: Uint8Array | string;
  /** @default 'application/xml' */
  readonly contentType?: string | undefined;
  readonly behaviour?: FeedBehaviour | undefined;
}

/** What the server saw of one feed. */
export interface FeedStats {
  readonly requests: number;
  /** Answers of 304 Not Modified. */
  readonly notModified: number;
  /** The most requests for the feed open at once. */
  readonly maxConcurrent: number;
}

/** What the server saw of one host. */
export interface HostStats {
  readonly requests: number;
  /** Requests to the host open now. */
  readonly open: number;
  /** The most requests to the host open at once. */
  readonly maxConcurrent: number;
}

interface Served {
  readonly feed: ServedFeed;
  body: Buffer;
  etag: string;
  requests: number;
  notModified: number;
  open: number;
  maxConcurrent: number;
}

interface Host {
  readonly server: Server;
  readonly base: string;
  requests: number;
  open: number;
  maxConcurrent: number;
}

/** Every feed's `Last-Modified`: the server's content does not age. */
const LAST_MODIFIED = 'Mon, 30 Nov 2026 08:00:00 GMT';

export class FeedServer {
  readonly #feeds = new Map<string, Served>();
  readonly #hosts = new Map<string, Host>();
  readonly #latencyMs: number;

  readonly #port: number;

  private constructor(latencyMs: number, port: number) {
    this.#latencyMs = latencyMs;
    this.#port = port;
  }

  /**
   * Starts one listener per host and serves `feeds`.
   * @param latencyMs added before every answer.
   * @param port every host's port (0: a free one each). A fixed port keeps the feeds' URLs
   *   from one run to the next, as a publisher's are.
   * @throws TypeError for a duplicate name, or a host that is not a loopback address;
   *   the listen error (EADDRINUSE) for a port in use.
   */
  static async start(
    feeds: readonly ServedFeed[],
    { latencyMs = 0, port = 0 } = {},
  ): Promise<FeedServer> {
    const server = new FeedServer(latencyMs, port);
    for (const feed of feeds) {
      if (server.#feeds.has(feed.name)) throw new TypeError(`feed name ${feed.name} is used twice`);
      if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(feed.host)) {
        throw new TypeError(`host must be a 127.x.y.z loopback address, got ${feed.host}`);
      }
      const body = Buffer.from(feed.body);
      server.#feeds.set(feed.name, {
        feed,
        body,
        etag: etagOf(body),
        requests: 0,
        notModified: 0,
        open: 0,
        maxConcurrent: 0,
      });
    }
    try {
      for (const host of new Set(feeds.map((feed) => feed.host))) await server.#listen(host);
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /** The URL of the feed `name`. */
  url(name: string): string {
    const served = this.#served(name);
    return `${this.#host(served.feed.host).base}/${name}`;
  }

  /**
   * Replaces a feed's body. Its ETag changes with it, unless `etag` is given: servers
   * also change an ETag alone (a new deploy, another cache node), which a reader must store.
   */
  setBody(name: string, body: Uint8Array | string, { etag }: { etag?: string } = {}): void {
    const served = this.#served(name);
    served.body = Buffer.from(body);
    served.etag = etag ?? etagOf(served.body);
  }

  /** What the server saw of each feed, by name. */
  feedStats(): ReadonlyMap<string, FeedStats> {
    return new Map(
      [...this.#feeds].map(([name, s]) => [
        name,
        { requests: s.requests, notModified: s.notModified, maxConcurrent: s.maxConcurrent },
      ]),
    );
  }

  /** What the server saw of each host, by address. */
  hostStats(): ReadonlyMap<string, HostStats> {
    return new Map(
      [...this.#hosts].map(([address, h]) => [
        address,
        { requests: h.requests, open: h.open, maxConcurrent: h.maxConcurrent },
      ]),
    );
  }

  /** Closes every listener and connection. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.#hosts.values()].map(
        ({ server }) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
    this.#hosts.clear();
  }

  #served(name: string): Served {
    const served = this.#feeds.get(name);
    if (served === undefined) throw new TypeError(`no feed is named ${name}`);
    return served;
  }

  #host(address: string): Host {
    const host = this.#hosts.get(address);
    if (host === undefined) throw new Error(`the server is closed`);
    return host;
  }

  async #listen(address: string): Promise<void> {
    const server = createServer((request, response) => this.#handle(address, request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, address, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    this.#hosts.set(address, {
      server,
      base: `http://${address}:${port}`,
      requests: 0,
      open: 0,
      maxConcurrent: 0,
    });
  }

  #handle(address: string, request: IncomingMessage, response: ServerResponse): void {
    const host = this.#host(address);
    const served = this.#feeds.get((request.url ?? '').slice(1));
    host.requests++;
    host.open++;
    host.maxConcurrent = Math.max(host.maxConcurrent, host.open);
    if (served !== undefined) {
      served.requests++;
      served.open++;
      served.maxConcurrent = Math.max(served.maxConcurrent, served.open);
    }
    // 'close' comes once per response, answered or abandoned by the client.
    response.once('close', () => {
      host.open--;
      if (served !== undefined) served.open--;
    });
    const delay = served?.feed.behaviour?.kind === 'slow' ? served.feed.behaviour.delayMs : 0;
    const timer = after(this.#latencyMs + delay, () => this.#answer(request, response, served));
    response.once('close', () => timer.clear());
  }

  #answer(request: IncomingMessage, response: ServerResponse, served: Served | undefined): void {
    if (served === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('no such feed');
      return;
    }
    const behaviour = served.feed.behaviour;
    switch (behaviour?.kind) {
      case 'flaky':
        if (served.requests <= behaviour.failures) {
          response.writeHead(500).end('try again later');
          return;
        }
        break;
      case 'rate-limited':
        if (served.requests <= behaviour.times) {
          response.writeHead(429, { 'retry-after': String(behaviour.retryAfterSeconds) }).end();
          return;
        }
        break;
      case 'gone':
        response.writeHead(410).end();
        return;
      case 'moved':
        response.writeHead(behaviour.status, { location: this.url(behaviour.to) }).end();
        return;
      default:
        break;
    }
    const headers = { etag: served.etag, 'last-modified': LAST_MODIFIED };
    if (request.headers['if-none-match'] === served.etag) {
      served.notModified++;
      response.writeHead(304, headers).end();
      return;
    }
    response
      .writeHead(200, {
        ...headers,
        'content-type': served.feed.contentType ?? 'application/xml',
        'content-length': served.body.byteLength,
      })
      .end(served.body);
  }
}

function etagOf(body: Buffer): string {
  return `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`;
}
