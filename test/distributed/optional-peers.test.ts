/**
 * `bullmq` and `ioredis` are optional peers: the core entry (and the feed kit) must not
 * load them, so an app without them installs and runs workbus. Checked on the import
 * graph esbuild resolves from each entry, which is what Node loads.
 */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);

async function packagesImportedBy(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [new URL(entry, root).pathname],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
  const imports = Object.values(result.metafile.inputs).flatMap((input) =>
    input.imports.filter((i) => i.external).map((i) => i.path),
  );
  return [...new Set(imports)];
}

describe('the optional peers', () => {
  it.each(['src/index.ts', 'src/feed/index.ts'])('are never imported from %s', async (entry) => {
    const imported = await packagesImportedBy(entry);
    expect(imported.filter((p) => /^(bullmq|ioredis)(\/|$)/.test(p))).toEqual([]);
  });

  it('are what workbus/distributed is built on', async () => {
    const imported = await packagesImportedBy('src/distributed/index.ts');
    expect(imported).toEqual(expect.arrayContaining(['ioredis']));
  });
});
