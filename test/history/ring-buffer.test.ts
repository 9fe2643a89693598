import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RingBuffer } from '../../src/index.js';

describe('RingBuffer', () => {
  it('keeps items oldest first', () => {
    const ring = new RingBuffer<number>(3);
    ring.push(1);
    ring.push(2);
    expect(ring.toArray()).toEqual([1, 2]);
    expect(ring.size).toBe(2);
    expect(ring.full).toBe(false);
  });

  it('evicts the oldest item when full, hands it to onEvict and says so', () => {
    const ring = new RingBuffer<string>(2);
    const evicted: string[] = [];
    const onEvict = (item: string): void => void evicted.push(item);
    expect(ring.push('a', onEvict)).toBe(false);
    expect(ring.push('b', onEvict)).toBe(false);
    expect(ring.push('c', onEvict)).toBe(true);
    expect(evicted).toEqual(['a']);
    expect(ring.toArray()).toEqual(['b', 'c']);
  });

  it('hands over an evicted undefined like any item', () => {
    const ring = new RingBuffer<undefined>(1);
    const evicted: undefined[] = [];
    ring.push(undefined, (item) => void evicted.push(item));
    expect(ring.push(undefined, (item) => void evicted.push(item))).toBe(true);
    expect(evicted).toEqual([undefined]);
  });

  it('drains every item oldest first, leaving it empty and usable', () => {
    const ring = new RingBuffer<number>(3);
    for (const n of [1, 2, 3, 4]) ring.push(n); // wrapped around: 1 evicted
    expect(ring.drain()).toEqual([2, 3, 4]);
    expect(ring.size).toBe(0);
    expect(ring.drain()).toEqual([]);
    ring.push(5);
    expect(ring.toArray()).toEqual([5]);
  });

  it('shifts the oldest item and returns undefined when empty', () => {
    const ring = new RingBuffer<number>(2);
    ring.push(1);
    ring.push(2);
    ring.push(3);
    expect(ring.shift()).toBe(2);
    expect(ring.shift()).toBe(3);
    expect(ring.shift()).toBeUndefined();
  });

  it('reads by index from either end', () => {
    const ring = new RingBuffer<number>(3);
    for (const n of [1, 2, 3, 4]) ring.push(n);
    expect([ring.at(0), ring.at(2), ring.at(-1), ring.at(3), ring.at(0.5)]).toEqual([
      2,
      4,
      4,
      undefined,
      undefined,
    ]);
  });

  it('hands out copies that never change when the ring moves on', () => {
    const ring = new RingBuffer<number>(2);
    ring.push(1);
    const copy = ring.toArray();
    ring.push(2);
    ring.push(3);
    ring.clear();
    expect(copy).toEqual([1]);
  });

  it.each([0, -1, 2.5, Number.NaN])('rejects capacity %s', (capacity) => {
    expect(() => new RingBuffer(capacity)).toThrow(/capacity must be an integer from 1/);
  });

  it('matches a plain-array model, and earlier copies never change', () => {
    type Model = { items: number[]; capacity: number };
    type Real = { ring: RingBuffer<number>; copies: { copy: number[]; expected: number[] }[] };
    class Push implements fc.Command<Model, Real> {
      constructor(readonly value: number) {}
      check = (): boolean => true;
      run(m: Model, r: Real): void {
        const evicted: number[] = [];
        const full = m.items.length === m.capacity;
        expect(r.ring.push(this.value, (item) => void evicted.push(item))).toBe(full);
        expect(evicted).toEqual(full ? [m.items[0]] : []);
        if (full) m.items.shift();
        m.items.push(this.value);
      }
      toString = (): string => `push(${this.value})`;
    }
    class Shift implements fc.Command<Model, Real> {
      check = (): boolean => true;
      run(m: Model, r: Real): void {
        expect(r.ring.shift()).toBe(m.items.shift());
      }
      toString = (): string => 'shift';
    }
    class Copy implements fc.Command<Model, Real> {
      check = (): boolean => true;
      run(m: Model, r: Real): void {
        const copy = r.ring.toArray();
        expect(copy).toEqual(m.items);
        r.copies.push({ copy, expected: [...m.items] });
      }
      toString = (): string => 'toArray';
    }
    class Clear implements fc.Command<Model, Real> {
      check = (): boolean => true;
      run(m: Model, r: Real): void {
        r.ring.clear();
        m.items = [];
      }
      toString = (): string => 'clear';
    }
    const commands = [
      fc.integer().map((v) => new Push(v)),
      fc.constant(new Shift()),
      fc.constant(new Copy()),
      fc.constant(new Clear()),
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.commands(commands, { maxCommands: 60 }),
        (capacity, cmds) => {
          const real: Real = { ring: new RingBuffer<number>(capacity), copies: [] };
          const model: Model = { items: [], capacity };
          fc.modelRun(() => ({ model, real }), cmds);
          expect(real.ring.size).toBe(model.items.length);
          expect(real.ring.toArray()).toEqual(model.items);
          for (const { copy, expected } of real.copies) expect(copy).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
