// The intake worker module, loaded from its TypeScript source through tsx: the benchmarks run
// the sources, and a worker thread loads only JavaScript as it is. No top-level await (see
// the README's worker shim): the first job awaits the load instead.
import { tsImport } from 'tsx/esm/api';

const loading = tsImport('../src/feed/intake/intake.worker.ts', import.meta.url);
loading.catch(() => {}); // a failed load fails the job that awaits it
export default async function task(envelope) {
  const { default: run } = await loading;
  return run(envelope);
}
