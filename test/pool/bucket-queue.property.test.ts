/**
 * The pool's two queue structures against a model: a plain array sorted by rank (higher
 * first), then sequence number (lower first).
 *
 * - `BucketQueue` alone: random pushes (new items, and items taken earlier pushed again
 *   with their old sequence number, as a retried job is), removals (lazy: the item
 *   leaves its level), re-ranks to a higher level, peeks and pops; after every step its
 *   front is the model's, and its entries list the model in order.
 * - `TypeQueue`: the same, with ranks that are sometimes fractional or out of the bucket
 *   range, so the queue moves from its buckets to its heap mid-run and must keep order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BucketQueue, MAX_LEVEL, MIN_LEVEL } from '../../src/pool/bucket-queue.js';
import type { JobHost } from '../../src/pool/job.js';
import type { JobRecord } from '../../src/pool/job-record.js';
import type { NormalizedType } from '../../src/pool/options.js';
import { TypeQueue } from '../../src/pool/type-queue.js';

/** The queue only keeps its pool's host for the jobs' handles: none here. */
const NO_HOST = {} as JobHost;

type Op =
  | { readonly kind: 'push'; readonly rank: number }
  | { readonly kind: 'again'; readonly pick: number; readonly rank: number }
  | { readonly kind: 'remove'; readonly pick: number }
  | { readonly kind: 'raise'; readonly pick: number; readonly by: number }
  | { readonly kind: 'pop' }
  | { readonly kind: 'peek' };

const ops = (rank: fc.Arbitrary<number>): fc.Arbitrary<Op[]> =>
  fc.array(
    fc.oneof(
      { weight: 5, arbitrary: rank.map((r) => ({ kind: 'push' as const, rank: r })) },
      {
        weight: 1,
        arbitrary: fc
          .record({ pick: fc.nat(), rank })
          .map((o) => ({ kind: 'again' as const, ...o })),
      },
      { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: 'remove' as const, pick })) },
      {
        weight: 1,
        arbitrary: fc
          .record({ pick: fc.nat(), by: fc.integer({ min: 1, max: 3 }) })
          .map((o) => ({ kind: 'raise' as const, ...o })),
      },
      { weight: 3, arbitrary: fc.constant({ kind: 'pop' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'peek' as const }) },
    ),
    { maxLength: 300 },
  );

/** What a queue under test offers; `live` is the model: queued items, in no order. */
interface Subject<I> {
  make(seq: number, rank: number): I;
  push(item: I, rank: number): void;
  remove(item: I): void;
  raise(item: I, rank: number): void;
  pop(): I | undefined;
  peek(): I | undefined;
  inOrder(): I[];
  seq(item: I): number;
  rank(item: I): number;
}

function check<I>(subject: Subject<I>, steps: readonly Op[]): void {
  let seq = 0;
  const live: I[] = [];
  const taken: I[] = [];
  const model = (): I[] =>
    [...live].sort((a, b) => subject.rank(b) - subject.rank(a) || subject.seq(a) - subject.seq(b));
  for (const op of steps) {
    switch (op.kind) {
      case 'push': {
        const item = subject.make(++seq, op.rank);
        subject.push(item, op.rank);
        live.push(item);
        break;
      }
      case 'again': {
        const item = taken.splice(op.pick % Math.max(1, taken.length), 1)[0];
        if (item === undefined) break;
        subject.push(item, op.rank);
        live.push(item);
        break;
      }
      case 'remove': {
        const item = live.splice(op.pick % Math.max(1, live.length), 1)[0];
        if (item !== undefined) subject.remove(item);
        break;
      }
      case 'raise': {
        const item = live[op.pick % Math.max(1, live.length)];
        if (item !== undefined) subject.raise(item, subject.rank(item) + op.by);
        break;
      }
      case 'pop': {
        const expected = model()[0];
        expect(subject.pop()).toBe(expected);
        if (expected !== undefined) {
          live.splice(live.indexOf(expected), 1);
          taken.push(expected);
        }
        break;
      }
      case 'peek':
        expect(subject.peek()).toBe(model()[0]);
        break;
    }
    expect(subject.inOrder()).toEqual(model());
  }
}

describe('BucketQueue', () => {
  it('pops and lists its live entries by level (highest first), then sequence number', () => {
    interface Item {
      readonly seq: number;
      /** The level of its live entry; undefined when it is not queued. */
      level: number | undefined;
    }
    const level = fc.integer({ min: MIN_LEVEL, max: MAX_LEVEL - 3 });
    fc.assert(
      fc.property(ops(fc.oneof(level, fc.integer({ min: 0, max: 3 }))), (steps) => {
        const queue = new BucketQueue<Item>(
          (item) => item.seq,
          (item, at) => item.level === at,
        );
        let live = 0;
        check<Item>(
          {
            make: (seq, rank) => ({ seq, level: rank }),
            push: (item, rank) => {
              item.level = rank;
              queue.push(rank, item);
              live++;
            },
            remove: (item) => {
              item.level = undefined;
              queue.compact(--live);
            },
            raise: (item, rank) => {
              if (rank > MAX_LEVEL) return;
              item.level = rank;
              queue.push(rank, item);
              queue.compact(live);
            },
            pop: () => {
              const item = queue.pop();
              if (item !== undefined) {
                item.level = undefined;
                queue.compact(--live);
              }
              return item;
            },
            peek: () => queue.peek(),
            inOrder: () => [...queue.entries()].map(([item]) => item),
            seq: (item) => item.seq,
            rank: (item) => item.level ?? Number.NaN,
          },
          steps,
        );
        expect(queue.size).toBeLessThanOrEqual(Math.max(64, 2 * live));
      }),
      { numRuns: 500 },
    );
  });
});

describe('TypeQueue', () => {
  it('keeps dispatch order when a rank that fits no level moves it from its buckets to its heap', () => {
    const config = { name: 't', concurrency: 1 } as NormalizedType;
    const rank = fc.oneof(
      { weight: 60, arbitrary: fc.integer({ min: -3, max: 9 }) },
      { weight: 1, arbitrary: fc.double({ min: -5, max: 12, noNaN: true }) },
      { weight: 1, arbitrary: fc.integer({ min: 40, max: 1000 }) },
    );
    fc.assert(
      fc.property(ops(rank), (steps) => {
        // From buckets (moving to the heap at the first rank that fits no level), and a heap from the start.
        for (const buckets of [true, false]) {
          const queue = new TypeQueue(config, 0, buckets, NO_HOST);
          check<JobRecord>(
            {
              // Only what the queue reads of a record: its sequence number, rank and slot.
              make: (seq, r) => ({ seq, rank: r, slot: undefined }) as JobRecord,
              push: (job, r) => {
                job.rank = r;
                queue.push(job);
              },
              remove: (job) => queue.remove(job),
              raise: (job, r) => {
                job.rank = r;
                queue.rerank(job);
              },
              pop: () => queue.take(),
              peek: () => queue.peek(),
              inOrder: () => [...queue.inOrder()],
              seq: (job) => job.seq,
              rank: (job) => job.rank,
            },
            steps,
          );
        }
      }),
      { numRuns: 500 },
    );
  });
});
