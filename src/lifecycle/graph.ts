import { LifecycleError } from '../errors.js';

/**
 * Orders components so every one comes after what it depends on, in levels: the
 * components of one level depend only on earlier levels, so a level can be stopped in
 * parallel. Insertion order is kept within a level, so the order is deterministic.
 * @throws LifecycleError naming an unknown dependency or the whole cycle.
 */
export function dependencyLevels(deps: ReadonlyMap<string, readonly string[]>): string[][] {
  for (const [name, list] of deps) {
    for (const dep of list) {
      if (!deps.has(dep)) {
        throw new LifecycleError(`"${name}" depends on "${dep}", which was never added`);
      }
    }
  }
  const levelOf = new Map<string, number>();
  const visiting: string[] = [];
  const visit = (name: string): number => {
    const known = levelOf.get(name);
    if (known !== undefined) return known;
    const at = visiting.indexOf(name);
    if (at >= 0) {
      const cycle = [...visiting.slice(at), name];
      throw new LifecycleError(`Dependency cycle: ${cycle.join(' -> ')}`);
    }
    visiting.push(name);
    let level = 0;
    for (const dep of deps.get(name) ?? []) level = Math.max(level, visit(dep) + 1);
    visiting.pop();
    levelOf.set(name, level);
    return level;
  };
  const levels: string[][] = [];
  for (const name of deps.keys()) {
    const level = visit(name);
    (levels[level] ??= []).push(name);
  }
  return levels.map((level) => level ?? []);
}
