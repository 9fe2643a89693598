/**
 * `npm run demo:core`: the pipeline over Channels, then the WorkPool at work.
 * (`npm run demo` runs the feed reader, `workbus-feeds demo`, the main demo.)
 */
import { printReport, runPipeline } from './pipeline.js';
import { runPoolDemo } from './pool.js';

console.log('== 1. pipeline: Channels and Semaphores, cancelled half-way ==\n');
printReport(await runPipeline());
console.log(
  '\n== 2. WorkPool: priorities, per-type limits, rate, retry, cancel, timeout, worker thread, close ==\n',
);
await runPoolDemo();
