/**
 * No module a worker thread loads uses top-level `await`. V8 (Node 20 to 25) aborts the
 * whole process, `Check failed: (location_) != nullptr` in
 * `SourceTextModule::ExecuteAsyncModule`, when a thread is terminated just as a module
 * with top-level await starts to evaluate; the pool terminates threads that may still be
 * loading (a job cancelled or timed out past `cancelGraceMs`, `close()`).
 *
 * The graph is followed from every thread entry the library may terminate (worker modules
 * `*.worker.*`, the SQLite thread) through relative static imports, `import('…')` and
 * tsx's `tsImport('…')` with a literal path. Threads that only ever end themselves (the
 * bridge tests' and benchmark's host threads) are not checked.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));

const entries = [
  'bench/intake.worker.mjs',
  'examples/workers/checksum.worker.mjs',
  'src/feed/intake/intake.worker.ts',
  'src/store/thread.ts',
  'test/feed/fetch/fixtures/intake.worker.mjs',
  'test/feed/intake/fixtures/intake.worker.mjs',
  'test/pool/fixtures/cpu.worker.mjs',
  'test/pool/fixtures/faulty.worker.mjs',
  'test/pool/fixtures/no-default.worker.mjs',
  'test/pool/fixtures/throws-at-import.worker.mjs',
  'test/pool/fixtures/unwrapped.worker.mjs',
];

/** The file a relative specifier names, as tsx resolves it (`.js` may mean `.ts`). */
function resolveFrom(file: string, specifier: string): string | undefined {
  const target = join(dirname(file), specifier);
  const candidates = [target, target.replace(/\.js$/, '.ts'), target.replace(/\.mjs$/, '.mts')];
  return candidates.find((candidate) => existsSync(candidate));
}

/** The module's relative imports, and whether it awaits outside any function. */
function scan(file: string): { imports: string[]; topLevelAwait: boolean } {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const imports: string[] = [];
  let topLevelAwait = false;
  const visit = (node: ts.Node, inFunction: boolean): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      imports.push(node.moduleSpecifier.text);
    }
    if (ts.isCallExpression(node)) {
      const [first] = node.arguments;
      const callee = node.expression;
      const loads =
        callee.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(callee) && callee.text === 'tsImport');
      if (loads && first !== undefined && ts.isStringLiteralLike(first)) imports.push(first.text);
    }
    if (!inFunction && ts.isAwaitExpression(node)) topLevelAwait = true;
    if (!inFunction && ts.isForOfStatement(node) && node.awaitModifier !== undefined) {
      topLevelAwait = true;
    }
    const nested = inFunction || ts.isFunctionLike(node) || ts.isClassStaticBlockDeclaration(node);
    ts.forEachChild(node, (child) => visit(child, nested));
  };
  visit(source, false);
  return { imports: imports.filter((specifier) => specifier.startsWith('.')), topLevelAwait };
}

describe('modules loaded in worker threads', () => {
  it('use no top-level await, from each worker entry through everything it imports', () => {
    const seen = new Set<string>();
    const offenders: string[] = [];
    const queue = entries.map((entry) => join(root, entry));
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      if (seen.has(file)) continue;
      seen.add(file);
      const { imports, topLevelAwait } = scan(file);
      if (topLevelAwait) offenders.push(relative(root, file));
      for (const specifier of imports) {
        const target = resolveFrom(file, specifier);
        if (target !== undefined) queue.push(target);
      }
    }
    // The walk reaches the sources the threads run, not just the shims.
    expect([...seen].map((file) => relative(root, file))).toContain('src/pool/worker-task.ts');
    expect(offenders).toEqual([]);
  });
});
