// Worker threads load JavaScript: register tsx in the thread, then load the TypeScript module.
// A compiled app points the pool at its built .js file instead. No top-level await (see the
// README's worker shim): the first job awaits the load instead.
import { register } from 'tsx/esm/api';

register();
const loading = import('./checksum.worker.ts');
loading.catch(() => {}); // a failed load fails the job that awaits it
export default async function task(envelope) {
  const { default: run } = await loading;
  return run(envelope);
}
