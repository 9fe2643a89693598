/**
 * Bundles the dashboard's page script for the browser with esbuild: one ES module with
 * nothing from Node in it (a Node import fails the build). `npm run build` runs this
 * after tsc; tests import `bundleDashboard` to build it into a scratch directory.
 */
import { build } from 'esbuild';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const entry = fileURLToPath(new URL('../src/bridge/dashboard/page/page.ts', import.meta.url));

/** Writes the page script to `outfile`. */
export async function bundleDashboard(outfile) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundleDashboard(
    fileURLToPath(new URL('../dist/bridge/dashboard/page.js', import.meta.url)),
  );
}
