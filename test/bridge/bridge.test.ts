/**
 * The bridge protocol, end to end: the host in a worker thread (as a utility process
 * would run it) serving a pool, bus, store and tracker; clients in this thread. Every
 * frame is checked to be plain data (see harness.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DisconnectedError,
  RESYNC_TOPIC,
  RemoteError,
  connectWorkbus,
  type FramePort,
  type ResyncEnvelope,
  type WorkbusClient as Client,
} from '../../src/bridge/index.js';
import type { Envelope, JobView } from '../../src/index.js';
import { deferred } from '../helpers/deferred.js';
import { hostForFile } from './harness.js';

const theHost = hostForFile();
let host = undefined as unknown as ReturnType<typeof theHost>;

beforeAll(() => {
  host = theHost();
});

afterAll(() => {
  // Every frame both ways went through the plain-data check.
  expect(host.frames.sent).toBeGreaterThan(50);
  expect(host.frames.received).toBeGreaterThan(50);
});

const ALL = { submit: ['echo', 'gated', 'fail'], cancel: true, retry: true, pause: true };

async function errorOf(promise: Promise<unknown>): Promise<RemoteError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteError);
  return error as RemoteError;
}

/** Resolves once the host has released everything of connection `conn`. */
async function released(conn: number): Promise<void> {
  await host.control({ cmd: 'closed', conn });
}

describe('bridge: snapshot, submit, progress, finished', () => {
  it('welcomes with the protocol version, the permissions and the job types', async () => {
    const { client, conn } = await host.connect(ALL);
    expect(client.protocol).toBe(1);
    expect(client.allow).toEqual(ALL);
    expect(client.types).toEqual(['echo', 'gated', 'fail']);
    client.close();
    await released(conn);
  });

  it('snapshot → submit → progress → finished, with the result as plain data', async () => {
    const { client, conn } = await host.connect(ALL);
    const before = await client.snapshot();
    expect(before.pool.types['gated']).toMatchObject({ running: 0, limit: 4 });
    expect(before.store?.path).toMatch(/host\.db$/);
    const updates: JobView[] = [];
    const job = await client.submit(
      'gated',
      { name: 'first' },
      { onUpdate: (v) => updates.push(v) },
    );
    expect(job.view.type).toBe('gated');
    expect(job.view.id).toMatch(/^job-/);
    await until(() => updates.some((v) => v.progress === 0.5));
    expect(updates.find((v) => v.progress === 0.5)).toMatchObject({
      status: 'running',
      note: 'half way',
    });
    await host.control({ cmd: 'release', name: 'first' });
    await expect(job.result).resolves.toEqual({ done: 'first' });
    expect(job.view.status).toBe('succeeded');
    client.close();
    await released(conn);
  });

  it('coalesces snapshots: twenty asked at once cost the host two builds', async () => {
    const { client, conn } = await host.connect();
    const snapshots = await Promise.all(Array.from({ length: 20 }, () => client.snapshot()));
    // The first is built at once; the rest wait for the next slot and share it.
    expect(new Set(snapshots.map((s) => s.at)).size).toBe(2);
    expect(new Set(snapshots.slice(1).map((s) => s.at)).size).toBe(1);
    client.close();
    await released(conn);
  });

  it('a failed job arrives as { name, code, message }', async () => {
    const { client, conn } = await host.connect(ALL);
    const job = await client.submit('fail', null);
    const error = await errorOf(job.result);
    expect([error.name, error.code, error.message]).toEqual(['Error', 'INTERNAL', 'always fails']);
    client.close();
    await released(conn);
  });
});

describe('bridge: cancel', () => {
  it("cancel aborts the host-side job's signal; the job ends cancelled", async () => {
    const { client, conn } = await host.connect(ALL);
    const job = await client.submit('gated', { name: 'to-cancel' });
    await until(() => job.view.status === 'running');
    const sent = Date.now();
    await expect(job.cancel()).resolves.toBe(true);
    const error = await errorOf(job.result);
    expect(error.code).toBe('ABORTED');
    const abortedAt = (await host.control({ cmd: 'aborted', name: 'to-cancel' })) as number;
    expect(abortedAt).toBeGreaterThanOrEqual(sent - 1);
    expect(await host.control({ cmd: 'status', id: job.id })).toBe('cancelled');
    client.close();
    await released(conn);
  });

  it('a second cancel reports false', async () => {
    const { client, conn } = await host.connect(ALL);
    const job = await client.submit('gated', { name: 'twice' });
    await expect(client.cancel(job.id)).resolves.toBe(true);
    await expect(client.cancel(job.id)).resolves.toBe(false);
    await errorOf(job.result);
    await expect(client.cancel(job.id)).resolves.toBe(false);
    client.close();
    await released(conn);
  });

  it('an aborted signal becomes a cancel message by id', async () => {
    const { client, conn } = await host.connect(ALL);
    const controller = new AbortController();
    const job = await client.submit('gated', { name: 'by-signal' }, { signal: controller.signal });
    controller.abort();
    expect((await errorOf(job.result)).code).toBe('ABORTED');
    client.close();
    await released(conn);
  });

  it("another client's job is cancelled only with allow.cancel", async () => {
    const owner = await host.connect(ALL);
    const viewer = await host.connect({ submit: ['echo'] });
    const job = await owner.client.submit('gated', { name: 'not-yours' });
    expect((await errorOf(viewer.client.cancel(job.id))).code).toBe('BRIDGE_FORBIDDEN');
    const operator = await host.connect({ cancel: true });
    await expect(operator.client.cancel(job.id)).resolves.toBe(true);
    expect((await errorOf(job.result)).code).toBe('ABORTED');
    for (const { client, conn } of [owner, viewer, operator]) {
      client.close();
      await released(conn);
    }
  });
});

describe('bridge: tracker, pause', () => {
  it('lists the tracker failures and retries a key now', async () => {
    const { client, conn } = await host.connect(ALL);
    const job = await client.submit('fail', null, { key: 'feed-1' });
    await errorOf(job.result);
    const failures = await client.failures();
    expect(failures?.first.map((f) => [f.key, f.failures])).toContainEqual(['feed-1', 1]);
    await client.retry('feed-1');
    expect((await client.failures())?.first.map((f) => f.key)).not.toContain('feed-1');
    client.close();
    await released(conn);
  });

  it('pauses and resumes a type', async () => {
    const { client, conn } = await host.connect(ALL);
    await client.pause('echo');
    const job = await client.submit('echo', 'later');
    await expect(client.snapshot()).resolves.toMatchObject({
      pool: { types: { echo: { paused: true, queued: 1 } } },
    });
    await client.resume('echo');
    await expect(job.result).resolves.toBe('later');
    client.close();
    await released(conn);
  });
});

describe('bridge: read-only and forbidden commands', () => {
  it.each([
    ['submit', (c: Client) => c.submit('echo', 1)],
    ['cancel', (c: Client) => c.cancel('job-1')],
    ['retry', (c: Client) => c.retry('feed-1')],
    ['pause', (c: Client) => c.pause('echo')],
  ])('read-only: %s is refused with BRIDGE_FORBIDDEN; reads still work', async (_, call) => {
    const { client, conn } = await host.connect();
    expect(client.allow).toEqual({ submit: [], cancel: false, retry: false, pause: false });
    expect((await errorOf(call(client))).code).toBe('BRIDGE_FORBIDDEN');
    await expect(client.snapshot()).resolves.toMatchObject({ pool: { state: 'open' } });
    expect((await host.stats(conn)).refused).toBe(1);
    client.close();
    await released(conn);
  });

  it('a type not in allow.submit is refused', async () => {
    const { client, conn } = await host.connect({ submit: ['echo'] });
    expect((await errorOf(client.submit('gated', { name: 'x' }))).code).toBe('BRIDGE_FORBIDDEN');
    await expect((await client.submit('echo', [1, 'two'])).result).resolves.toEqual([1, 'two']);
    client.close();
    await released(conn);
  });
});

describe('bridge: subscriptions and backpressure', () => {
  it('delivers bus events in seq order', async () => {
    const { client, conn } = await host.connect();
    const sub = client.subscribe<Envelope<'demo.tick', { n: number }>>(['demo.tick'], {
      buffer: 64,
    });
    await until(async () => (await host.stats(conn)).subscriptions.length === 1);
    await host.control({ cmd: 'publish', n: 20 });
    const seen: number[] = [];
    for await (const envelope of sub) {
      seen.push((envelope as Envelope<'demo.tick', { n: number }>).payload.n);
      if (seen.length === 20) break;
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    client.close();
    await released(conn);
  });

  it('a client that stops reading while 10,000 events are produced holds the host at its buffer; then it gets dropped > 0 and a fresh snapshot', async () => {
    const { client, conn } = await host.connect();
    const buffer = 64;
    const sub = client.subscribe(['demo.tick'], { buffer, whenFull: 'drop-oldest' });
    await until(async () => (await host.stats(conn)).subscriptions.length === 1);
    let highest = 0;
    let lastSeq = 0;
    for (let round = 0; round < 10; round++) {
      lastSeq = (await host.control({ cmd: 'publish', n: 1_000 })) as number;
      const [s] = (await host.stats(conn)).subscriptions;
      highest = Math.max(highest, (s?.buffered ?? 0) + (s?.inFlight ?? 0));
      expect(s?.buffered).toBeLessThanOrEqual(buffer);
      expect(s?.inFlight).toBeLessThanOrEqual(buffer);
    }
    expect(highest).toBeLessThanOrEqual(2 * buffer);
    const [held] = (await host.stats(conn)).subscriptions;
    const dropped = held?.dropped ?? 0;
    expect(dropped).toBeGreaterThan(10_000 - 3 * buffer);
    // It reads again: what was in flight, then a resync, then the events the host kept.
    const items: (Envelope | ResyncEnvelope)[] = [];
    for await (const item of sub) {
      items.push(item);
      if (item.seq === lastSeq && item.topic !== RESYNC_TOPIC) break;
    }
    const resyncs = items.filter((i): i is ResyncEnvelope => i.topic === RESYNC_TOPIC);
    expect(resyncs.map((r) => r.payload.reason)).toEqual(resyncs.map(() => 'dropped'));
    expect(resyncs.reduce((n, r) => n + r.payload.missed, 0)).toBe(dropped);
    expect(sub.stats.dropped).toBe(dropped);
    // The last resync's snapshot was taken after every event was published.
    expect(resyncs.at(-1)?.payload.snapshot.seq).toBeGreaterThanOrEqual(lastSeq);
    expect(resyncs.at(-1)?.payload.snapshot.pool.state).toBe('open');
    expect(items.length - resyncs.length + dropped).toBe(10_000);
    client.close();
    await released(conn);
  });

  it("whenFull 'close' ends a subscription that fell a whole buffer behind (slow-consumer)", async () => {
    const { client, conn } = await host.connect();
    const sub = client.subscribe(['demo.tick'], { buffer: 4, whenFull: 'close' });
    await until(async () => (await host.stats(conn)).subscriptions.length === 1);
    await host.control({ cmd: 'publish', n: 50 });
    let count = 0;
    for await (const _ of sub) count++;
    expect(sub.closedReason).toBe('slow-consumer');
    expect(count).toBeLessThanOrEqual(2 * 4);
    client.close();
    await released(conn);
  });

  it('closing the port removes its subscriptions and listeners on the host (0 left)', async () => {
    const before = (await host.control({ cmd: 'listeners' })) as number;
    const { client, conn } = await host.connect(ALL);
    client.subscribe(['demo.tick']);
    client.subscribe('*', { buffer: 16 });
    await client.submit('gated', { name: 'left-behind' });
    await until(async () => (await host.stats(conn)).subscriptions.length === 2);
    expect((await host.stats(conn)).listeners).toBe(3);
    expect(await host.control({ cmd: 'listeners' })).toBe(before + 5);
    client.close();
    await released(conn);
    expect(await host.stats(conn)).toEqual({
      subscriptions: [],
      jobs: 0,
      listeners: 0,
      refused: 0,
    });
    expect(await host.control({ cmd: 'listeners' })).toBe(before);
    await host.control({ cmd: 'release', name: 'left-behind' });
  });

  it('an aborted signal unsubscribes (reason aborted) and the host releases the subscription', async () => {
    const { client, conn } = await host.connect();
    const controller = new AbortController();
    const sub = client.subscribe(['demo.tick'], { signal: controller.signal });
    await sub.ready;
    expect((await host.stats(conn)).subscriptions).toHaveLength(1);
    controller.abort();
    expect(sub.closedReason).toBe('aborted');
    await until(async () => (await host.stats(conn)).subscriptions.length === 0);
    client.close();
    await released(conn);
  });

  it('a refused subscription throws its error from the loop', async () => {
    const { client, conn } = await host.connect();
    const sub = client.subscribe(['demo.tick'], { buffer: 100_000 });
    const error = await errorOf(
      (async () => {
        for await (const _ of sub) break;
      })(),
    );
    expect([error.code, sub.closedReason]).toEqual(['BRIDGE_PROTOCOL', 'refused']);
    client.close();
    await released(conn);
  });

  it('a second client is served while the first never reads', async () => {
    const stuck = await host.connect();
    stuck.client.subscribe('*', { buffer: 2 });
    const reader = await host.connect();
    const sub = reader.client.subscribe(['demo.tick'], { buffer: 1024 });
    await until(async () => (await host.stats(reader.conn)).subscriptions.length === 1);
    await host.control({ cmd: 'publish', n: 500 });
    let count = 0;
    for await (const _ of sub) if (++count === 500) break;
    expect(count).toBe(500);
    for (const { client, conn } of [stuck, reader]) {
      client.close();
      await released(conn);
    }
  });
});

describe('bridge: disconnect and reconnect', () => {
  it('pending calls reject with DisconnectedError when the host side closes', async () => {
    const { client, conn } = await host.connect(ALL);
    const job = await client.submit('gated', { name: 'orphan' });
    await host.control({ cmd: 'drop', conn });
    await expect(job.result).rejects.toBeInstanceOf(DisconnectedError);
    await expect(client.snapshot()).rejects.toBeInstanceOf(DisconnectedError);
    expect(client.state).toBe('closed');
    await host.control({ cmd: 'release', name: 'orphan' });
  });

  it('reconnects with the last seq it saw and is told the gap, then gets a snapshot', async () => {
    const conns: number[] = [];
    const ports: FramePort[] = [];
    const reconnecting = deferred();
    const client = await connectWorkbus(
      async () => {
        if (conns.length > 0) await reconnecting.promise;
        const { port, conn } = await host.port();
        conns.push(conn);
        ports.push(port);
        return port;
      },
      { reconnect: { baseMs: 1, maxMs: 10 } },
    );
    const sub = client.subscribe(['demo.tick'], { buffer: 64 });
    await until(async () => (await host.stats(conns[0] as number)).subscriptions.length === 1);
    await host.control({ cmd: 'publish', n: 3 });
    const events = sub[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) await events.next();
    const lastSeen = sub.lastSeq;
    // The port goes away (as a dropped WebSocket would); events are published meanwhile.
    ports[0]?.close();
    await released(conns[0] as number);
    await until(() => client.state === 'reconnecting');
    const seqNow = (await host.control({ cmd: 'publish', n: 5 })) as number;
    reconnecting.resolve();
    const next = (await events.next()).value as ResyncEnvelope;
    expect(next.topic).toBe(RESYNC_TOPIC);
    expect(next.payload.reason).toBe('reconnected');
    expect(next.payload.missed).toBe(seqNow - lastSeen);
    expect(next.payload.snapshot.seq).toBeGreaterThanOrEqual(seqNow);
    expect(client.state).toBe('open');
    client.close();
    await released(conns[1] as number);
  });
});

/** Waits until `condition` holds, checking after each turn of the event loop. */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setImmediate(resolve));
}
