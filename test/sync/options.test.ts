/**
 * Every public call of the sync primitives validates every argument before it touches
 * any state: unknown option keys (with a did-you-mean), `null` values, non-functions.
 */
import { describe, expect, it } from 'vitest';
import { KeyedMutex, Mutex, RWLock, Semaphore, SingleFlight } from '../../src/index.js';

const bad = <T>(value: unknown): T => value as T;

describe('lock constructors refuse unknown option keys with a did-you-mean', () => {
  it.each<[string, () => unknown]>([
    ['Semaphore', () => new Semaphore(2, bad({ nmae: 'x' }))],
    ['Mutex', () => new Mutex(bad({ nmae: 'x' }))],
    ['RWLock', () => new RWLock(bad({ nmae: 'x' }))],
    ['KeyedMutex', () => new KeyedMutex(bad({ nmae: 'x' }))],
  ])('%s', (_kind, make) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow("options has an unknown option 'nmae'; did you mean 'name'?");
  });
});

describe('lock constructors refuse null', () => {
  it.each<[string, () => unknown]>([
    ['Semaphore options', () => new Semaphore(2, bad(null))],
    ['Mutex options.name', () => new Mutex(bad({ name: null }))],
    ['RWLock options.rank', () => new RWLock(bad({ rank: null }))],
    ['KeyedMutex options', () => new KeyedMutex(bad(null))],
  ])('%s', (_what, make) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(/null/);
  });
});

describe('acquire options refuse unknown keys and null, before any state is touched', () => {
  it.each<[string, () => { call: () => Promise<unknown>; untouched: () => boolean }]>([
    [
      'Semaphore.acquire(1, null)',
      () => {
        const s = new Semaphore(1);
        return { call: () => s.acquire(1, bad(null)), untouched: () => s.available === 1 };
      },
    ],
    [
      'Semaphore.acquire(1, { sigal })',
      () => {
        const s = new Semaphore(1);
        return {
          call: () => s.acquire(1, bad({ sigal: undefined })),
          untouched: () => s.available === 1,
        };
      },
    ],
    [
      'Mutex.acquire({ signal: null })',
      () => {
        const m = new Mutex();
        return { call: () => m.acquire(bad({ signal: null })), untouched: () => !m.locked };
      },
    ],
    [
      'RWLock.acquireWrite({ sigal })',
      () => {
        const rw = new RWLock();
        return {
          call: () => rw.acquireWrite(bad({ sigal: undefined })),
          untouched: () => !rw.writing,
        };
      },
    ],
    [
      'KeyedMutex.acquire(key, null)',
      () => {
        const k = new KeyedMutex();
        return { call: () => k.acquire('a', bad(null)), untouched: () => k.size === 0 };
      },
    ],
    [
      'SingleFlight.run(key, fn, { sigal })',
      () => {
        const group = new SingleFlight<string, number>();
        return {
          call: () => group.run('a', () => 1, bad({ sigal: undefined })),
          untouched: () => group.size === 0,
        };
      },
    ],
  ])('%s rejects with a TypeError', async (_call, make) => {
    const { call, untouched } = make();
    await expect(call()).rejects.toThrow(TypeError);
    expect(untouched()).toBe(true);
  });

  it('names the typo and the key it likely meant', async () => {
    await expect(new Mutex().acquire(bad({ sigal: undefined }))).rejects.toThrow(
      "options has an unknown option 'sigal'; did you mean 'signal'?",
    );
  });

  it('refuses weight in a Mutex run (a Semaphore option only)', async () => {
    const m = new Mutex();
    await expect(m.run(() => 1, bad({ weight: 1 }))).rejects.toThrow(TypeError);
    expect(m.locked).toBe(false);
  });
});

describe('run refuses a non-function fn before taking the lock', () => {
  it.each<[string, () => { call: () => Promise<unknown>; untouched: () => boolean }]>([
    [
      'Semaphore.run',
      () => {
        const s = new Semaphore(1);
        return { call: () => s.run(bad(1)), untouched: () => s.available === 1 };
      },
    ],
    [
      'Mutex.run',
      () => {
        const m = new Mutex();
        return { call: () => m.run(bad('x')), untouched: () => !m.locked };
      },
    ],
    [
      'RWLock.runRead',
      () => {
        const rw = new RWLock();
        return { call: () => rw.runRead(bad(null)), untouched: () => rw.readers === 0 };
      },
    ],
    [
      'RWLock.runWrite',
      () => {
        const rw = new RWLock();
        return { call: () => rw.runWrite(bad({})), untouched: () => !rw.writing };
      },
    ],
    [
      'KeyedMutex.run',
      () => {
        const k = new KeyedMutex();
        return { call: () => k.run('a', bad(1)), untouched: () => k.size === 0 };
      },
    ],
  ])('%s', async (_call, make) => {
    const { call, untouched } = make();
    await expect(call()).rejects.toThrow(/^fn must be a function/);
    expect(untouched()).toBe(true);
  });

  it('Semaphore.run refuses an unknown option, naming it', async () => {
    const s = new Semaphore(2);
    await expect(s.run(() => 1, bad({ wieght: 2 }))).rejects.toThrow(
      "options has an unknown option 'wieght'; did you mean 'weight'?",
    );
    expect(s.available).toBe(2);
  });

  it('Semaphore.run names options.weight when it is out of range', async () => {
    const s = new Semaphore(2);
    await expect(s.run(() => 1, { weight: 3 })).rejects.toThrow(/^options\.weight must be/);
  });
});
