/**
 * No module a worker thread loads uses top-level `await`. V8 (Node 20 to 25) aborts the
 * whole process, `Check failed: (location_) != nullptr` in
 * `SourceTextModule::ExecuteAsyncModule`, when a thread is terminated just as a module
 * with top-level await starts to evaluate; the pool terminates threads that may still be
 * loading (a job cancelled or timed out past `cancelGraceMs`, `close()`).
 *
 * The graph is followed from every thread entry the library may terminate (every worker
 * module `*.worker.*` in the repository, the SQLite thread) through relative static imports, `import('…')` and
 * tsx's `tsImport('…')` with a literal path. Threads that only ever end themselves (the
 * bridge tests' and benchmark's host threads) are not checked.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));

/**
 * Every thread entry: each worker module (`*.worker.*`, found, not listed, so a new one is
 * checked too) and the SQLite thread. A fixture that fails to parse on purpose is skipped.
 */
function threadEntries(): string[] {
  const found: string[] = [join(root, 'src/store/thread.ts')];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.worker\.m?[jt]s$/.test(entry.name) && !entry.name.startsWith('broken-syntax.'))
        found.push(path);
    }
  };
  for (const dir of ['src', 'test', 'bench', 'examples']) walk(join(root, dir));
  return found;
}

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
    const queue = threadEntries();
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
    // The walk finds the shims and reaches the sources the threads run.
    const reached = [...seen].map((file) => relative(root, file));
    expect(reached).toContain('test/pool/fixtures/cpu.worker.mjs');
    expect(reached).toContain('examples/workers/checksum.worker.mjs');
    expect(reached).toContain('src/pool/worker-task.ts');
    expect(offenders).toEqual([]);
  });
});
