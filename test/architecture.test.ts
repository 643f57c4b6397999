import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from './helpers/paths.js';

/**
 * The dependency rules of docs/architecture.md, checked on every import in src/ (static and
 * dynamic). The folders say what a module is: the product (webhook, authenticator), the lab,
 * what they share, and the command line that wires them together.
 */
const SRC = join(ROOT, 'src');

function sources(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

interface Import {
  readonly from: string;
  /** The imported module, relative to src/ (`shared/log.ts`), or the package name (`node:fs`, `yaml`). */
  readonly to: string;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)) {
    const specifier = match[1]!;
    const to = specifier.startsWith('.') ? relative(SRC, resolve(dirname(file), specifier)).replace(/\.js$/, '.ts') : specifier;
    found.push({ from: relative(SRC, file), to });
  }
  return found;
}

const layer = (path: string): string => (path.includes('/') ? path.slice(0, path.indexOf('/')) : path);

describe('architecture: the dependency rules hold for every import in src/', () => {
  const imports = sources(SRC).flatMap(importsOf);
  const local = imports.filter((entry) => !entry.to.startsWith('node:') && entry.to.endsWith('.ts'));
  const violations = (rule: (entry: Import) => boolean): string[] => local.filter(rule).map((entry) => `${entry.from} → ${entry.to}`);

  it('finds the imports it checks', () => {
    assert.ok(local.length > 150, `only ${local.length} local imports found`);
    assert.ok(local.every((entry) => !entry.to.startsWith('..')), 'an import leaves src/');
  });

  // The image serves without the lab (test/e2e/image.e2e.ts deletes dist/src/lab): a static import
  // would make every command, serve included, fail to load.
  it('the command line loads the lab only when a lab command runs: dynamic or type-only imports', () => {
    const staticLabImports = sources(join(SRC, 'cli'))
      .concat(join(SRC, 'cli.ts'))
      .flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/^import\s+(?!type\s)[^;]*?from\s+['"]([^'"]+)['"]/gms)]
          .map((match) => relative(SRC, resolve(dirname(file), match[1]!)))
          .filter((to) => to.startsWith('lab/'))
          .map((to) => `${relative(SRC, file)} → ${to}`),
      );
    assert.deepEqual(staticLabImports, []);
  });

  it('only the command line (the composition root) imports the lab', () => {
    assert.deepEqual(violations((entry) => layer(entry.to) === 'lab' && !['lab', 'cli'].includes(layer(entry.from))), []);
  });

  it('shared code imports only shared code', () => {
    assert.deepEqual(violations((entry) => layer(entry.from) === 'shared' && layer(entry.to) !== 'shared'), []);
  });

  it('the webhook and the authenticator do not import each other, nor the command line', () => {
    assert.deepEqual(
      violations((entry) => {
        const [from, to] = [layer(entry.from), layer(entry.to)];
        return (from === 'webhook' && to === 'authenticator') || (from === 'authenticator' && to === 'webhook') || (from !== 'cli' && from !== 'cli.ts' && to === 'cli');
      }),
      [],
    );
  });

  it('diagnostics (explain, doctor) read the webhook and shared code, never the lab, the authenticator or the command line', () => {
    assert.deepEqual(violations((entry) => layer(entry.from) === 'diagnose' && !['diagnose', 'webhook', 'shared'].includes(layer(entry.to))), []);
  });

  it('src/ has no import cycle (type-only and dynamic imports included): every module can be read before the ones that use it', () => {
    const edges = new Map<string, string[]>();
    for (const entry of local) edges.set(entry.from, [...(edges.get(entry.from) ?? []), entry.to]);
    // Depth-first search with an explicit stack; a module met again while still on the path closes a cycle.
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    for (const start of edges.keys()) {
      if (state.has(start)) continue;
      const path: string[] = [start];
      const pending: string[][] = [[...(edges.get(start) ?? [])]];
      state.set(start, 'open');
      while (path.length > 0) {
        const next = pending.at(-1)!.pop();
        if (next === undefined) {
          state.set(path.pop()!, 'done');
          pending.pop();
        } else if (state.get(next) === 'open') {
          cycles.push([...path.slice(path.indexOf(next)), next].join(' → '));
        } else if (!state.has(next)) {
          state.set(next, 'open');
          path.push(next);
          pending.push([...(edges.get(next) ?? [])]);
        }
      }
    }
    assert.deepEqual(cycles, []);
  });

  it('the mutation engine is pure: only the engine, AWS primitives and text helpers, no I/O module', () => {
    const engine = imports.filter((entry) => entry.from.startsWith('webhook/engine/'));
    const allowed = (to: string): boolean => to.startsWith('webhook/engine/') || to === 'shared/aws/arn.ts' || to === 'shared/text.ts' || to === 'node:path';
    assert.deepEqual(engine.filter((entry) => !allowed(entry.to)).map((entry) => `${entry.from} → ${entry.to}`), []);
  });
});
