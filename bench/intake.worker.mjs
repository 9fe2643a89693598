// The intake worker module, loaded from its TypeScript source through tsx: the benchmarks run
// the sources, and a worker thread loads only JavaScript as it is.
import { tsImport } from 'tsx/esm/api';

const { default: task } = await tsImport('../src/feed/intake/intake.worker.ts', import.meta.url);
export default task;
