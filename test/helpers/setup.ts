import { afterEach, beforeEach, expect, vi } from 'vitest';
import {
  activeResources,
  findLeaks,
  ProcessWatch,
  TimerWatch,
  type ResourceCounts,
} from './leaks.js';

let baseline: ResourceCounts;
let watch: ProcessWatch;
let timers: TimerWatch;

beforeEach(() => {
  baseline = activeResources();
  watch = new ProcessWatch();
  timers = new TimerWatch();
});

afterEach(async () => {
  try {
    vi.useRealTimers();
    expect(await findLeaks(baseline, watch, timers)).toEqual([]);
  } finally {
    timers.stop();
    watch.stop();
  }
});
