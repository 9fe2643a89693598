/**
 * `SeqIndex` against a Map model: increasing sequence numbers (with gaps, some crossing
 * pages, some far ahead, as a pool's are after skipped or joined submits) added, and
 * random ones removed (held or not, twice, out of order); after every step each number
 * ever used, and some never used, reads as it does in the model.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeqIndex } from '../../src/pool/seq-index.js';

type Op =
  | { readonly kind: 'add'; readonly gap: number }
  | { readonly kind: 'delete'; readonly pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3000 }))
      .map((gap) => ({ kind: 'add' as const, gap })),
  },
  { weight: 2, arbitrary: fc.nat().map((pick) => ({ kind: 'delete' as const, pick })) },
);

describe('SeqIndex', () => {
  it('reads as a Map of the same adds and deletes, whatever the gaps and order', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.nat({ max: 5000 }), (steps, start) => {
        const index = new SeqIndex<string>();
        const model = new Map<number, string>();
        const used: number[] = [];
        let seq = start;
        for (const step of steps) {
          if (step.kind === 'add') {
            seq += step.gap;
            index.add(seq, `item ${seq}`);
            model.set(seq, `item ${seq}`);
            used.push(seq);
          } else if (used.length > 0) {
            const victim = used[step.pick % used.length] as number;
            index.delete(victim);
            model.delete(victim);
          }
          for (const n of [...used, seq + 1, seq + 1024, start - 1]) {
            expect(index.get(n)).toBe(model.get(n));
          }
        }
      }),
    );
  });

  it('finds nothing under a number that is not a sequence number', () => {
    const index = new SeqIndex<string>();
    index.add(0, 'first');
    for (const n of [Number.NaN, -1, 0.5, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(index.get(n)).toBeUndefined();
    }
    expect(index.get(0)).toBe('first');
  });
});
