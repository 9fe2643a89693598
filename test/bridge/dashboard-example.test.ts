import { describe, expect, it } from 'vitest';
import { dashboardExample } from '../../examples/dashboard.js';

describe('examples/dashboard.ts', () => {
  it('serves the dashboard on a loopback port and says where', async () => {
    const lines: string[] = [];
    await dashboardExample((line) => lines.push(line));
    expect(lines).toEqual([expect.stringMatching(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/$/)]);
  });
});
