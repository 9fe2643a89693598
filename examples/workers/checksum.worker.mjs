// Worker threads load JavaScript: register tsx in the thread, then load the TypeScript module.
// A compiled app points the pool at its built .js file instead.
import { register } from 'tsx/esm/api';

register();
const module = await import('./checksum.worker.ts');
export default module.default;
