/**
 * Electron: the utility process that owns the pool (blocking it never freezes a window).
 * The main process hands it one end of a MessageChannelMain per window; it serves each.
 * Type-checked against Electron's types (the binary is not installed here, so this does
 * not run in the tests); the README's "Embedding in Electron" section is copied from it.
 */
import { EventBus, WorkPool, type PoolEvents } from 'workbus';
import { electronPort, serveWorkbus } from 'workbus/bridge';

const bus = new EventBus<PoolEvents>();
const pool = new WorkPool({ concurrency: 4, types: { thumbnail: { concurrency: 2 } }, bus });
const thumbnail = (input: unknown): string => `thumbnail of ${String(input)}`;

process.parentPort.on('message', ({ ports: [port] }) => {
  if (port === undefined) return;
  // One connection per window; a reload closes its port, and the host releases it all.
  serveWorkbus(electronPort(port), {
    pool,
    bus,
    allow: { submit: ['thumbnail'], cancel: true },
    tasks: { thumbnail: (input) => thumbnail(input) },
  });
});
