import { describe, expect, it } from 'vitest';
import { bridge } from '../../examples/bridge.js';

describe('examples/bridge.ts', () => {
  it('runs and prints what the README says it prints', async () => {
    const lines: string[] = [];
    await bridge((line) => lines.push(line));
    expect(lines).toEqual([
      'job-1: resized to 640px',
      'succeeded: 1, may cancel: true',
      'job.finished {"file":"a.png"}',
    ]);
  });
});
