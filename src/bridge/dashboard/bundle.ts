/**
 * The dashboard page's script, bundled for the browser by esbuild: `npm run build`
 * writes it beside the server (`scripts/build-dashboard.mjs`), and a server running from
 * a checkout's TypeScript (tsx, the tests) bundles it on first use. Built for the browser
 * platform, so a Node import anywhere in the page's graph fails the build.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ENTRY = new URL('./page/page.ts', import.meta.url);

/**
 * Bundles the page script from `entry` (the page's TypeScript; the build names the one in
 * `src/`, since tsc copies no TypeScript to `dist/`); resolves with its bytes.
 * @throws esbuild's error (it is a development dependency: a checkout has it, an
 *   installed package ships the bundle instead and never calls this).
 */
export async function bundlePage(entry: URL = ENTRY): Promise<Uint8Array> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    write: false,
  });
  const [file] = result.outputFiles;
  if (file === undefined) throw new Error('esbuild wrote no page script');
  return file.contents;
}

/** Whether the page's TypeScript is beside this module: a checkout, not an installed package. */
export function pageSourceHere(): boolean {
  return existsSync(ENTRY);
}
