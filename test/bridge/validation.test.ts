/**
 * The host's validation, with raw frames (no client library in the way): every malformed,
 * oversized, unknown or forbidden frame gets a typed error reply; the host neither throws
 * nor stops serving that client or any other; fuzzed junk leaves nothing behind.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FramePort, HostFrame, WireError } from '../../src/bridge/index.js';
import { hostForFile, type HostWorker } from './harness.js';

const theHost = hostForFile();
let host = undefined as unknown as HostWorker;

beforeAll(() => {
  host = theHost();
});

/** A connection that sends frames as they are and collects what comes back. */
class Raw {
  readonly frames: HostFrame[] = [];
  #wake: (() => void) | undefined;

  constructor(
    readonly port: FramePort,
    readonly conn: number,
  ) {
    port.start(
      (frame) => {
        this.frames.push(frame as HostFrame);
        this.#wake?.();
      },
      () => undefined,
    );
  }

  static async open(allow?: Parameters<HostWorker['port']>[0]): Promise<Raw> {
    const { port, conn } = await host.port(allow, true);
    return new Raw(port, conn);
  }

  /** Sends a request and waits for the reply to its id. */
  async request(frame: Record<string, unknown> & { id: number }): Promise<HostFrame> {
    this.port.send(frame);
    return this.reply((f) => f.t === 'reply' && f.id === frame.id);
  }

  async reply(match: (frame: HostFrame) => boolean): Promise<HostFrame> {
    for (;;) {
      const found = this.frames.find(match);
      if (found !== undefined) return found;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async hello(): Promise<void> {
    expect(await this.request({ t: 'hello', id: 0, protocol: 1 })).toMatchObject({ ok: true });
  }

  async close(): Promise<void> {
    this.port.close();
    await host.control({ cmd: 'closed', conn: this.conn });
  }
}

function errorOf(frame: HostFrame): WireError {
  expect('error' in frame).toBe(true);
  return (frame as { error: WireError }).error;
}

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('bridge host validation', () => {
  it('refuses anything before hello (handshake), and a protocol it does not speak (version)', async () => {
    const raw = await Raw.open();
    const early = errorOf(await raw.request({ t: 'snapshot', id: 1 }));
    expect(early).toMatchObject({ name: 'ProtocolError', code: 'BRIDGE_PROTOCOL' });
    expect(early.message).toMatch(/first frame must be hello/);
    const version = errorOf(await raw.request({ t: 'hello', id: 2, protocol: 99 }));
    expect(version.message).toMatch(/speaks protocol 1, not 99/);
    await raw.hello();
    expect(await raw.request({ t: 'snapshot', id: 3 })).toMatchObject({ ok: true });
    await raw.close();
  });

  it.each([
    ['a number', 42, /plain object/],
    ['a string', 'hello', /plain object/],
    ['an array', [1, 2], /plain object/],
    ['null', null, /plain object/],
    ['a frame without an operation', { id: 5 }, /needs an operation/],
    ['a Map', new Map([['t', 'snapshot']]), /plain data/],
    ['a Date inside', { t: 'submit', id: 5, type: 'echo', input: new Date(0) }, /plain data/],
  ])('refuses %s with a typed error that names no request', async (_, frame, message) => {
    const raw = await Raw.open();
    await raw.hello();
    raw.port.send(frame);
    const reply = await raw.reply((f) => f.t === 'error' || (f.t === 'reply' && f.id === 5));
    expect(errorOf(reply)).toMatchObject({ name: 'ProtocolError', code: 'BRIDGE_PROTOCOL' });
    expect(errorOf(reply).message).toMatch(message);
    expect(await raw.request({ t: 'snapshot', id: 9 })).toMatchObject({ ok: true });
    await raw.close();
  });

  it.each([
    ['an unknown operation', { t: 'explode', id: 7 }, /unknown operation "explode"/],
    ['a field of the wrong type', { t: 'cancel', id: 7, job: 5 }, /job must be a string/],
    ['a missing field', { t: 'retry', id: 7 }, /key must be a string/],
    [
      'an unknown option',
      { t: 'submit', id: 7, type: 'echo', options: { nice: 1 } },
      /options.nice/,
    ],
    ['a huge string', { t: 'snapshot', id: 7, pad: 'x'.repeat(100_000) }, /at most 65536 bytes/],
    ['a huge array', { t: 'snapshot', id: 7, pad: new Array(100_000).fill(0) }, /at most 65536/],
    ['deep nesting', { t: 'snapshot', id: 7, pad: nested(1_000) }, /nest at most 16 levels/],
    [
      'a bad topic list',
      { t: 'subscribe', id: 7, sub: 1, topics: [], buffer: 1, whenFull: 'close' },
      /topics must be/,
    ],
    [
      'a buffer past the limit',
      { t: 'subscribe', id: 7, sub: 1, topics: '*', buffer: 1e6, whenFull: 'close' },
      /buffer must be at most 1024/,
    ],
  ])('answers %s with a ProtocolError on its request id', async (_, frame, message) => {
    const raw = await Raw.open();
    await raw.hello();
    const error = errorOf(await raw.request(frame));
    expect(error).toMatchObject({ name: 'ProtocolError', code: 'BRIDGE_PROTOCOL' });
    expect(error.message).toMatch(message);
    await raw.close();
  });

  it.each([
    ['a type not allowed', { t: 'submit', id: 4, type: 'gated', input: {} }],
    ['pause without allow.pause', { t: 'pause', id: 4, type: 'echo', paused: true }],
    ['retry without allow.retry', { t: 'retry', id: 4, key: 'k' }],
    ["cancel of another client's job", { t: 'cancel', id: 4, job: 'job-1' }],
  ])('answers %s with a ForbiddenError', async (_, frame) => {
    const raw = await Raw.open({ submit: ['echo'] });
    await raw.hello();
    expect(errorOf(await raw.request(frame))).toMatchObject({
      name: 'ForbiddenError',
      code: 'BRIDGE_FORBIDDEN',
    });
    await raw.close();
  });

  it('a pool error comes back as { name, code, message } (a bad option, from the pool)', async () => {
    const raw = await Raw.open({ submit: ['echo'] });
    await raw.hello();
    const error = errorOf(
      await raw.request({
        t: 'submit',
        id: 4,
        type: 'echo',
        input: 1,
        options: { priority: 'high' },
      }),
    );
    expect(error).toMatchObject({ name: 'TypeError', code: 'INVALID_ARGUMENT' });
    expect(error.message).toMatch(/priority/);
    await raw.close();
  });

  it('fuzz: random junk gets typed errors, the host keeps serving it and another client, and holds nothing', async () => {
    const good = await Raw.open();
    await good.hello();
    const before = (await host.control({ cmd: 'listeners' })) as number;
    const op = fc.constantFrom(
      'hello',
      'snapshot',
      'subscribe',
      'submit',
      'cancel',
      'retry',
      'pause',
      'ack',
      'nope',
    );
    const junk = fc.oneof(
      fc.anything({
        withMap: true,
        withSet: true,
        withDate: true,
        withTypedArray: true,
        withBigInt: true,
        withNullPrototype: true,
        maxDepth: 4,
      }),
      fc.record(
        { t: op, id: fc.oneof(fc.integer(), fc.string(), fc.constant(-1)) },
        { requiredKeys: ['t'] },
      ),
      fc
        .dictionary(fc.string(), fc.anything({ maxDepth: 3 }))
        .map((d) => ({ ...d, t: 'submit', id: 1 })),
      fc
        .integer({ min: 70_000, max: 200_000 })
        .map((n) => ({ t: 'snapshot', id: 1, pad: 'x'.repeat(n) })),
    );
    let id = 1_000;
    await fc.assert(
      fc.asyncProperty(fc.array(junk, { minLength: 1, maxLength: 20 }), async (frames) => {
        const raw = await Raw.open();
        for (const frame of frames) raw.port.send(frame);
        // Whatever came before, the host answers the next good request on both connections.
        expect(await raw.request({ t: 'hello', id: ++id, protocol: 1 })).toMatchObject({
          ok: true,
        });
        expect(await good.request({ t: 'snapshot', id: ++id })).toMatchObject({ ok: true });
        const errors = raw.frames.filter((f) => 'error' in f).map(errorOf);
        for (const error of errors) {
          expect(['BRIDGE_PROTOCOL', 'BRIDGE_FORBIDDEN', 'INVALID_ARGUMENT', 'CLOSED']).toContain(
            error.code,
          );
        }
        await raw.close();
        expect(await host.control({ cmd: 'listeners' })).toBe(before);
      }),
      { numRuns: 40, seed: 11 },
    );
    expect((await host.stats(good.conn)).refused).toBe(0);
    await good.close();
  });
});
