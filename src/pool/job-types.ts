import type { JobTypesOptions } from './options.js';
import type { AnyWorkerModule, WorkerModule } from './worker-task.js';

/**
 * The compile-time view of a pool's job types: which take a task function, which take
 * plain input for a worker thread, and (for a `workerModule`) that input's and result's
 * types.
 */

/**
 * Input of a worker-type job: structured-cloneable data (checked, and copied, at submit).
 *
 * Any object but a function. A function is an `object` too; `call?: never` is what tells
 * it (it has `call`) from data at compile time. The index-signature member is there for
 * object literals, which the `object &` member alone would refuse as excess properties.
 */
export type WorkerInput =
  | string
  | number
  | boolean
  | null
  | bigint
  | (object & { readonly call?: never })
  | { readonly [key: string]: unknown; readonly call?: never };

/** The job type names of a `types` option. */
export type TypeName<T> = keyof T & string;

/** The job types of `T` whose jobs are functions run in the pool's thread. */
export type TaskType<T extends JobTypesOptions> = {
  [K in TypeName<T>]: T[K] extends { readonly worker: string | URL | AnyWorkerModule } ? never : K;
}[TypeName<T>];

/** The input a worker type takes: its module's, when given with `workerModule`. */
export type WorkerInputOf<O> = O extends { readonly worker: WorkerModule<infer I, unknown> }
  ? I
  : WorkerInput;

/** The result a worker type's jobs give: its module's, when given with `workerModule`. */
export type WorkerResultOf<O> = O extends { readonly worker: WorkerModule<unknown, infer R> }
  ? R
  : unknown;

/** The job types of `T` whose jobs run in worker threads (submitted as input). */
export type WorkerType<T extends JobTypesOptions> = {
  // The key test comes first: `{ concurrency: 1 }` shares no property with the all-optional
  // `{ worker?: undefined }`, so TypeScript's weak-type rule would call it no match, and
  // every type without `worker` would count as a worker type.
  [K in TypeName<T>]: 'worker' extends keyof T[K]
    ? T[K] extends { readonly worker?: undefined }
      ? never
      : K
    : never;
}[TypeName<T>];
