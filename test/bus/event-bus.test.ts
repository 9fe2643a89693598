import { getEventListeners } from 'node:events';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  ClosedError,
  EventBus,
  SubscriberLimitError,
  isAbortError,
  type Envelope,
  type Subscription,
} from '../../src/index.js';

interface Events {
  'feed.updated': { url: string; items: number };
  'app.tick': number;
  'app.note': string;
}

const newBus = (onError = vi.fn()): EventBus<Events> => new EventBus<Events>({ onError });

async function drain<E extends Envelope>(sub: Subscription<E>): Promise<E[]> {
  const out: E[] = [];
  for await (const envelope of sub) out.push(envelope);
  return out;
}

describe('EventBus publish and on', () => {
  it('calls listeners of the topic with the payload and its envelope', () => {
    const bus = newBus();
    const seen: unknown[] = [];
    bus.on('app.tick', (n, envelope) => seen.push(n, envelope.topic, envelope.seq));
    bus.publish('app.tick', 7);
    expect(seen).toEqual([7, 'app.tick', 1]);
  });

  it("'*' listeners get every topic", () => {
    const bus = newBus();
    const topics: string[] = [];
    bus.on('*', (_payload, envelope) => topics.push(envelope.topic));
    bus.publish('app.tick', 1);
    bus.publish('app.note', 'x');
    expect(topics).toEqual(['app.tick', 'app.note']);
  });

  it('returns how many subscriptions and listeners the event was offered to', () => {
    const bus = newBus();
    bus.on('app.tick', () => {});
    bus.on('*', () => {});
    bus.subscribe(['app.tick', 'app.note']);
    bus.subscribe(['app.note']);
    expect(bus.publish('app.tick', 1)).toBe(3);
    expect(bus.publish('feed.updated', { url: 'u', items: 0 })).toBe(1);
  });

  it('numbers envelopes from 1 and stamps the publish time', async () => {
    vi.useFakeTimers({ now: 1_000 });
    const bus = newBus();
    const sub = bus.subscribe('*');
    bus.publish('app.tick', 1);
    vi.setSystemTime(2_000);
    bus.publish('app.tick', 2);
    bus.close();
    expect((await drain(sub)).map((e) => [e.seq, e.at])).toEqual([
      [1, 1_000],
      [2, 2_000],
    ]);
  });

  it('seq is the last published seq, listened to or not (0 before any)', () => {
    const bus = newBus();
    expect(bus.seq).toBe(0);
    bus.publish('app.tick', 1);
    bus.on('app.note', () => undefined);
    bus.publish('app.note', 'x');
    expect(bus.seq).toBe(2);
  });

  it('reports a throwing listener to onError and still calls the others', () => {
    const onError = vi.fn();
    const bus = newBus(onError);
    const calls: string[] = [];
    bus.on('app.tick', () => calls.push('first'));
    bus.on('app.tick', () => {
      throw new Error('boom');
    });
    bus.on('app.tick', () => calls.push('third'));
    expect(() => bus.publish('app.tick', 1)).not.toThrow();
    expect(calls).toEqual(['first', 'third']);
    expect(onError).toHaveBeenCalledOnce();
    expect(onError.mock.calls[0]?.[0]).toEqual(new Error('boom'));
    expect(onError.mock.calls[0]?.[1]).toMatchObject({ topic: 'app.tick', payload: 1, seq: 1 });
  });

  it("reports each of several throwing listeners in turn, the topic's and then the '*' ones, calling every other once", () => {
    const onError = vi.fn();
    const bus = newBus(onError);
    const calls: string[] = [];
    const thrower = (label: string) => () => {
      calls.push(label);
      throw new Error(label);
    };
    bus.on('app.tick', thrower('a'));
    bus.on('app.tick', thrower('b'));
    bus.on('app.tick', () => calls.push('c'));
    bus.on('*', thrower('d'));
    bus.on('*', () => calls.push('e'));
    bus.publish('app.tick', 1);
    expect(calls).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(onError.mock.calls.map(([error]) => (error as Error).message)).toEqual(['a', 'b', 'd']);
  });

  it('survives an onError hook that throws, logging both', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const bus = new EventBus<Events>({
      onError: () => {
        throw new Error('hook broke');
      },
    });
    bus.on('app.tick', () => {
      throw new Error('boom');
    });
    expect(() => bus.publish('app.tick', 1)).not.toThrow();
    expect(log).toHaveBeenCalledOnce();
    log.mockRestore();
  });

  it('logs throwing listeners with console.error when no onError is given', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const bus = new EventBus<Events>();
    bus.on('app.note', () => {
      throw new Error('boom');
    });
    bus.publish('app.note', 'x');
    expect(log.mock.calls[0]?.[0]).toContain('"app.note"');
    log.mockRestore();
  });

  it('unsubscribe removes the listener and is idempotent', () => {
    const bus = newBus();
    const listener = vi.fn();
    const off = bus.on('app.tick', listener);
    expect(bus.subscriberCount).toBe(1);
    off();
    off();
    bus.publish('app.tick', 1);
    expect(listener).not.toHaveBeenCalled();
    expect(bus.subscriberCount).toBe(0);
  });
});

describe('EventBus subscribe', () => {
  it('delivers envelopes of its topics through for await, in publish order', async () => {
    const bus = newBus();
    const sub = bus.subscribe(['app.tick', 'app.note']);
    bus.publish('app.tick', 1);
    bus.publish('feed.updated', { url: 'u', items: 2 });
    bus.publish('app.note', 'hello');
    bus.close();
    const got = await drain(sub);
    expect(got.map((e) => [e.topic, e.payload, e.seq])).toEqual([
      ['app.tick', 1, 1],
      ['app.note', 'hello', 3],
    ]);
  });

  it('accepts a single topic name', async () => {
    const bus = newBus();
    const sub = bus.subscribe('app.note');
    bus.publish('app.note', 'a');
    bus.close();
    expect((await drain(sub)).map((e) => e.payload)).toEqual(['a']);
  });

  it('delivers plain, structured-cloneable envelopes', async () => {
    const bus = newBus();
    const sub = bus.subscribe('*');
    bus.publish('feed.updated', { url: 'https://example.org', items: 3 });
    bus.close();
    const [envelope] = await drain(sub);
    expect(Object.getPrototypeOf(envelope)).toBe(Object.prototype);
    expect(structuredClone(envelope)).toEqual(envelope);
  });

  it('a consumer parked in next() settles when the bus closes', async () => {
    const bus = newBus();
    const sub = bus.subscribe('*');
    const iterator = sub[Symbol.asyncIterator]();
    const parked = iterator.next();
    bus.close();
    await expect(parked).resolves.toEqual({ done: true, value: undefined });
    expect(sub.closedReason).toBe('bus-closed');
  });

  it('close drains what each subscription holds, then ends every loop', async () => {
    const bus = newBus();
    const a = bus.subscribe('*');
    const b = bus.subscribe(['app.tick']);
    bus.publish('app.tick', 1);
    bus.publish('app.tick', 2);
    bus.close();
    const [gotA, gotB] = await Promise.all([drain(a), drain(b)]);
    expect(gotA.map((e) => e.payload)).toEqual([1, 2]);
    expect(gotB.map((e) => e.payload)).toEqual([1, 2]);
    expect([a.closedReason, b.closedReason]).toEqual(['bus-closed', 'bus-closed']);
  });

  it('breaking out of for await unsubscribes', async () => {
    const bus = newBus();
    const sub = bus.subscribe('*');
    bus.publish('app.tick', 1);
    bus.publish('app.tick', 2);
    for await (const envelope of sub) {
      expect(envelope.payload).toBe(1);
      break;
    }
    expect(sub.closedReason).toBe('unsubscribed');
    expect(bus.subscriberCount).toBe(0);
    expect(bus.publish('app.tick', 3)).toBe(0);
  });

  it('close() unsubscribes at once: buffered events are discarded and loops end', async () => {
    const bus = newBus();
    const sub = bus.subscribe('*');
    bus.publish('app.tick', 1);
    sub.close();
    sub.close();
    expect(await drain(sub)).toEqual([]);
    expect(sub.stats).toEqual({ delivered: 0, dropped: 1, buffered: 0, highWater: 1 });
    expect(bus.subscriberCount).toBe(0);
  });

  it('a using declaration unsubscribes at the end of the block', () => {
    const bus = newBus();
    {
      using sub = bus.subscribe('*');
      expect(sub.closed).toBe(false);
      expect(bus.subscriberCount).toBe(1);
    }
    expect(bus.subscriberCount).toBe(0);
  });

  it('an aborted signal unsubscribes with reason aborted and leaves no listener', async () => {
    const bus = newBus();
    const controller = new AbortController();
    const sub = bus.subscribe('*', { signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    const parked = sub[Symbol.asyncIterator]().next();
    controller.abort('leaving');
    await expect(parked).resolves.toMatchObject({ done: true });
    expect(sub.closedReason).toBe('aborted');
    expect(bus.subscriberCount).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('unsubscribing removes the signal listener too', () => {
    const bus = newBus();
    const { signal } = new AbortController();
    for (let i = 0; i < 100; i++) bus.subscribe('*', { signal }).close();
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('refuses an already-aborted signal', () => {
    const bus = newBus();
    let thrown: unknown;
    try {
      bus.subscribe('*', { signal: AbortSignal.abort('no') });
    } catch (error) {
      thrown = error;
    }
    expect(isAbortError(thrown)).toBe(true);
    expect(bus.subscriberCount).toBe(0);
  });

  it("'close' ends a subscriber that falls a whole buffer behind, after it drains", async () => {
    const bus = newBus();
    const slow = bus.subscribe('*', { buffer: 2, whenFull: 'close' });
    const other = bus.subscribe('*', { buffer: 8 });
    for (let i = 1; i <= 4; i++) bus.publish('app.tick', i);
    expect(slow.closedReason).toBe('slow-consumer');
    expect((await drain(slow)).map((e) => e.payload)).toEqual([1, 2]);
    bus.close();
    expect((await drain(other)).map((e) => e.payload)).toEqual([1, 2, 3, 4]);
  });

  it('enforces maxSubscribers over subscriptions and listeners', () => {
    const bus = new EventBus<Events>({ maxSubscribers: 2 });
    const off = bus.on('app.tick', () => {});
    const sub = bus.subscribe('*');
    expect(() => bus.subscribe('*')).toThrow(SubscriberLimitError);
    expect(() => bus.on('app.tick', () => {})).toThrow(/maxSubscribers/);
    off();
    sub.close();
    expect(() => bus.subscribe('*').close()).not.toThrow();
  });
});

describe('EventBus close', () => {
  it('refuses publish, on and subscribe afterwards, and is idempotent', () => {
    const bus = newBus();
    bus.close();
    bus.close();
    expect(bus.closed).toBe(true);
    expect(() => bus.publish('app.tick', 1)).toThrow(ClosedError);
    expect(() => bus.on('app.tick', () => {})).toThrow(ClosedError);
    expect(() => bus.subscribe('*')).toThrow(ClosedError);
  });

  it('removes every listener', () => {
    const bus = newBus();
    const off = bus.on('app.tick', () => {});
    bus.subscribe('*');
    bus.close();
    expect(bus.subscriberCount).toBe(0);
    off();
    expect(bus.subscriberCount).toBe(0);
  });
});

describe('EventBus re-entrancy', () => {
  it('a listener that publishes: the nested event is dispatched after the current one reaches everyone', async () => {
    const bus = newBus();
    const order: string[] = [];
    bus.on('app.tick', (n) => {
      order.push(`A:${n}`);
      if (n === 1) bus.publish('app.tick', 2);
    });
    bus.on('app.tick', (n) => order.push(`B:${n}`));
    const sub = bus.subscribe(['app.tick']);
    bus.publish('app.tick', 1);
    expect(order).toEqual(['A:1', 'B:1', 'A:2', 'B:2']);
    bus.close();
    expect((await drain(sub)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('a subscriber added during dispatch does not get the current event, but gets the next', async () => {
    const bus = newBus();
    let late: Subscription | undefined;
    const lateListener = vi.fn();
    bus.on('app.tick', () => {
      late ??= bus.subscribe('*');
      bus.on('app.tick', lateListener);
    });
    bus.publish('app.tick', 1);
    expect(lateListener).not.toHaveBeenCalled();
    bus.publish('app.note', 'next');
    bus.close();
    expect((await drain(late as Subscription)).map((e) => e.payload)).toEqual(['next']);
  });

  it('a listener removed by a peer during dispatch still gets the current event, not the next', () => {
    const bus = newBus();
    const second = vi.fn();
    let offSecond = (): void => {};
    bus.on('app.tick', () => offSecond());
    offSecond = bus.on('app.tick', second);
    bus.publish('app.tick', 1);
    bus.publish('app.tick', 2);
    expect(second.mock.calls.map((c: unknown[]) => c[0])).toEqual([1]);
  });

  it('a listener that unsubscribes itself is not called again', () => {
    const bus = newBus();
    const calls: number[] = [];
    const off = bus.on('app.tick', (n) => {
      calls.push(n);
      off();
    });
    bus.publish('app.tick', 1);
    bus.publish('app.tick', 2);
    expect(calls).toEqual([1]);
  });

  it('a subscription closed by a listener during dispatch buffers nothing more', async () => {
    const bus = newBus();
    const subs: Subscription[] = [];
    bus.on('app.tick', () => subs[0]?.close());
    const sub = bus.subscribe('*');
    subs.push(sub);
    bus.publish('app.tick', 1);
    expect(await drain(sub)).toEqual([]);
    expect(sub.closedReason).toBe('unsubscribed');
  });

  it('a listener that closes the bus mid-dispatch ends every subscription cleanly', async () => {
    const bus = newBus();
    const sub = bus.subscribe('*');
    bus.on('app.tick', (n) => {
      if (n === 2) bus.close();
    });
    bus.publish('app.tick', 1);
    bus.publish('app.tick', 2);
    expect(bus.closed).toBe(true);
    expect(sub.closedReason).toBe('bus-closed');
    // Event 2 reached the '*' subscription only after the close had ended it.
    expect((await drain(sub)).map((e) => e.payload)).toEqual([1]);
  });
});

describe('EventBus validation', () => {
  it.each([
    [{ buffer: 0 }, /buffer must be an integer from 1/],
    [{ buffer: 1.5 }, /buffer must be an integer/],
    [
      { whenFull: 'block' },
      /whenFull must be one of 'drop-oldest' \| 'drop-newest' \| 'close', got "block"/,
    ],
    [{ signal: 'x' }, /signal must be an AbortSignal/],
  ])('subscribe rejects %o', (options, message) => {
    const bus = newBus();
    expect(() => bus.subscribe('*', options as never)).toThrow(message);
    expect(bus.subscriberCount).toBe(0);
  });

  it('subscribe rejects an empty topic list', () => {
    expect(() => newBus().subscribe([])).toThrow(/non-empty array of topic names, got \[\]/);
  });

  it.each([0, -1, 2.5, Number.NaN])('rejects maxSubscribers %s', (maxSubscribers) => {
    expect(() => new EventBus<Events>({ maxSubscribers })).toThrow(
      /maxSubscribers must be a positive integer/,
    );
  });

  it('rejects a listener that is not a function', () => {
    expect(() => newBus().on('app.tick', 'nope' as never)).toThrow(/listener must be a function/);
  });

  it('refuses an unknown EventBus option with a did-you-mean, and a null one', () => {
    expect(() => new EventBus<Events>({ maxSubscriber: 5 } as never)).toThrow(
      new TypeError(
        "EventBus options has an unknown option 'maxSubscriber'; did you mean 'maxSubscribers'? (known options: 'maxSubscribers', 'onError')",
      ),
    );
    expect(() => new EventBus<Events>({ onError: null } as never)).toThrow(
      /^EventBus options\.onError must not be null/,
    );
    expect(() => new EventBus<Events>(null as never)).toThrow(
      /^EventBus options must be an object, got null/,
    );
  });

  it.each([
    [{ bufer: 8 }, /^subscribe options has an unknown option 'bufer'; did you mean 'buffer'\?/],
    [{ buffer: null }, /^subscribe options\.buffer must not be null/],
    [{ signal: null }, /^subscribe options\.signal must not be null/],
    ['drop-oldest', /^subscribe options must be an object, got "drop-oldest"/],
  ])('subscribe refuses the options %o and subscribes nothing', (options, message) => {
    const bus = newBus();
    expect(() => bus.subscribe('*', options as never)).toThrow(message);
    expect(bus.subscriberCount).toBe(0);
  });

  it.each([
    ['', /^topic must be '\*' or a topic name, got ""/],
    [42, /^topic must be '\*' or a topic name, got 42/],
    [undefined, /^topic must be '\*' or a topic name, got undefined/],
    [['app.tick'], /^topic must be '\*' or a topic name, got \["app.tick"\]/],
  ])('on refuses the topic %o and listens to nothing', (topic, message) => {
    const bus = newBus();
    expect(() => bus.on(topic as never, () => {})).toThrow(message);
    expect(bus.subscriberCount).toBe(0);
  });

  it.each(['', '*', 42])('publish refuses the topic %o, also once closed', (topic) => {
    const bus = newBus();
    expect(() => bus.publish(topic as never, 1 as never)).toThrow(TypeError);
    bus.close();
    expect(() => bus.publish(topic as never, 1 as never)).toThrow(TypeError);
  });
});

describe('EventBus typing', () => {
  it('ties payload types to topics', () => {
    const bus = newBus();
    bus.publish('app.tick', 1);
    // @ts-expect-error the payload of app.tick is a number
    expect(() => bus.publish('app.tick', 'one')).not.toThrow();
    // @ts-expect-error unknown topic
    expect(() => bus.publish('app.unknown', 1)).not.toThrow();
    bus.on('feed.updated', (payload) => {
      expectTypeOf(payload).toEqualTypeOf<{ url: string; items: number }>();
    });
    const sub = bus.subscribe(['app.tick', 'app.note']);
    expectTypeOf(sub).toEqualTypeOf<
      Subscription<Envelope<'app.tick', number> | Envelope<'app.note', string>>
    >();
    // @ts-expect-error not a topic of Events
    expect(() => bus.subscribe(['nope'])).not.toThrow();
    bus.close();
  });
});

describe('EventBus subscribers', () => {
  it('lists each subscription with its topics, policy and counters, oldest first; not on listeners', () => {
    const bus = newBus();
    const slow = bus.subscribe(['app.tick', 'app.note'], { buffer: 2, whenFull: 'drop-newest' });
    const all = bus.subscribe('*');
    bus.on('app.tick', () => undefined);
    for (let i = 0; i < 5; i++) bus.publish('app.tick', i);
    const views = bus.subscribers();
    expect(views).toEqual([
      {
        topics: ['app.tick', 'app.note'],
        buffer: 2,
        whenFull: 'drop-newest',
        delivered: 0,
        dropped: 3,
        buffered: 2,
        highWater: 2,
      },
      {
        topics: ['*'],
        buffer: 256,
        whenFull: 'drop-oldest',
        delivered: 0,
        dropped: 0,
        buffered: 5,
        highWater: 5,
      },
    ]);
    expect(Object.isFrozen(views)).toBe(true);
    expect(Object.isFrozen(views[0])).toBe(true);
    expect(structuredClone(views)).toEqual(views);
    slow.close();
    expect(bus.subscribers().map((v) => v.topics)).toEqual([['*']]);
    all.close();
    bus.close();
    expect(bus.subscribers()).toEqual([]);
  });
});
