import { afterEach, beforeEach, expect } from 'vitest';
import { activeResources, findLeaks, ProcessWatch, type ResourceCounts } from './leaks.js';

let baseline: ResourceCounts;
let watch: ProcessWatch;

beforeEach(() => {
  baseline = activeResources();
  watch = new ProcessWatch();
});

afterEach(async () => {
  try {
    expect(await findLeaks(baseline, watch)).toEqual([]);
  } finally {
    watch.stop();
  }
});
