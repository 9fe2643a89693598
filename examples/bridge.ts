/**
 * The bridge (`workbus/bridge`): a pool hosted on one side of a port, seen and steered
 * from the other. The README's "Embedding" section and the TSDoc examples of
 * `serveWorkbus` and `connectWorkbus` are copied from here; `test/bridge/example.test.ts`
 * runs it.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { MessageChannel } from 'node:worker_threads';
import { WebSocket, WebSocketServer } from 'ws';
import { EventBus, WorkPool, type PoolEvents } from 'workbus';
import {
  RESYNC_TOPIC,
  connectWorkbus,
  nodePort,
  serveWorkbus,
  webSocketPort,
  wsPort,
} from 'workbus/bridge';

interface ResizeInput {
  readonly width: number;
}

/** Stands in for real work: honours its signal, reports progress. */
async function resize(input: ResizeInput, signal: AbortSignal): Promise<string> {
  signal.throwIfAborted();
  await Promise.resolve();
  return `resized to ${input.width}px`;
}

export async function bridge(log: (line: string) => void = console.log): Promise<void> {
  const bus = new EventBus<PoolEvents>();
  const pool = new WorkPool({ concurrency: 2, types: { resize: { concurrency: 2 } }, bus });

  // --- host
  const { port1, port2 } = new MessageChannel();
  const connection = serveWorkbus(nodePort(port1), {
    pool,
    bus,
    allow: { submit: ['resize'], cancel: true }, // leave allow out for read-only
    tasks: { resize: (input, { signal }) => resize(input as ResizeInput, signal) },
  });

  // --- client
  const client = await connectWorkbus(nodePort(port2));
  const job = await client.submit('resize', { width: 640 }, { priority: 5 });
  log(`${job.id}: ${String(await job.result)}`);
  // job-1: resized to 640px
  const { pool: state } = await client.snapshot();
  log(`succeeded: ${state.counts.succeeded}, may cancel: ${client.allow.cancel}`);
  // succeeded: 1, may cancel: true
  client.close(); // the host releases everything this client held
  await connection.closed;

  // --- websocket
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1 << 20 });
  server.on('connection', (socket) => serveWorkbus(wsPort(socket), { pool, bus })); // read-only
  await once(server, 'listening');
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const dashboard = await connectWorkbus(() => webSocketPort(new WebSocket(url)));
  const finished = dashboard.subscribe(['job.finished'], { buffer: 64 });
  await finished.ready; // the host has subscribed: what is published from now on arrives
  const render = (topic: string, payload: unknown): void =>
    log(`${topic} ${JSON.stringify(payload)}`);
  pool.submit('resize', () => 'done', { meta: { file: 'a.png' } });
  for await (const { topic, payload } of finished) {
    if (topic === RESYNC_TOPIC) continue; // fell behind or reconnected: payload.snapshot is fresh
    render(topic, (payload as { meta: unknown }).meta);
    break;
  }
  // job.finished {"file":"a.png"}
  dashboard.close();
  for (const socket of server.clients) socket.terminate();
  await new Promise((resolve) => server.close(resolve));
  await pool.close();
  bus.close();
}
