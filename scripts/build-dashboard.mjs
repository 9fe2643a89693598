/**
 * `npm run build`'s second step: the dashboard's page script, bundled for the browser
 * by the module tsc has just compiled, written beside the server.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { URL } from 'node:url';
import { bundlePage } from '../dist/bridge/dashboard/bundle.js';

const out = new URL('../dist/bridge/dashboard/page.js', import.meta.url);
await mkdir(new URL('.', out), { recursive: true });
await writeFile(
  out,
  await bundlePage(new URL('../src/bridge/dashboard/page/page.ts', import.meta.url)),
);
