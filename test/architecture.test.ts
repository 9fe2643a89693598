/**
 * docs/architecture.md is kept true: its module map names every file under src/, and
 * names no file that is not there; it links to nothing outside the repository.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const doc = readFileSync(new URL('docs/architecture.md', root), 'utf8');

/** Paths under src/ as the map lists them: names nested under their folder lines, at any depth. */
function mappedFiles(): string[] {
  const map = doc.split('## Module map')[1]?.split('```')[1] ?? '';
  const files: string[] = [];
  let inSrc = false;
  /** The open folders, outermost first, each with the indent of its line. */
  const folders: { indent: number; name: string }[] = [];
  for (const line of map.split('\n')) {
    const match = /^( *)([\w.-]+\/?)(?:\s|$)/.exec(line);
    if (match === null) continue;
    const [, spaces = '', name = ''] = match;
    const indent = spaces.length;
    if (indent === 0) {
      inSrc = name === 'src/';
      folders.length = 0;
      continue;
    }
    if (!inSrc) continue;
    while (folders.length > 0 && (folders.at(-1)?.indent ?? 0) >= indent) folders.pop();
    if (name.endsWith('/')) folders.push({ indent, name });
    else if (name.endsWith('.ts')) files.push(folders.map((f) => f.name).join('') + name);
  }
  return files.sort();
}

describe('docs/architecture.md', () => {
  it('lists every file under src/ in its module map, and none that does not exist', () => {
    const actual = readdirSync(new URL('src/', root), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => file.split('\\').join('/'))
      .sort();
    expect(mappedFiles()).toEqual(actual);
  });

  it('links to nothing outside the repository', () => {
    const links = [...doc.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1] ?? '');
    expect(links.filter((link) => link.startsWith('..') || link.startsWith('/'))).toEqual([]);
    expect(doc).not.toMatch(/\.\.\/shared\//);
  });
});
