import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ProcessWatch, TimerWatch, activeResources, findLeaks } from './leaks.js';

describe('leak check helper', () => {
  it('reports a timer left pending, and passes once it is cleared', async () => {
    const baseline = activeResources();
    const watch = new ProcessWatch();
    const timers = new TimerWatch();
    const interval = setInterval(() => {}, 1_000);
    const timeout = setTimeout(() => {}, 5_000);
    try {
      expect(await findLeaks(baseline, watch, timers)).toEqual([
        'timers left pending: setInterval(1000 ms), setTimeout(5000 ms)',
      ]);
    } finally {
      clearInterval(interval);
      clearTimeout(timeout);
    }
    expect(await findLeaks(baseline, watch, timers)).toEqual([]);
    timers.stop();
    watch.stop();
  });

  it('forgets a timeout once it has fired', async () => {
    const timers = new TimerWatch();
    await new Promise<void>((resolve) => setTimeout(resolve, 1));
    expect(timers.pending()).toEqual([]);
    timers.stop();
  });

  it('reports a handle left open', async () => {
    const baseline = activeResources();
    const watch = new ProcessWatch();
    const { port1, port2 } = new MessageChannel();
    port1.on('message', () => {});
    try {
      expect(await findLeaks(baseline, watch)).toEqual([
        'active resources left behind: MessagePort +1',
      ]);
    } finally {
      port1.close();
      port2.close();
      watch.stop();
    }
  });

  it('reports unhandled rejections and process warnings (in a child process)', async () => {
    const script = `
      import { ProcessWatch, activeResources, findLeaks } from './test/helpers/leaks.ts';
      const watch = new ProcessWatch();
      const baseline = activeResources();
      void Promise.reject(new Error('nobody listens'));
      process.emitWarning('something odd', 'TestWarning');
      console.log(JSON.stringify(await findLeaks(baseline, watch)));
      watch.stop();
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script],
      { cwd: new URL('../../', import.meta.url), timeout: 30_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]')).toEqual([
      'unhandled rejection: Error: nobody listens',
      'process warning: TestWarning: something odd',
    ]);
  });
});
