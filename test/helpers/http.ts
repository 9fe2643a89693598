/**
 * Real HTTP servers on loopback for tests that fetch, closed after each test.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll } from 'vitest';

export type Handler = (request: IncomingMessage, response: ServerResponse) => void;

const servers = new Set<Server>();

/** Closes a server and every connection it still has. */
export function closeServer(server: Server): Promise<void> {
  servers.delete(server);
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

afterEach(async () => {
  await Promise.all([...servers].map(closeServer));
});

/**
 * Node's `fetch` (undici) starts a process-wide clock timer on its first request and keeps
 * it for the life of the process. Made before any test, it is not counted as a timer
 * that a test left behind.
 */
beforeAll(async () => {
  const base = await serve((_, response) => response.end());
  await (await fetch(base)).arrayBuffer();
  await closeServer([...servers].at(-1) as Server);
});

/** Starts a server on a free loopback port; resolves with its base URL (no trailing slash). */
export async function serve(handler: Handler): Promise<string> {
  const server = createServer(handler);
  servers.add(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The server of `serve`'s most recent call, for a test that stops it early. */
export function lastServer(): Server {
  const server = [...servers].at(-1);
  if (server === undefined) throw new Error('no server is running');
  return server;
}
