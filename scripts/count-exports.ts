/**
 * Counts the names a module exports, split into runtime values and type-only names, following
 * `export *`, `export * as ns` and `export { a as b } from` through the source tree.
 *
 *   node --import tsx scripts/count-exports.ts [src/index.ts ...]
 *
 * TypeScript 7 (the Go compiler this project builds with) has no JavaScript compiler API, so this
 * reads export statements with regular expressions; it is a measuring tool for the public surface,
 * cross-checked against `Object.keys(await import(entry)).length` for the runtime names.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

type Kind = 'value' | 'type';

const cache = new Map<string, Map<string, Kind>>();

function resolveSpecifier(from: string, spec: string): string {
  return resolve(dirname(from), spec.replace(/\.js$/, '.ts'));
}

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** Names declared at top level (exported or not), with their kind, for `export { x }` lookups. */
function localDeclarations(text: string): Map<string, Kind> {
  const out = new Map<string, Kind>();
  const decl =
    /^(?:export\s+)?(?:declare\s+)?(?:default\s+)?(async\s+function\*?|function\*?|const|let|var|class|abstract\s+class|enum|const\s+enum|interface|type)\s+([A-Za-z_$][\w$]*)/gm;
  for (const m of text.matchAll(decl)) out.set(m[2]!, m[1] === 'interface' || m[1] === 'type' ? 'type' : 'value');
  return out;
}

export function exportsOf(file: string): Map<string, Kind> {
  const cached = cache.get(file);
  if (cached) return cached;
  const names = new Map<string, Kind>();
  cache.set(file, names);
  const text = stripComments(readFileSync(file, 'utf8'));
  const locals = localDeclarations(text);
  for (const m of text.matchAll(
    /^export\s+(?:declare\s+)?(async\s+function\*?|function\*?|const|let|var|class|abstract\s+class|enum|const\s+enum|interface|type)\s+([A-Za-z_$][\w$]*)/gm,
  )) {
    names.set(m[2]!, m[1] === 'interface' || m[1] === 'type' ? 'type' : 'value');
  }
  for (const m of text.matchAll(/^export\s+\*\s+as\s+([A-Za-z_$][\w$]*)\s+from\s+['"]([^'"]+)['"]/gm)) names.set(m[1]!, 'value');
  for (const m of text.matchAll(/^export\s+\*\s+from\s+['"]([^'"]+)['"]/gm)) {
    for (const [name, kind] of exportsOf(resolveSpecifier(file, m[1]!))) if (name !== 'default' && !names.has(name)) names.set(name, kind);
  }
  for (const m of text.matchAll(/^export\s+(type\s+)?\{([^}]*)\}(?:\s+from\s+['"]([^'"]+)['"])?/gm)) {
    const allTypes = Boolean(m[1]);
    const source = m[3] ? exportsOf(resolveSpecifier(file, m[3])) : locals;
    for (const raw of m[2]!.split(',')) {
      const spec = raw.trim();
      if (!spec) continue;
      const typeOnly = allTypes || spec.startsWith('type ');
      const [orig, alias] = spec
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .map((s) => s.trim());
      const kind: Kind = typeOnly ? 'type' : (source.get(orig!) ?? 'value');
      names.set(alias ?? orig!, kind);
    }
  }
  return names;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const entries = process.argv.slice(2);
  for (const entry of entries.length ? entries : ['src/index.ts']) {
    const names = exportsOf(resolve(entry));
    const values = [...names.values()].filter((k) => k === 'value').length;
    console.log(`${entry}: ${names.size} names (${values} runtime values, ${names.size - values} type-only)`);
  }
}
