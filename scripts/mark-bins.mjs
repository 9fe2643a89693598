/**
 * `npm run build`'s last step: every `bin` of package.json made executable. tsc writes
 * new files without the execute bit, and in the checkout nothing else sets it (npm
 * sets it only for a package it installs): `npx workbus-feeds` in a fresh clone would
 * be refused by the shell.
 */
import { chmod, readFile, stat } from 'node:fs/promises';
import { URL } from 'node:url';

const root = new URL('../', import.meta.url);
const { bin = {} } = JSON.parse(await readFile(new URL('package.json', root), 'utf8'));
for (const path of typeof bin === 'string' ? [bin] : Object.values(bin)) {
  const file = new URL(path, root);
  // Adds execute wherever read is allowed, as npm does for an installed package's bins.
  const { mode } = await stat(file);
  await chmod(file, mode | ((mode & 0o444) >> 2));
}
