/**
 * A throwaway Redis for the tests and for developers: Debian's `redis-server` on a free
 * loopback port, with no persistence (no RDB, no AOF) and its working directory in a
 * temporary directory removed when it stops.
 *
 * `npm run redis` runs it in the foreground and prints `WORKBUS_REDIS_URL=redis://…`
 * (export that line in another shell, then `npm test`); Ctrl-C stops it. `.ci/run` and
 * the test harness (`test/helpers/redis-setup.ts`) start it with {@link startRedis}.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A running redis-server. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /**
   * Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its temporary
   * directory. Idempotent.
   */
  stop(): Promise<void>;
}

/** How a developer gets a Redis when none is found (also the tests' failure message). */
export const HOW_TO_GET_REDIS =
  "Redis is needed: install Debian's redis-server (`sudo apt-get install -y redis-server`) so the tests start one themselves, or run `npm run redis` in another shell and export the WORKBUS_REDIS_URL it prints, or set WORKBUS_REDIS_URL to a Redis you own (its keys under the test prefixes are written and deleted).";

/** Whether `redis-server` is on the PATH. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** The port (a free one when omitted): a restart reuses its server's. */
  readonly port?: number;
  /**
   * Keep the data in this directory with an append-only file fsynced at every write, so a
   * restart on the same directory loses nothing acknowledged (the directory is then the
   * caller's, never removed). Without it: no persistence, a temporary directory.
   */
  readonly dataDir?: string;
}

/**
 * Starts redis-server and resolves once it accepts connections.
 * @throws Error when redis-server is missing or exits before it is ready.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  // A port found free may be taken before redis binds it: try a few.
  for (let tries = 0; ; tries++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(port, options.dataDir);
    } catch (error) {
      if (options.port !== undefined || tries >= 4) throw error;
    }
  }
}

async function launch(port: number, dataDir: string | undefined): Promise<RedisServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'workbus-redis-'));
  const persistence =
    dataDir === undefined
      ? ['--appendonly', 'no']
      : ['--appendonly', 'yes', '--appendfsync', 'always'];
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      ...persistence,
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--loglevel',
      'notice', // notice: the "Ready to accept connections" line waited for
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    await ready(child, port);
  } catch (error) {
    child.kill('SIGKILL');
    if (dataDir === undefined) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? 0,
    stop: () =>
      (stopping ??= (async () => {
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(force);
        if (dataDir === undefined) rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

/** Resolves when the server says it accepts connections; rejects if it exits first. */
function ready(child: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        child.stdout?.resume(); // keep draining, so a full pipe never blocks the server
        child.stderr?.resume();
        child.off('exit', onExit);
        child.off('error', onError);
        resolve();
      }
    };
    const onExit = (code: number | null): void =>
      reject(
        new Error(`redis-server on port ${port} exited (${code}) before it was ready:\n${output}`),
      );
    const onError = (error: Error): void =>
      reject(new Error(`${error.message}. ${HOW_TO_GET_REDIS}`, { cause: error }));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function main(): Promise<void> {
  if (!hasRedisServer()) {
    console.error(HOW_TO_GET_REDIS);
    process.exit(1);
  }
  const server = await startRedis();
  console.log(`WORKBUS_REDIS_URL=${server.url}`);
  const stop = (): void => {
    void server.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
