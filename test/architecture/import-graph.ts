/**
 * The import graph of lib/ and the layer rules of docs/architecture.md (The layers), as code the layers test runs.
 *
 * Every edge counts: `import`, `import type`, `export ... from`, `import x = require()`, `require()`,
 * dynamic `import()` and type-position `import('x').T`. Type-only edges count as much as runtime ones
 * because a type import is still a dependency of the module's meaning; they are only marked so a rule
 * can allow "types only" explicitly (targets may name probe types).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

export interface ImportEdge {
  /** Importing file, relative to the lib root, with '/' separators (e.g. 'cli/program.ts'). */
  from: string;
  /** Imported file, same form. */
  to: string;
  typeOnly: boolean;
  line: number;
}

/**
 * Layers, top (index 0) to bottom, as in docs/architecture.md (The layers). A module may import its own layer or
 * any layer below it, never one above. Modules are lib/<folder>/ or a top-level lib/<name>.ts.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['cli'],
  ['station', 'records', 'registry'],
  ['provision', 'image', 'attest'],
  ['device', 'keys'],
  ['targets'],
  ['probe', 'sim'],
  // Leaf helpers every layer may use; they import nothing else in lib/.
  ['errors', 'random', 'bytes', 'exit-codes', 'crypto', 'files'],
];

/** Entry points: they assemble the public API and may import anything (nothing imports them). */
export const ENTRY_POINTS: readonly string[] = ['index', 'testing'];

export interface LayerRule {
  from: string;
  to: string;
  /** 'allow': an edge the layer order would forbid but the design wants; 'forbid': an edge the
   *  layer order would allow but the design rules out; 'typesOnly': allowed only as `import type`. */
  kind: 'allow' | 'forbid' | 'typesOnly';
  why: string;
}

export const RULES: readonly LayerRule[] = [
  {
    from: 'attest',
    to: 'records',
    kind: 'allow',
    why: 'the attestation verifier looks devices up in the provisioning records (their read API and record types), which sit a layer above it',
  },
  {
    from: 'sim',
    to: 'targets',
    kind: 'allow',
    why: 'the simulator takes its facts and names from lib/targets (issue 11) while staying beside the probe contract it implements',
  },
  { from: 'targets', to: 'sim', kind: 'forbid', why: 'per-chip data must not depend on the simulator that checks it' },
  { from: 'targets', to: 'probe', kind: 'typesOnly', why: 'targets name probe types (DeviceFamily) but run no probe code' },
  { from: 'image', to: 'provision', kind: 'forbid', why: 'image/ is the mechanics; provision/ owns the run and its strategies and imports image/, not the reverse' },
  {
    from: 'image',
    to: 'sim',
    kind: 'forbid',
    why: 'the simulator is an independent check of the library, so library code takes no facts from it (they live in lib/targets)',
  },
  { from: 'probe', to: 'sim', kind: 'forbid', why: 'the probe contract does not know its simulated implementation' },
  { from: 'sim', to: 'probe', kind: 'typesOnly', why: 'the simulator implements the probe contract (types) without running the native probe' },
  { from: 'device', to: 'keys', kind: 'forbid', why: 'device/ is memory semantics; key material builds on it, not the reverse' },
];

export function moduleOf(file: string): string {
  const parts = file.split('/');
  return parts.length === 1 ? parts[0]!.replace(/\.ts$/, '') : parts[0]!;
}

export function layerOf(module: string): number | undefined {
  const index = LAYERS.findIndex((layer) => layer.includes(module));
  return index < 0 ? undefined : index;
}

function listTs(dir: string, root: string, out: string[]): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) listTs(full, root, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path.relative(root, full).split(path.sep).join('/'));
  }
}

/** Resolves a relative specifier the way Node + TypeScript (node10) do for our sources. */
function resolve(root: string, fromFile: string, specifier: string): string | undefined {
  const base = path.resolve(root, path.dirname(fromFile), specifier);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts'), base.replace(/\.js$/, '.ts')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return path.relative(root, candidate).split(path.sep).join('/');
  }
  return undefined;
}

interface RawImport {
  specifier: string;
  typeOnly: boolean;
  line: number;
}

/** Every module specifier one source file names, with whether the edge is type-only. */
export function importsOf(fileName: string, text: string): RawImport[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: RawImport[] = [];
  const add = (node: ts.Node, specifier: ts.Expression | undefined, typeOnly: boolean): void => {
    if (specifier === undefined || !ts.isStringLiteralLike(specifier)) return;
    found.push({ specifier: specifier.text, typeOnly, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      // `import { type A, type B } from` is type-only too when every named element is.
      const named = clause?.namedBindings !== undefined && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const allTypeElements = clause !== undefined && clause.name === undefined && named !== undefined && named.length > 0 && named.every((e) => e.isTypeOnly);
      add(node, node.moduleSpecifier, clause?.isTypeOnly === true || allTypeElements);
    } else if (ts.isExportDeclaration(node)) {
      const named = node.exportClause !== undefined && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
      add(node, node.moduleSpecifier, node.isTypeOnly || (named !== undefined && named.length > 0 && named.every((e) => e.isTypeOnly)));
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal as ts.Expression, true);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      if ((isRequire || isDynamicImport) && node.arguments.length >= 1) add(node, node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** All edges between files under `root` (relative specifiers only; packages and node: are outside). */
export function importGraph(root: string): { files: string[]; edges: ImportEdge[]; unresolved: string[] } {
  const files: string[] = [];
  listTs(root, root, files);
  files.sort();
  const edges: ImportEdge[] = [];
  const unresolved: string[] = [];
  for (const file of files) {
    for (const raw of importsOf(file, fs.readFileSync(path.join(root, file), 'utf8'))) {
      if (!raw.specifier.startsWith('.')) continue;
      const to = resolve(root, file, raw.specifier);
      if (to === undefined) unresolved.push(`${file}:${raw.line} '${raw.specifier}'`);
      else if (!to.startsWith('..')) edges.push({ from: file, to, typeOnly: raw.typeOnly, line: raw.line });
    }
  }
  return { files, edges, unresolved };
}

/**
 * Every import circle among files, each once, as the list of files in order (Tarjan's strongly
 * connected components; a component of more than one file, or a file importing itself, is a circle).
 */
export function findCycles(edges: readonly Pick<ImportEdge, 'from' | 'to'>[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (!next.has(e.from)) next.set(e.from, []);
    if (!next.has(e.to)) next.set(e.to, []);
    next.get(e.from)!.push(e.to);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const strongConnect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next.get(v)!.includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) strongConnect(v);
  return cycles;
}

/** Each edge that breaks the layer order or a rule, in words (empty when the graph keeps the layers). */
export function layerViolations(edges: readonly ImportEdge[], layers = LAYERS, rules = RULES, entryPoints = ENTRY_POINTS): string[] {
  const rankOf = (module: string): number | undefined => {
    const index = layers.findIndex((layer) => layer.includes(module));
    return index < 0 ? undefined : index;
  };
  const problems: string[] = [];
  for (const e of edges) {
    const from = moduleOf(e.from);
    const to = moduleOf(e.to);
    const where = `${e.from}:${e.line} -> ${e.to}${e.typeOnly ? ' (type)' : ''}`;
    if (entryPoints.includes(to)) {
      problems.push(`${where}: ${to}.ts is an entry point; nothing in lib/ imports it`);
      continue;
    }
    if (entryPoints.includes(from) || from === to) continue;
    const fromRank = rankOf(from);
    const toRank = rankOf(to);
    if (fromRank === undefined || toRank === undefined) {
      problems.push(`${where}: module '${fromRank === undefined ? from : to}' has no layer; add it to LAYERS (and docs/architecture.md (The layers))`);
      continue;
    }
    const rule = rules.find((r) => r.from === from && r.to === to);
    if (rule?.kind === 'forbid') problems.push(`${where}: ${from} must not import ${to} (${rule.why})`);
    else if (rule?.kind === 'typesOnly' && !e.typeOnly) problems.push(`${where}: ${from} may import only types from ${to} (${rule.why})`);
    else if (rule?.kind === 'allow') continue;
    else if (toRank < fromRank) problems.push(`${where}: ${from} (layer ${fromRank}) imports ${to} from a higher layer (${toRank})`);
  }
  return problems;
}
