// The layers of src/ (README "Layout"): a module imports its own layer or one below, never one
// above; the UI and the CLI never import each other; only the UI speaks to VS Code and only the
// transport to ssh2; and no modules import each other in a circle (types count too).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const SRC = path.join(__dirname, '..', '..', 'src');

/** Top to bottom; a layer may import those after it. `ui` and `cli` are both on top. */
const LAYERS = [['ui', 'cli'], ['automatic'], ['migration'], ['checkpoint'], ['helper'], ['transport'], ['common']];
/** Packages only one layer may import. */
const OWN_PACKAGE: Record<string, string> = { vscode: 'ui', ssh2: 'transport' };

/** src/extension.ts is the UI's entry point. */
function layerOf(file: string): string {
  const rel = path.relative(SRC, file);
  return rel === 'extension.ts' ? 'ui' : rel.split(path.sep)[0];
}

function rank(layer: string): number {
  const n = LAYERS.findIndex((l) => l.includes(layer));
  assert.ok(n >= 0, `src/${layer} is in no layer of test/unit/layers.test.ts (and the README's Layout)`);
  return n;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** Every import, `import type` and `export … from` of a module, as written. */
function specifiers(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

function resolve(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (files.includes(candidate)) return candidate;
  return undefined;
}

const files = sources(SRC);
const rel = (f: string) => path.relative(SRC, f);

/** The violations of the rules in `graph` (module → its imports), one line each. */
export function violations(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [file, specs] of graph) {
    const layer = layerOf(file);
    for (const spec of specs) {
      const owner = OWN_PACKAGE[spec.split('/')[0]];
      if (owner && owner !== layer) out.push(`src/${rel(file)} imports ${spec}, which only src/${owner} may`);
      const target = resolve(file, spec);
      if (!target) continue;
      const to = layerOf(target);
      if (to === layer) continue;
      if (rank(to) <= rank(layer)) out.push(`src/${rel(file)} (${layer}) imports src/${rel(target)} (${to}): imports only go down`);
    }
  }
  return out;
}

/** Import circles among the modules, each as `a → b → a`. */
export function cycles(graph: Map<string, string[]>): string[] {
  const edges = new Map([...graph].map(([f, specs]) => [f, specs.map((s) => resolve(f, s)).filter((t): t is string => !!t)]));
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of edges.get(f) ?? []) {
      if (state.get(t) === 'open') found.push([...stack.slice(stack.indexOf(t)), t].map(rel).join(' → '));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of edges.keys()) if (!state.has(f)) visit(f);
  return found;
}

const graph = new Map(files.map((f) => [f, specifiers(f)]));

describe('layers', () => {
  it('imports only go down, vscode only in the UI, ssh2 only in the transport', () => {
    assert.deepEqual(violations(graph), []);
  });

  it('no modules import each other in a circle', () => {
    assert.deepEqual(cycles(graph), []);
  });

  it('catches a violation', () => {
    const helper = path.join(SRC, 'helper', 'hostHelper.ts');
    const ui = path.join(SRC, 'ui', 'x.ts');
    const fake = new Map([
      [helper, ['../migration/api']],
      [ui, ['ssh2']],
    ]);
    assert.deepEqual(violations(fake), [
      'src/helper/hostHelper.ts (helper) imports src/migration/api.ts (migration): imports only go down',
      'src/ui/x.ts imports ssh2, which only src/transport may',
    ]);
    const migrate = path.join(SRC, 'ui', 'migrate', 'migrate.ts');
    const batch = path.join(SRC, 'ui', 'migrate', 'batchMigration.ts');
    assert.deepEqual(cycles(new Map([[migrate, ['./batchMigration']], [batch, ['./migrate']]])), [
      'ui/migrate/migrate.ts → ui/migrate/batchMigration.ts → ui/migrate/migrate.ts',
    ]);
  });
});
