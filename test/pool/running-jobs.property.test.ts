/**
 * `RunningJobs` against a Set model: random starts and ends, in any order; after every
 * step it holds the model's jobs, lists them in submission order, and counts them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/pool/job-record.js';
import { RunningJobs } from '../../src/pool/running-jobs.js';

/** What RunningJobs reads of a record: its sequence number and running attempt's place. */
const record = (seq: number): JobRecord =>
  ({ seq, current: { runningAt: -1 } }) as unknown as JobRecord;

describe('RunningJobs', () => {
  it('holds, counts and lists (in submission order) what a Set of the same starts and ends holds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant('start' as const), fc.nat()), { maxLength: 200 }),
        (steps) => {
          const running = new RunningJobs();
          const model = new Set<JobRecord>();
          let seq = 0;
          for (const step of steps) {
            if (step === 'start') {
              const job = record(++seq);
              running.add(job);
              model.add(job);
            } else if (model.size > 0) {
              const job = [...model][step % model.size] as JobRecord;
              running.delete(job);
              model.delete(job);
            }
            expect(running.size).toBe(model.size);
            expect(running.list()).toEqual([...model].sort((a, b) => a.seq - b.seq));
          }
        },
      ),
    );
  });
});
