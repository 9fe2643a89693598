/**
 * EarlyOutcomes against a model: a submit gets the outcome of its job when that outcome
 * arrived after the submit began and no waiter took it, and what is kept is dropped once
 * no submit that began before it is in flight.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EarlyOutcomes } from '../../src/distributed/early-outcomes.js';

type Step =
  | { readonly op: 'begin' }
  | { readonly op: 'arrive'; readonly id: number; readonly value: number }
  | { readonly op: 'end'; readonly pick: number; readonly id: number | undefined };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ op: 'begin' as const }),
  fc.record({ op: fc.constant('arrive' as const), id: fc.nat(5), value: fc.nat() }),
  fc.record({
    op: fc.constant('end' as const),
    pick: fc.nat(),
    id: fc.option(fc.nat(5), { nil: undefined }),
  }),
);

describe('EarlyOutcomes', () => {
  it('hands a submit the latest outcome of its job that arrived after it began, and nothing else', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const early = new EarlyOutcomes<number>();
        let time = 0;
        const inFlight: { ticket: number; began: number }[] = [];
        const arrivals: { id: string; value: number; at: number }[] = [];
        for (const s of steps) {
          time++;
          if (s.op === 'begin') inFlight.push({ ticket: early.begin(), began: time });
          else if (s.op === 'arrive') {
            early.keep(String(s.id), s.value);
            if (inFlight.length > 0) arrivals.push({ id: String(s.id), value: s.value, at: time });
          } else if (inFlight.length > 0) {
            const [submit] = inFlight.splice(s.pick % inFlight.length, 1);
            if (submit === undefined) continue;
            const id = s.id === undefined ? undefined : String(s.id);
            const expected = arrivals.filter((a) => a.id === id && a.at > submit.began).at(-1);
            expect(early.end(submit.ticket, id)).toBe(expected?.value);
          }
        }
        for (const submit of inFlight) early.end(submit.ticket, undefined);
        expect(early.size).toBe(0);
      }),
    );
  });

  it('keeps nothing while no submit is in flight', () => {
    const early = new EarlyOutcomes<string>();
    early.keep('1', 'done');
    const ticket = early.begin();
    expect(early.end(ticket, '1')).toBeUndefined();
    expect(early.size).toBe(0);
  });

  it('drops an outcome once every submit that began before it has ended', () => {
    const early = new EarlyOutcomes<string>();
    const first = early.begin();
    early.keep('7', 'done');
    const second = early.begin();
    early.keep('8', 'done');
    expect(early.end(second, undefined)).toBeUndefined();
    expect(early.size).toBe(2);
    expect(early.end(first, undefined)).toBeUndefined();
    expect(early.size).toBe(0);
  });
});
