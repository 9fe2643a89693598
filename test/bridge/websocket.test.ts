/**
 * The bridge over a real WebSocket on loopback: the host on a `ws` server (`wsPort`), the
 * client on the standard WebSocket interface (`webSocketPort`; `ws`'s client implements
 * it, as a browser's does), frames as JSON text.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import {
  connectWorkbus,
  RESYNC_TOPIC,
  RemoteError,
  serveWorkbus,
  webSocketPort,
  wsPort,
  type BridgeConnection,
  type ResyncEnvelope,
} from '../../src/bridge/index.js';
import { EventBus, WorkPool, waitForAbort, type PoolEvents } from '../../src/index.js';
import { checked } from './harness.js';

interface Events extends PoolEvents {
  'demo.tick': { readonly n: number };
}

let server: WebSocketServer;
let url: string;
let bus: EventBus<Events>;
let pool: WorkPool;
let connections: BridgeConnection[];
let sockets: WebSocket[];

beforeEach(async () => {
  bus = new EventBus<Events>();
  pool = new WorkPool({
    concurrency: 2,
    types: { echo: { concurrency: 2 }, wait: { concurrency: 1 } },
    bus,
  });
  connections = [];
  sockets = [];
  // ws's own bound (it closes the socket past it); the bridge refuses smaller frames first.
  server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1024 * 1024 });
  server.on('connection', (socket) => {
    sockets.push(socket);
    connections.push(
      serveWorkbus(wsPort(socket), {
        pool,
        bus,
        allow: { submit: ['echo', 'wait'] },
        tasks: {
          echo: (input) => input,
          wait: async (_, { signal }) => Promise.reject(await waitForAbort(signal)),
        },
      }),
    );
  });
  await once(server, 'listening');
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const connection of connections) connection.close();
  await Promise.all(connections.map((c) => c.closed));
  for (const socket of sockets) {
    if (socket.readyState !== WebSocket.CLOSED) await once(socket, 'close');
  }
  await new Promise((resolve) => server.close(resolve));
  await pool.close({ graceMs: 0 });
  bus.close();
});

function dial(): ReturnType<typeof webSocketPort> {
  return checked(webSocketPort(new WebSocket(url)));
}

describe('bridge over WebSocket', () => {
  it('snapshot, submit and its result, subscription events, as JSON text over loopback', async () => {
    const client = await connectWorkbus(dial);
    expect((await client.snapshot()).pool.types['echo']).toMatchObject({ limit: 2 });
    const job = await client.submit('echo', { hello: ['world', 1] });
    await expect(job.result).resolves.toEqual({ hello: ['world', 1] });
    const sub = client.subscribe(['demo.tick'], { buffer: 16 });
    while (connections[0]?.stats().subscriptions.length !== 1)
      await new Promise((r) => setImmediate(r));
    for (let n = 1; n <= 3; n++) bus.publish('demo.tick', { n });
    const seen: unknown[] = [];
    for await (const envelope of sub) if (seen.push(envelope.payload) === 3) break;
    expect(seen).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    client.close();
    await connections[0]?.closed;
  });

  it('cancel by id over the socket aborts the job; a second cancel is false', async () => {
    const client = await connectWorkbus(dial);
    const job = await client.submit('wait', null);
    await expect(job.cancel()).resolves.toBe(true);
    await expect(job.cancel()).resolves.toBe(false);
    const error = await job.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).code).toBe('ABORTED');
    client.close();
  });

  it('a frame past the size limit gets a typed error; the connection goes on', async () => {
    const socket = new WebSocket(url);
    await once(socket, 'open');
    const replies: unknown[] = [];
    socket.on('message', (data: Buffer) => replies.push(JSON.parse(data.toString())));
    socket.send(JSON.stringify({ t: 'hello', id: 1, protocol: 1 }));
    socket.send(JSON.stringify({ t: 'snapshot', id: 2, pad: 'x'.repeat(70_000) }));
    socket.send('not json');
    socket.send(JSON.stringify({ t: 'snapshot', id: 3 }));
    while (replies.length < 4) await new Promise((r) => setImmediate(r));
    expect(replies).toMatchObject([
      { t: 'reply', id: 1, ok: true },
      {
        t: 'error',
        error: { code: 'BRIDGE_PROTOCOL', message: 'a frame must be at most 65536 bytes' },
      },
      { t: 'error', error: { code: 'BRIDGE_PROTOCOL', message: 'a WebSocket frame must be JSON' } },
      { t: 'reply', id: 3, ok: true },
    ]);
    socket.close();
    await connections[0]?.closed;
  });

  it('a socket that closes releases the host side; the client reconnects and is told the gap', async () => {
    const client = await connectWorkbus(dial, { reconnect: { baseMs: 1, maxMs: 5 } });
    const sub = client.subscribe(['demo.tick']);
    while (connections[0]?.stats().subscriptions.length !== 1)
      await new Promise((r) => setImmediate(r));
    const listening = bus.subscriberCount;
    sockets[0]?.terminate();
    await connections[0]?.closed;
    expect(bus.subscriberCount).toBe(listening - 1);
    bus.publish('demo.tick', { n: 1 });
    const next = (await sub[Symbol.asyncIterator]().next()).value as ResyncEnvelope;
    expect(next.topic).toBe(RESYNC_TOPIC);
    expect(next.payload).toMatchObject({ reason: 'reconnected' });
    expect(next.payload.missed).toBeGreaterThanOrEqual(0);
    client.close();
  });

  it('a reconnect attempt that fails is followed by another, until one connects', async () => {
    // A port nobody listens on: the attempt's socket fails to connect and closes.
    const gone = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(gone, 'listening');
    const refused = `ws://127.0.0.1:${(gone.address() as AddressInfo).port}`;
    await new Promise((resolve) => gone.close(resolve));
    let calls = 0;
    const client = await connectWorkbus(
      () => checked(webSocketPort(new WebSocket(++calls === 2 ? refused : url))),
      { reconnect: { baseMs: 1, maxMs: 5 } },
    );
    const sub = client.subscribe(['demo.tick']);
    await sub.ready;
    sockets[0]?.terminate();
    const next = (await sub[Symbol.asyncIterator]().next()).value as ResyncEnvelope;
    expect(next.payload.reason).toBe('reconnected');
    expect(calls).toBe(3);
    expect(client.state).toBe('open');
    client.close();
  });
});
