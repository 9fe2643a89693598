import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AbortError,
  Channel,
  ClosedError,
  LinkedSignal,
  TimeoutError,
  isAbortError,
  type ChannelStats,
} from '../../src/index.js';

// ---------------------------------------------------------------------------------------
// Helpers. Everything is deterministic: `flush()` lets every queued microtask run (a
// setImmediate callback runs only once the microtask queue is empty); nothing sleeps.
// ---------------------------------------------------------------------------------------

type Outcome<T> =
  | { readonly status: 'pending' }
  | { readonly status: 'fulfilled'; readonly value: T }
  | { readonly status: 'rejected'; readonly error: unknown };

/** Watches a promise without awaiting it: call the result to see how it stands now. */
function observe<T>(promise: Promise<T>): () => Outcome<T> {
  let outcome: Outcome<T> = { status: 'pending' };
  promise.then(
    (value) => {
      outcome = { status: 'fulfilled', value };
    },
    (error: unknown) => {
      outcome = { status: 'rejected', error };
    },
  );
  return () => outcome;
}

/** Runs every microtask that is queued, and every one those queue. */
function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The error `promise` rejects with; fails the test if it fulfils. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it fulfilled');
}

/** The error `fn` throws; fails the test if it returns. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw, but it returned');
}

/** Takes every value that can be taken without waiting. */
function drain<T>(channel: Channel<T>): T[] {
  const out: T[] = [];
  for (;;) {
    const result = channel.tryReceive();
    if (!result.ok) return out;
    out.push(result.value);
  }
}

function expectAborted(error: unknown, reason: unknown): void {
  expect(isAbortError(error)).toBe(true);
  expect(error).toBeInstanceOf(AbortError);
  expect((error as AbortError).cause).toBe(reason);
}

function expectClosed(error: unknown, reason: string): void {
  expect(error).toBeInstanceOf(ClosedError);
  expect((error as ClosedError).code).toBe('CLOSED');
  expect((error as ClosedError).message).toContain(reason);
}

function stats(
  sent: number,
  received: number,
  dropped: number,
  buffered: number,
  highWater: number,
): ChannelStats {
  return { sent, received, dropped, buffered, highWater };
}

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

afterEach(() => {
  vi.useRealTimers();
});

// ---------------------------------------------------------------------------------------

describe('Channel options', () => {
  it("defaults whenFull to 'block' and starts open, empty, with zeroed stats", () => {
    const ch = new Channel<number>({ capacity: 3 });
    expect(ch.whenFull).toBe('block');
    expect(ch.capacity).toBe(3);
    expect(ch.closed).toBe(false);
    expect(ch.closedReason).toBeUndefined();
    expect(ch.size).toBe(0);
    expect(ch.stats).toEqual(stats(0, 0, 0, 0, 0));
  });

  it('accepts capacity 0 under the block policy', () => {
    expect(new Channel<number>({ capacity: 0, whenFull: 'block' }).capacity).toBe(0);
  });

  it.each([
    { label: 'NaN', capacity: Number.NaN, type: RangeError, shown: 'got NaN (number)' },
    { label: '-1', capacity: -1, type: RangeError, shown: 'got -1 (number)' },
    { label: '1.5', capacity: 1.5, type: RangeError, shown: 'got 1.5 (number)' },
    { label: "'3'", capacity: '3', type: TypeError, shown: 'got "3" (string)' },
  ])('rejects capacity $label with a $type.name naming the field and the value', (c) => {
    const error = thrownBy(() => new Channel<number>({ capacity: c.capacity as number }));
    expect(error).toBeInstanceOf(c.type);
    expect((error as Error).message).toMatch(/^capacity /);
    expect((error as Error).message).toContain(c.shown);
  });

  it.each(['drop-oldest', 'drop-newest', 'close'] as const)(
    'rejects capacity 0 with whenFull %s (a drop policy needs a slot)',
    (whenFull) => {
      const error = thrownBy(() => new Channel<number>({ capacity: 0, whenFull }));
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).toMatch(/^capacity /);
      expect((error as Error).message).toContain('got 0 (number)');
    },
  );

  it('rejects an unknown whenFull with a TypeError naming the field and the value', () => {
    const error = thrownBy(
      () => new Channel<number>({ capacity: 1, whenFull: 'drop' as unknown as 'block' }),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^whenFull /);
    expect((error as Error).message).toContain('got "drop" (string)');
  });

  it.each([
    { onDrop: 'log', shown: 'got "log" (string)' },
    { onDrop: 42, shown: 'got 42 (number)' },
  ])('rejects onDrop $onDrop with a TypeError naming the field and the value', (c) => {
    const error = thrownBy(
      () => new Channel<number>({ capacity: 1, onDrop: c.onDrop as unknown as () => void }),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^onDrop /);
    expect((error as Error).message).toContain(c.shown);
  });

  it('rejects a signal option that is not an AbortSignal, without sending or receiving', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    const bad = { signal: {} as AbortSignal };
    const sendError = await rejectionOf(ch.send(1, bad));
    expect(sendError).toBeInstanceOf(TypeError);
    expect((sendError as Error).message).toMatch(/^send options\.signal must be an AbortSignal/);
    expect(ch.stats).toEqual(stats(0, 0, 0, 0, 0));
    ch.trySend(1);
    expect(await rejectionOf(ch.receive(bad))).toBeInstanceOf(TypeError);
    expect(ch.size).toBe(1);
    expect(() => ch.iterate(bad)).toThrow(/^iterate options\.signal must be an AbortSignal/);
  });

  it('refuses an unknown option with a did-you-mean', () => {
    expect(() => new Channel<number>({ capacity: 1, whenfull: 'close' } as never)).toThrow(
      new TypeError(
        "Channel options has an unknown option 'whenfull'; did you mean 'whenFull'? (known options: 'capacity', 'whenFull', 'onDrop')",
      ),
    );
  });

  it.each(['capacity', 'whenFull', 'onDrop'])('refuses a null %s', (key) => {
    expect(() => new Channel<number>({ capacity: 1, [key]: null })).toThrow(
      new TypeError(
        `Channel options.${key} must not be null: leave it out (or undefined) for the default`,
      ),
    );
  });

  it.each([undefined, null, 4])('refuses %s instead of an options object', (options) => {
    expect(() => new Channel<number>(options as never)).toThrow(
      /^Channel options must be an object/,
    );
  });

  it('send, receive and iterate refuse an unknown or null option without touching the channel', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    const typo = { sginal: undefined } as never;
    expect(await rejectionOf(ch.send(1, typo))).toEqual(
      new TypeError(
        "send options has an unknown option 'sginal'; did you mean 'signal'? (known options: 'signal')",
      ),
    );
    expect(await rejectionOf(ch.send(1, { signal: null } as never))).toEqual(
      new TypeError(
        'send options.signal must not be null: leave it out (or undefined) for the default',
      ),
    );
    expect(ch.stats).toEqual(stats(0, 0, 0, 0, 0));
    ch.trySend(1);
    expect(await rejectionOf(ch.receive(typo))).toBeInstanceOf(TypeError);
    expect(await rejectionOf(ch.receive({ signal: null } as never))).toBeInstanceOf(TypeError);
    expect(ch.size).toBe(1);
    expect(() => ch.iterate(typo)).toThrow(/^iterate options has an unknown option 'sginal'/);
  });
});

describe("whenFull: 'block'", () => {
  it('trySend buffers up to capacity, then returns false without counting the value', () => {
    const ch = new Channel<number>({ capacity: 2 });
    expect(ch.trySend(1)).toBe(true);
    expect(ch.trySend(2)).toBe(true);
    expect(ch.trySend(3)).toBe(false);
    expect(ch.size).toBe(2);
    expect(ch.stats).toEqual(stats(2, 0, 0, 2, 2));
    expect(drain(ch)).toEqual([1, 2]);
  });

  it('send resolves true at once while there is room', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    const sending = observe(ch.send(1));
    expect(ch.size).toBe(1);
    await flush();
    expect(sending()).toEqual({ status: 'fulfilled', value: true });
  });

  it('send on a full channel waits until a receive makes room, then joins the back', async () => {
    const ch = new Channel<string>({ capacity: 1 });
    ch.trySend('a');
    const sending = observe(ch.send('b'));
    await flush();
    expect(sending()).toEqual({ status: 'pending' });
    expect(ch.stats).toEqual(stats(1, 0, 0, 1, 1));

    await expect(ch.receive()).resolves.toBe('a');
    await flush();
    expect(sending()).toEqual({ status: 'fulfilled', value: true });
    expect(ch.stats).toEqual(stats(2, 1, 0, 1, 1));
    expect(drain(ch)).toEqual(['b']);
  });

  it('admits waiting senders in the order they started waiting', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(0);
    const waiting = [ch.send(1), ch.send(2), ch.send(3)];
    const received: number[] = [];
    for (let i = 0; i < 4; i++) received.push(await ch.receive());
    expect(received).toEqual([0, 1, 2, 3]);
    await expect(Promise.all(waiting)).resolves.toEqual([true, true, true]);
  });

  it('a new trySend does not overtake a waiting sender', async () => {
    const ch = new Channel<string>({ capacity: 1 });
    ch.trySend('first');
    const waiting = ch.send('second');
    expect(ch.tryReceive()).toEqual({ ok: true, value: 'first' });
    expect(ch.trySend('third')).toBe(false);
    expect(drain(ch)).toEqual(['second']);
    await expect(waiting).resolves.toBe(true);
  });

  it('receive takes buffered values oldest first', async () => {
    const ch = new Channel<number>({ capacity: 3 });
    ch.trySend(1);
    ch.trySend(2);
    ch.trySend(3);
    expect([await ch.receive(), await ch.receive(), await ch.receive()]).toEqual([1, 2, 3]);
  });

  it('receive on an empty channel waits; a send hands the value straight to it', async () => {
    const ch = new Channel<number>({ capacity: 2 });
    const receiving = observe(ch.receive());
    await flush();
    expect(receiving()).toEqual({ status: 'pending' });

    expect(ch.trySend(7)).toBe(true);
    await flush();
    expect(receiving()).toEqual({ status: 'fulfilled', value: 7 });
    expect(ch.stats).toEqual(stats(1, 1, 0, 0, 0));
  });

  it('serves waiting receivers in the order they started waiting', async () => {
    const ch = new Channel<string>({ capacity: 1 });
    const first = ch.receive();
    const second = ch.receive();
    ch.trySend('x');
    ch.trySend('y');
    await expect(first).resolves.toBe('x');
    await expect(second).resolves.toBe('y');
    expect(ch.size).toBe(0);
  });

  it('tryReceive takes the oldest value, or reports { ok: false, closed: false } when empty', () => {
    const ch = new Channel<number>({ capacity: 2 });
    expect(ch.tryReceive()).toEqual({ ok: false, closed: false });
    ch.trySend(1);
    ch.trySend(2);
    expect(ch.tryReceive()).toEqual({ ok: true, value: 1 });
    expect(ch.tryReceive()).toEqual({ ok: true, value: 2 });
    expect(ch.tryReceive()).toEqual({ ok: false, closed: false });
    expect(ch.stats).toEqual(stats(2, 2, 0, 0, 2));
  });

  it('tryReceive on a full channel admits the longest-waiting sender into the freed slot', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(1);
    const waiting = ch.send(2);
    expect(ch.tryReceive()).toEqual({ ok: true, value: 1 });
    expect(ch.size).toBe(1);
    expect(ch.stats).toEqual(stats(2, 1, 0, 1, 1));
    await expect(waiting).resolves.toBe(true);
    expect(ch.tryReceive()).toEqual({ ok: true, value: 2 });
  });
});

describe('takeAll', () => {
  it('takes every buffered value at once, oldest first, counting each as received', () => {
    const ch = new Channel<number>({ capacity: 4 });
    for (const v of [1, 2, 3]) ch.trySend(v);
    expect(ch.takeAll()).toEqual([1, 2, 3]);
    expect(ch.size).toBe(0);
    expect(ch.stats).toEqual(stats(3, 3, 0, 0, 3));
  });

  it('returns an empty array when nothing is available, open or closed', () => {
    const ch = new Channel<number>({ capacity: 2 });
    expect(ch.takeAll()).toEqual([]);
    ch.close();
    expect(ch.takeAll()).toEqual([]);
    expect(ch.stats).toEqual(stats(0, 0, 0, 0, 0));
  });

  it('takes waiting senders’ values after the buffer, in arrival order, and resolves their sends', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(1);
    const second = ch.send(2);
    const third = ch.send(3);
    expect(ch.takeAll()).toEqual([1, 2, 3]);
    await expect(second).resolves.toBe(true);
    await expect(third).resolves.toBe(true);
    expect(ch.stats).toEqual(stats(3, 3, 0, 0, 1));
  });

  it('drains what a closed channel still holds, then receive reports it closed', async () => {
    const ch = new Channel<number>({ capacity: 2 });
    ch.trySend(1);
    ch.close();
    expect(ch.takeAll()).toEqual([1]);
    expectClosed(await rejectionOf(ch.receive()), 'closed');
  });

  it('takes the same values, in the same order, as tryReceive until empty', () => {
    const fill = (ch: Channel<number>): void => {
      for (let v = 0; v < 7; v++) ch.trySend(v);
    };
    const one = new Channel<number>({ capacity: 3, whenFull: 'drop-oldest' });
    const all = new Channel<number>({ capacity: 3, whenFull: 'drop-oldest' });
    fill(one);
    fill(all);
    expect(all.takeAll()).toEqual(drain(one));
    expect(all.stats).toEqual(one.stats);
  });
});

describe("capacity 0 (rendezvous) under 'block'", () => {
  it('trySend fails when no receiver is waiting, and nothing is counted', () => {
    const ch = new Channel<number>({ capacity: 0 });
    expect(ch.trySend(1)).toBe(false);
    expect(ch.stats).toEqual(stats(0, 0, 0, 0, 0));
  });

  it('send waits for a receiver and is counted as sent only at the hand-off', async () => {
    const ch = new Channel<string>({ capacity: 0 });
    const sending = observe(ch.send('a'));
    await flush();
    expect(sending()).toEqual({ status: 'pending' });
    expect(ch.stats).toEqual(stats(0, 0, 0, 0, 0));

    await expect(ch.receive()).resolves.toBe('a');
    await flush();
    expect(sending()).toEqual({ status: 'fulfilled', value: true });
    expect(ch.stats).toEqual(stats(1, 1, 0, 0, 0));
  });

  it('receive waits for a sender; trySend succeeds only while a receiver waits', async () => {
    const ch = new Channel<string>({ capacity: 0 });
    const receiving = ch.receive();
    expect(ch.trySend('x')).toBe(true);
    await expect(receiving).resolves.toBe('x');
    expect(ch.trySend('y')).toBe(false);
    expect(ch.stats).toEqual(stats(1, 1, 0, 0, 0));
  });

  it('tryReceive takes directly from waiting senders, one at a time, in order', async () => {
    const ch = new Channel<number>({ capacity: 0 });
    const first = ch.send(1);
    const second = ch.send(2);
    expect(ch.tryReceive()).toEqual({ ok: true, value: 1 });
    expect(ch.size).toBe(0);
    expect(ch.tryReceive()).toEqual({ ok: true, value: 2 });
    expect(ch.tryReceive()).toEqual({ ok: false, closed: false });
    await expect(Promise.all([first, second])).resolves.toEqual([true, true]);
    expect(ch.stats).toEqual(stats(2, 2, 0, 0, 0));
  });
});

describe("whenFull: 'drop-oldest'", () => {
  it('send to a full channel evicts the oldest value, reports it to onDrop, resolves true', async () => {
    const dropped: number[] = [];
    const ch = new Channel<number>({
      capacity: 2,
      whenFull: 'drop-oldest',
      onDrop: (value) => dropped.push(value),
    });
    await ch.send(1);
    await ch.send(2);
    const sending = observe(ch.send(3));
    expect(dropped).toEqual([1]);
    await flush();
    expect(sending()).toEqual({ status: 'fulfilled', value: true });
    expect(ch.stats).toEqual(stats(3, 0, 1, 2, 2));
    expect(drain(ch)).toEqual([2, 3]);
  });

  it('trySend to a full channel evicts the oldest value and returns true', () => {
    const dropped: string[] = [];
    const ch = new Channel<string>({
      capacity: 1,
      whenFull: 'drop-oldest',
      onDrop: (value) => dropped.push(value),
    });
    expect(ch.trySend('a')).toBe(true);
    expect(ch.trySend('b')).toBe(true);
    expect(ch.trySend('c')).toBe(true);
    expect(dropped).toEqual(['a', 'b']);
    expect(ch.stats).toEqual(stats(3, 0, 2, 1, 1));
    expect(drain(ch)).toEqual(['c']);
  });

  it('hands a value to a waiting receiver rather than buffering it', async () => {
    const ch = new Channel<number>({ capacity: 1, whenFull: 'drop-oldest' });
    const receiving = ch.receive();
    expect(ch.trySend(1)).toBe(true);
    await expect(receiving).resolves.toBe(1);
    expect(ch.stats).toEqual(stats(1, 1, 0, 0, 0));
  });
});

describe("whenFull: 'drop-newest'", () => {
  it('send to a full channel drops the value being sent, reports it, resolves false', async () => {
    const dropped: number[] = [];
    const ch = new Channel<number>({
      capacity: 2,
      whenFull: 'drop-newest',
      onDrop: (value) => dropped.push(value),
    });
    await ch.send(1);
    await ch.send(2);
    const sending = observe(ch.send(3));
    expect(dropped).toEqual([3]);
    await flush();
    expect(sending()).toEqual({ status: 'fulfilled', value: false });
    expect(ch.stats).toEqual(stats(3, 0, 1, 2, 2));
    expect(drain(ch)).toEqual([1, 2]);
  });

  it('trySend to a full channel returns false and drops the value', () => {
    const dropped: number[] = [];
    const ch = new Channel<number>({
      capacity: 1,
      whenFull: 'drop-newest',
      onDrop: (value) => dropped.push(value),
    });
    expect(ch.trySend(1)).toBe(true);
    expect(ch.trySend(2)).toBe(false);
    expect(ch.trySend(3)).toBe(false);
    expect(dropped).toEqual([2, 3]);
    expect(ch.stats).toEqual(stats(3, 0, 2, 1, 1));
    expect(drain(ch)).toEqual([1]);
    expect(ch.closed).toBe(false);
  });
});

describe("whenFull: 'close'", () => {
  it("a send that finds the channel full is dropped and closes the channel with reason 'overflow'", async () => {
    const dropped: string[] = [];
    const ch = new Channel<string>({
      capacity: 2,
      whenFull: 'close',
      onDrop: (value) => dropped.push(value),
    });
    await ch.send('a');
    await ch.send('b');
    await expect(ch.send('c')).resolves.toBe(false);
    expect(dropped).toEqual(['c']);
    expect(ch.closed).toBe(true);
    expect(ch.closedReason).toBe('overflow');
    expect(ch.stats).toEqual(stats(3, 0, 1, 2, 2));
  });

  it('a trySend that finds the channel full is dropped and closes it the same way', () => {
    const dropped: number[] = [];
    const ch = new Channel<number>({
      capacity: 1,
      whenFull: 'close',
      onDrop: (value) => dropped.push(value),
    });
    expect(ch.trySend(1)).toBe(true);
    expect(ch.trySend(2)).toBe(false);
    expect(ch.closedReason).toBe('overflow');
    expect(dropped).toEqual([2]);
  });

  it('after an overflow the buffered values drain, then receive rejects and sends are refused', async () => {
    const ch = new Channel<number>({ capacity: 2, whenFull: 'close' });
    ch.trySend(1);
    ch.trySend(2);
    ch.trySend(3);
    expectClosed(await rejectionOf(ch.send(4)), 'overflow');
    expect(ch.trySend(5)).toBe(false);
    await expect(ch.receive()).resolves.toBe(1);
    await expect(ch.receive()).resolves.toBe(2);
    expectClosed(await rejectionOf(ch.receive()), 'overflow');
    expect(ch.stats).toEqual(stats(3, 2, 1, 0, 2));
  });

  it('does not close while there is room', () => {
    const ch = new Channel<number>({ capacity: 2, whenFull: 'close' });
    ch.trySend(1);
    ch.trySend(2);
    ch.tryReceive();
    expect(ch.trySend(3)).toBe(true);
    expect(ch.closed).toBe(false);
  });
});

describe('stats and onDrop', () => {
  it('counts every value exactly, including senders admitted from the wait list', async () => {
    const ch = new Channel<number>({ capacity: 2 });
    ch.trySend(1);
    ch.trySend(2);
    expect(ch.stats).toEqual(stats(2, 0, 0, 2, 2));
    const waiting = ch.send(3);
    expect(ch.stats).toEqual(stats(2, 0, 0, 2, 2));
    await expect(ch.receive()).resolves.toBe(1);
    expect(ch.stats).toEqual(stats(3, 1, 0, 2, 2));
    await waiting;
    expect(drain(ch)).toEqual([2, 3]);
    expect(ch.stats).toEqual(stats(3, 3, 0, 0, 2));
  });

  it('highWater is the most ever buffered at once, not the current size', () => {
    const ch = new Channel<number>({ capacity: 5 });
    ch.trySend(1);
    ch.trySend(2);
    ch.trySend(3);
    drain(ch);
    ch.trySend(4);
    expect(ch.stats).toEqual(stats(4, 3, 0, 1, 3));
  });

  it('stats is a snapshot that does not change afterwards', () => {
    const ch = new Channel<number>({ capacity: 2 });
    const before = ch.stats;
    ch.trySend(1);
    expect(before).toEqual(stats(0, 0, 0, 0, 0));
    expect(ch.stats).not.toBe(ch.stats);
  });

  it('onDrop receives exactly the dropped values, synchronously, in the order they were dropped', () => {
    const dropped: number[] = [];
    const ch = new Channel<number>({
      capacity: 2,
      whenFull: 'drop-oldest',
      onDrop: (value) => dropped.push(value),
    });
    for (let i = 1; i <= 6; i++) {
      ch.trySend(i);
      expect(dropped).toEqual(Array.from({ length: Math.max(0, i - 2) }, (_, k) => k + 1));
    }
    expect(ch.tryReceive()).toEqual({ ok: true, value: 5 });
    expect(dropped).toEqual([1, 2, 3, 4]);
    expect(ch.stats).toEqual(stats(6, 1, 4, 1, 2));
  });

  it('counts drops without an onDrop callback', () => {
    const ch = new Channel<number>({ capacity: 1, whenFull: 'drop-newest' });
    ch.trySend(1);
    ch.trySend(2);
    expect(ch.stats).toEqual(stats(2, 0, 1, 1, 1));
  });

  it('onDrop is never called for values that are received', async () => {
    const onDrop = vi.fn<(value: number) => void>();
    const ch = new Channel<number>({ capacity: 1, whenFull: 'drop-newest', onDrop });
    const receiving = ch.receive();
    ch.trySend(1);
    ch.trySend(2);
    await expect(receiving).resolves.toBe(1);
    expect(ch.tryReceive()).toEqual({ ok: true, value: 2 });
    expect(onDrop).not.toHaveBeenCalled();
  });
});

describe('close()', () => {
  it('is idempotent and keeps the first reason', () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.close('first');
    ch.close('second');
    ch.close();
    expect(ch.closed).toBe(true);
    expect(ch.closedReason).toBe('first');
  });

  it("records 'closed' when no reason is given", () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.close();
    expect(ch.closedReason).toBe('closed');
  });

  it('reports closed at once, while values are still buffered', () => {
    const ch = new Channel<number>({ capacity: 2 });
    ch.trySend(1);
    ch.close();
    expect(ch.closed).toBe(true);
    expect(ch.size).toBe(1);
  });

  it('lets buffered values drain, then receive rejects with ClosedError', async () => {
    const ch = new Channel<number>({ capacity: 2 });
    ch.trySend(1);
    ch.trySend(2);
    ch.close('done');
    await expect(ch.receive()).resolves.toBe(1);
    expect(ch.tryReceive()).toEqual({ ok: true, value: 2 });
    expect(ch.tryReceive()).toEqual({ ok: false, closed: true });
    expectClosed(await rejectionOf(ch.receive()), 'done');
    expect(ch.stats).toEqual(stats(2, 2, 0, 0, 2));
  });

  it('lets for await drain the buffered values, then ends the loop', async () => {
    const ch = new Channel<number>({ capacity: 3 });
    ch.trySend(1);
    ch.trySend(2);
    ch.trySend(3);
    ch.close('done');
    const seen: number[] = [];
    for await (const value of ch) seen.push(value);
    expect(seen).toEqual([1, 2, 3]);
    expect(ch.closedReason).toBe('done');
  });

  it('refuses later sends: send rejects with ClosedError, trySend returns false, nothing counted', async () => {
    const ch = new Channel<number>({ capacity: 2 });
    ch.close('stopped');
    expectClosed(await rejectionOf(ch.send(1)), 'stopped');
    expect(ch.trySend(2)).toBe(false);
    expect(ch.stats).toEqual(stats(0, 0, 0, 0, 0));
  });

  it('rejects waiting senders with ClosedError; their values are never delivered', async () => {
    const ch = new Channel<string>({ capacity: 1 });
    ch.trySend('kept');
    const first = ch.send('lost 1');
    const second = ch.send('lost 2');
    ch.close('shutdown');
    expectClosed(await rejectionOf(first), 'shutdown');
    expectClosed(await rejectionOf(second), 'shutdown');
    expect(drain(ch)).toEqual(['kept']);
    expect(ch.stats).toEqual(stats(1, 1, 0, 0, 1));
  });

  it('rejects waiting receivers with ClosedError', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    const first = ch.receive();
    const second = ch.receive();
    ch.close('shutdown');
    expectClosed(await rejectionOf(first), 'shutdown');
    expectClosed(await rejectionOf(second), 'shutdown');
  });

  it('ends every for await loop that is waiting, without an error', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    const consume = async (): Promise<number[]> => {
      const seen: number[] = [];
      for await (const value of ch) seen.push(value);
      return seen;
    };
    const loops = [consume(), consume()];
    ch.trySend(1);
    await flush();
    ch.close();
    const seen = await Promise.all(loops);
    expect(seen.flat()).toEqual([1]);
    expect(ch.closedReason).toBe('closed');
  });
});

describe('cancellation', () => {
  it('a send waiting for room rejects with an abort error carrying the reason; its value is never delivered', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(1);
    const controller = new AbortController();
    const sending = ch.send(2, { signal: controller.signal });
    await flush();
    expect(listeners(controller.signal)).toBe(1);
    const reason = new Error('stop');
    controller.abort(reason);
    expectAborted(await rejectionOf(sending), reason);
    expect(listeners(controller.signal)).toBe(0);
    // A tryReceive admits any sender still waiting; the aborted one is gone.
    expect(drain(ch)).toEqual([1]);
    expect(ch.stats).toEqual(stats(1, 1, 0, 0, 1));
  });

  it('an aborted sender does not hold up the senders behind it', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(1);
    const controller = new AbortController();
    const aborted = ch.send(2, { signal: controller.signal });
    const behind = ch.send(3);
    controller.abort('skip');
    expectAborted(await rejectionOf(aborted), 'skip');
    expect(drain(ch)).toEqual([1, 3]);
    await expect(behind).resolves.toBe(true);
  });

  it('a receive waiting for a value rejects with an abort error; a later send is buffered, not handed to it', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    const controller = new AbortController();
    const receiving = ch.receive({ signal: controller.signal });
    await flush();
    controller.abort('bored');
    expectAborted(await rejectionOf(receiving), 'bored');
    expect(listeners(controller.signal)).toBe(0);
    expect(ch.trySend(5)).toBe(true);
    expect(ch.stats).toEqual(stats(1, 0, 0, 1, 1));
  });

  it('an already-aborted signal makes send reject before it sends, even when there is room', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    const receiving = ch.receive();
    const signal = AbortSignal.abort('too late');
    expectAborted(await rejectionOf(ch.send(1, { signal })), 'too late');
    expect(ch.stats).toEqual(stats(0, 0, 0, 0, 0));
    expect(listeners(signal)).toBe(0);
    // The waiting receiver was not handed the value.
    ch.trySend(2);
    await expect(receiving).resolves.toBe(2);
  });

  it('an already-aborted signal makes receive reject before it takes a value', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(1);
    const signal = AbortSignal.abort('too late');
    expectAborted(await rejectionOf(ch.receive({ signal })), 'too late');
    expect(ch.stats).toEqual(stats(1, 0, 0, 1, 1));
    expect(ch.tryReceive()).toEqual({ ok: true, value: 1 });
  });

  it('an already-aborted signal makes receive reject before it takes from a waiting sender', async () => {
    const ch = new Channel<number>({ capacity: 0 });
    const sending = observe(ch.send(1));
    expectAborted(await rejectionOf(ch.receive({ signal: AbortSignal.abort('no') })), 'no');
    await flush();
    expect(sending()).toEqual({ status: 'pending' });
    expect(ch.tryReceive()).toEqual({ ok: true, value: 1 });
  });

  it('a value handed to a waiting sender stands even if its signal aborts in the same tick', async () => {
    const ch = new Channel<string>({ capacity: 0 });
    const controller = new AbortController();
    const sending = ch.send('v', { signal: controller.signal });
    const receiving = ch.receive();
    controller.abort('late');
    await expect(sending).resolves.toBe(true);
    await expect(receiving).resolves.toBe('v');
    expect(listeners(controller.signal)).toBe(0);
  });

  it('a value handed to a waiting receiver stands even if its signal aborts in the same tick', async () => {
    const ch = new Channel<string>({ capacity: 1 });
    const controller = new AbortController();
    const receiving = ch.receive({ signal: controller.signal });
    ch.trySend('v');
    controller.abort('late');
    await expect(receiving).resolves.toBe('v');
    expect(ch.stats).toEqual(stats(1, 1, 0, 0, 0));
    expect(listeners(controller.signal)).toBe(0);
  });

  it('a send or receive that waited and then completed removes its abort listener', async () => {
    const ch = new Channel<number>({ capacity: 0 });
    const controller = new AbortController();
    const receiving = ch.receive({ signal: controller.signal });
    expect(listeners(controller.signal)).toBe(1);
    ch.trySend(1);
    expect(listeners(controller.signal)).toBe(0);
    await expect(receiving).resolves.toBe(1);

    const sending = ch.send(2, { signal: controller.signal });
    expect(listeners(controller.signal)).toBe(1);
    expect(ch.tryReceive()).toEqual({ ok: true, value: 2 });
    expect(listeners(controller.signal)).toBe(0);
    await expect(sending).resolves.toBe(true);
  });

  it('a timeout rejects with a TimeoutError, which is not an abort error', async () => {
    vi.useFakeTimers();
    const ch = new Channel<number>({ capacity: 0 });
    const timeout = new LinkedSignal(undefined, { timeoutMs: 100 });
    const receiving = rejectionOf(ch.receive({ signal: timeout.signal }));
    await vi.advanceTimersByTimeAsync(100);
    const error = await receiving;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(isAbortError(error)).toBe(false);
    expect(listeners(timeout.signal)).toBe(0);
  });
});

describe('iteration', () => {
  it('for await yields values in send order, including values sent while it waits', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(1);
    const seen: number[] = [];
    const loop = (async () => {
      for await (const value of ch) seen.push(value);
    })();
    await ch.send(2);
    await ch.send(3);
    await flush();
    ch.close();
    await loop;
    expect(seen).toEqual([1, 2, 3]);
  });

  it("breaking out of the only loop closes the channel with reason 'unsubscribed'", async () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(1);
    const admitted = ch.send(2);
    const refused = ch.send(3);
    for await (const value of ch) {
      expect(value).toBe(1);
      break;
    }
    expect(ch.closedReason).toBe('unsubscribed');
    await expect(admitted).resolves.toBe(true);
    expectClosed(await rejectionOf(refused), 'unsubscribed');
    expect(drain(ch)).toEqual([2]);
  });

  it('a loop left by a throw unsubscribes too', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(1);
    const failing = (async () => {
      for await (const value of ch) throw new Error(`cannot handle ${value}`);
    })();
    expect(await rejectionOf(failing)).toEqual(new Error('cannot handle 1'));
    expect(ch.closedReason).toBe('unsubscribed');
  });

  it('with two loops, one breaking leaves the channel open and the other keeps receiving', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    const seenA: number[] = [];
    const seenB: number[] = [];
    const loopA = (async () => {
      for await (const value of ch) {
        seenA.push(value);
        break;
      }
    })();
    const loopB = (async () => {
      for await (const value of ch) seenB.push(value);
    })();
    expect(ch.trySend(1)).toBe(true); // handed to A, the first to wait
    await loopA;
    expect(ch.closed).toBe(false);
    await ch.send(2);
    await ch.send(3);
    await flush();
    ch.close('done');
    await loopB;
    expect(seenA).toEqual([1]);
    expect(seenB).toEqual([2, 3]);
    expect(ch.closedReason).toBe('done');
  });

  it("closes with 'unsubscribed' only when the last of several iterators leaves", async () => {
    const ch = new Channel<number>({ capacity: 4 });
    const a = ch.iterate();
    const b = ch.iterate();
    ch.trySend(1);
    ch.trySend(2);
    expect(await a.next()).toEqual({ done: false, value: 1 });
    expect(await a.return?.()).toEqual({ done: true, value: undefined });
    expect(ch.closed).toBe(false);
    expect(await b.next()).toEqual({ done: false, value: 2 });
    expect(ch.trySend(3)).toBe(true);
    expect(await b.next()).toEqual({ done: false, value: 3 });
    await b.return?.();
    expect(ch.closedReason).toBe('unsubscribed');
  });

  it('an iterator that has returned stays done and takes nothing', async () => {
    const ch = new Channel<number>({ capacity: 2 });
    const a = ch.iterate();
    const b = ch.iterate();
    await a.return?.();
    ch.trySend(1);
    expect(await a.next()).toEqual({ done: true, value: undefined });
    expect(ch.size).toBe(1);
    expect(await b.next()).toEqual({ done: false, value: 1 });
    await b.return?.();
  });

  it('returning the same iterator twice counts as one leaving', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    const a = ch.iterate();
    const b = ch.iterate();
    await a.return?.();
    await a.return?.();
    expect(ch.closed).toBe(false);
    await b.return?.();
    expect(ch.closedReason).toBe('unsubscribed');
  });

  it('a loop that ends because the channel closed keeps the close reason', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    const loop = (async () => {
      for await (const _ of ch) {
        // nothing arrives
      }
    })();
    await flush();
    ch.close('shutdown');
    await loop;
    expect(ch.closedReason).toBe('shutdown');
  });

  it('iterate({ signal }): an abort ends the loop with an abort error and removes the listener', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    const controller = new AbortController();
    const seen: number[] = [];
    const loop = rejectionOf(
      (async () => {
        for await (const value of ch.iterate({ signal: controller.signal })) seen.push(value);
      })(),
    );
    ch.trySend(1);
    await flush();
    const reason = new Error('leave');
    controller.abort(reason);
    expectAborted(await loop, reason);
    expect(seen).toEqual([1]);
    expect(listeners(controller.signal)).toBe(0);
  });

  it("an aborted loop has left: when it was the last, the channel closes with 'unsubscribed'", async () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(1);
    const controller = new AbortController();
    const iterator = ch.iterate({ signal: controller.signal });
    expect(await iterator.next()).toEqual({ done: false, value: 1 });
    const waiting = iterator.next();
    controller.abort('gone');
    expectAborted(await rejectionOf(waiting), 'gone');
    expect(ch.closedReason).toBe('unsubscribed');
    // So no sender is left waiting for a consumer that is gone.
    ch.trySend(2);
    expectClosed(await rejectionOf(ch.send(3)), 'unsubscribed');
    // The iterator is finished: it takes nothing more.
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('an aborted loop that was not the last leaves the channel open for the others', async () => {
    const ch = new Channel<number>({ capacity: 2 });
    const controller = new AbortController();
    const aborted = ch.iterate({ signal: controller.signal });
    const other = ch.iterate();
    const waiting = aborted.next();
    controller.abort('gone');
    expectAborted(await rejectionOf(waiting), 'gone');
    expect(ch.closed).toBe(false);
    ch.trySend(1);
    expect(await other.next()).toEqual({ done: false, value: 1 });
    // With the aborted iterator gone, `other` is the last: leaving closes the channel.
    await other.return?.();
    expect(ch.closedReason).toBe('unsubscribed');
  });

  it('iterate with an already-aborted signal rejects on the first next() without taking a value', async () => {
    const ch = new Channel<number>({ capacity: 1 });
    ch.trySend(1);
    const iterator = ch.iterate({ signal: AbortSignal.abort('never') });
    expectAborted(await rejectionOf(iterator.next()), 'never');
    expect(ch.stats).toEqual(stats(1, 0, 0, 1, 1));
  });
});

describe('clear()', () => {
  it('drops every buffered value, counting each and passing it to onDrop', () => {
    const dropped: number[] = [];
    const channel = new Channel<number>({ capacity: 3, onDrop: (v) => dropped.push(v) });
    channel.trySend(1);
    channel.trySend(2);
    expect(channel.clear()).toBe(2);
    expect(dropped).toEqual([1, 2]);
    expect(channel.stats).toMatchObject({ sent: 2, received: 0, dropped: 2, buffered: 0 });
  });

  it('moves waiting senders into the freed room, in order', async () => {
    const channel = new Channel<number>({ capacity: 1 });
    channel.trySend(1);
    const waiting = channel.send(2);
    expect(channel.clear()).toBe(1);
    await expect(waiting).resolves.toBe(true);
    expect(channel.tryReceive()).toEqual({ ok: true, value: 2 });
  });
});

describe('close() validation', () => {
  it('rejects a reason that is not a non-empty string, and stays open', () => {
    const channel = new Channel<number>({ capacity: 1 });
    expect(() => channel.close('')).toThrow(/reason must be a non-empty string, got "" \(string\)/);
    expect(() => channel.close(42 as unknown as string)).toThrow(TypeError);
    expect(channel.closed).toBe(false);
    channel.close();
  });
});
