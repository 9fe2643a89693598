/**
 * The adapters: Electron's, ws's and Node's own types fit the bridge's structural port
 * types (checked by the type checker: `npm run typecheck` covers tests), the client
 * bundles for a browser with no Node import, and a DOM-style MessagePort carries it.
 */
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import type { MessagePortMain } from 'electron';
import { build } from 'esbuild';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { WebSocket } from 'ws';
import {
  browserPort,
  connectWorkbus,
  nodePort,
  serveWorkbus,
  type ElectronPortLike,
  type MessagePortLike,
  type WebSocketLike,
  type WsSocketLike,
} from '../../src/bridge/index.js';
import { WorkPool } from '../../src/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('port types', () => {
  it("Electron's MessagePortMain fits electronPort (type-checked against the electron package)", () => {
    expectTypeOf<MessagePortMain>().toExtend<ElectronPortLike>();
  });

  it("ws's WebSocket fits wsPort (host) and webSocketPort (client)", () => {
    expectTypeOf<WebSocket>().toExtend<WsSocketLike>();
    expectTypeOf<WebSocket>().toExtend<WebSocketLike>();
  });
});

describe('the client in a browser', () => {
  it('bundles for the browser platform with no Node built-in in its import graph', async () => {
    const result = await build({
      stdin: {
        contents: [
          "export { connectWorkbus } from './src/bridge/client.ts';",
          "export { browserPort, webSocketPort } from './src/bridge/port.ts';",
        ].join('\n'),
        resolveDir: root,
        loader: 'ts',
      },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs).filter((file) => file !== '<stdin>');
    expect(
      inputs.filter((file) => file.startsWith('node:') || !/\.(ts|js|mjs|cjs)$/.test(file)),
    ).toEqual([]);
    expect(inputs).toContain('src/bridge/client.ts');
    expect(
      inputs.filter((file) => /worker_threads|electron|node_modules\/ws\//.test(file)),
    ).toEqual([]);
  });

  it('workbus/bridge as a whole bundles for the browser too (the host calls what it is given)', async () => {
    const result = await build({
      entryPoints: [`${root}src/bridge/index.ts`],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    expect(result.outputFiles[0]?.text).toContain('connectWorkbus');
  });

  it('runs over a DOM-style MessagePort (browserPort), the host on the other end', async () => {
    const { port1, port2 } = new MessageChannel();
    const pool = new WorkPool({ concurrency: 1, types: { a: { concurrency: 1 } } });
    const connection = serveWorkbus(nodePort(port1), { pool });
    // Node's MessagePort behaves as a DOM one here (addEventListener, start), though its
    // types say Event where the DOM's say MessageEvent.
    const client = await connectWorkbus(browserPort(port2 as unknown as MessagePortLike));
    await expect(client.snapshot()).resolves.toMatchObject({
      pool: { types: { a: { limit: 1 } } },
    });
    client.close();
    await connection.closed;
    await pool.close();
  });
});
