/**
 * The bridge tests' host: `fixtures/host.ts` in a worker thread (TypeScript loaded through
 * tsx in the thread, as the store starts its own), and clients in the test's thread, each
 * on a `MessageChannel` whose other end is handed to the host. Every frame either side
 * sends is checked to be plain data that survives `structuredClone` unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { afterAll, beforeAll, expect } from 'vitest';
import {
  connectWorkbus,
  nodePort,
  type BridgeAllow,
  type ConnectOptions,
  type ConnectionStats,
  type FramePort,
  type WorkbusClient,
} from '../../src/bridge/index.js';
import type { Control } from './fixtures/host.js';

/** Fails the test if `frame` is not plain data, or does not survive structuredClone as it is. */
export function expectPlain(frame: unknown): void {
  expect(structuredClone(frame)).toStrictEqual(frame);
  const stack = [frame];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) {
      expect(['string', 'number', 'boolean', 'undefined', 'object']).toContain(typeof value);
      continue;
    }
    expect([Object.prototype, Array.prototype, null]).toContain(Object.getPrototypeOf(value));
    stack.push(...(Object.values(value) as unknown[]));
  }
}

/** `port`, with every frame sent and received checked by {@link expectPlain} and counted. */
export function checked(port: FramePort, counts = { sent: 0, received: 0 }): FramePort {
  return {
    send(frame) {
      expectPlain(frame);
      counts.sent++;
      port.send(frame);
    },
    start(onFrame, onClose) {
      port.start((frame) => {
        expectPlain(frame);
        counts.received++;
        onFrame(frame);
      }, onClose);
    },
    close: () => port.close(),
  };
}

export class HostWorker {
  readonly #worker: Worker;
  readonly #dir: string;
  #next = 0;
  readonly #pending = new Map<number, (reply: { value?: unknown; error?: string }) => void>();
  /** Frames checked on every client's port. */
  readonly frames = { sent: 0, received: 0 };

  private constructor(worker: Worker, dir: string) {
    this.#worker = worker;
    this.#dir = dir;
    worker.on('message', (reply: { id: number; value?: unknown; error?: string }) => {
      this.#pending.get(reply.id)?.(reply);
      this.#pending.delete(reply.id);
    });
  }

  static async start(): Promise<HostWorker> {
    const dir = mkdtempSync(join(tmpdir(), 'workbus-bridge-'));
    const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
    const fixture = JSON.stringify(new URL('./fixtures/host.ts', import.meta.url).href);
    const entry = `import(${tsx}).then((api) => { api.register(); return import(${fixture}); });`;
    const worker = new Worker(entry, { eval: true, workerData: { dbPath: join(dir, 'host.db') } });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`The host thread exited with code ${code}`)));
    });
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    return new HostWorker(worker, dir);
  }

  /** Sends a control request to the host and waits for its answer. */
  async control(message: Control, transfer: readonly MessagePort[] = []): Promise<unknown> {
    const id = ++this.#next;
    const reply = await new Promise<{ value?: unknown; error?: string }>((resolve) => {
      this.#pending.set(id, resolve);
      this.#worker.postMessage({ id, message }, transfer as MessagePort[]);
    });
    if (reply.error !== undefined) throw new Error(reply.error);
    return reply.value;
  }

  /**
   * A fresh channel: one end served by the host, the other a client port, checked unless
   * `raw` (for sending junk).
   */
  async port(allow?: BridgeAllow, raw = false): Promise<{ port: FramePort; conn: number }> {
    const { port1, port2 } = new MessageChannel();
    const conn = (await this.control(
      { cmd: 'serve', port: port1, ...(allow === undefined ? {} : { allow }) },
      [port1],
    )) as number;
    const port = nodePort(port2);
    return { port: raw ? port : checked(port, this.frames), conn };
  }

  /** A client connected over a fresh channel. */
  async connect(
    allow?: BridgeAllow,
    options?: ConnectOptions,
  ): Promise<{ client: WorkbusClient; conn: number }> {
    const { port, conn } = await this.port(allow);
    return { client: await connectWorkbus(port, options), conn };
  }

  stats(conn: number): Promise<ConnectionStats> {
    return this.control({ cmd: 'stats', conn }) as Promise<ConnectionStats>;
  }

  async stop(): Promise<void> {
    await this.control({ cmd: 'stop' });
    await new Promise((resolve) => this.#worker.once('exit', resolve));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/**
 * Starts a host thread before the file's tests and stops it after them; the function
 * returned gives the running host.
 */
export function hostForFile(): () => HostWorker {
  let host: HostWorker | undefined;
  beforeAll(async () => {
    host = await HostWorker.start();
  }, 60_000);
  afterAll(async () => {
    await host?.stop();
  });
  return () => host as HostWorker;
}
