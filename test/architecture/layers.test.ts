/**
 * The layers of docs/architecture.md, enforced: no import circle in lib/ (type-only imports included) and no import
 * from a lower layer to a higher one. The layers and the few explicit rules are in import-graph.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type ImportEdge, ENTRY_POINTS, LAYERS, RULES, findCycles, importGraph, importsOf, layerOf, layerViolations, moduleOf } from './import-graph';

const lib = path.resolve(__dirname, '../../lib');

/**
 * Known edges other helpers of issue 11 remove; each names who. The lead empties this list: the
 * test fails on any edge not listed here, and also on a listed edge that is gone (so the list
 * cannot outlive the edges it excuses).
 */
const KNOWN_UNTIL_LANDED: readonly { from: string; to: string; who: string }[] = [
];

const graph = importGraph(lib);
const known = (from: string, to: string): boolean => KNOWN_UNTIL_LANDED.some((k) => k.from === from && k.to === to);

describe('lib/ keeps the layers of docs/architecture.md', () => {
  test('every relative import in lib/ resolves to a file (so no edge is silently skipped)', () => {
    expect(graph.unresolved).toEqual([]);
    expect(graph.files.length).toBeGreaterThan(50);
    expect(graph.edges.length).toBeGreaterThan(200);
  });

  test('every module of lib/ has a layer or is an entry point', () => {
    const modules = [...new Set(graph.files.map(moduleOf))].sort();
    const homeless = modules.filter((m) => layerOf(m) === undefined && !ENTRY_POINTS.includes(m));
    expect(homeless).toEqual([]);
  });

  test('no import circle, type-only imports included', () => {
    const edges = graph.edges.filter((e) => !known(e.from, e.to));
    expect(findCycles(edges)).toEqual([]);
  });

  test('no import from a lower layer to a higher one, and no edge a rule forbids', () => {
    const edges = graph.edges.filter((e) => !known(e.from, e.to));
    expect(layerViolations(edges)).toEqual([]);
  });

  test('every allow-listed edge still exists (remove it from the list once it is gone)', () => {
    const stale = KNOWN_UNTIL_LANDED.filter((k) => !graph.edges.some((e) => e.from === k.from && e.to === k.to));
    expect(stale).toEqual([]);
  });

  test('the layers in docs/architecture.md match the tree: they name every folder and file of lib/, and only those', () => {
    const readme = fs.readFileSync(path.resolve(__dirname, '../../docs/architecture.md'), 'utf8');
    const start = readme.indexOf('## The layers');
    const layout = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const entries = fs.readdirSync(lib, { withFileTypes: true }).map((e) => (e.isDirectory() ? `lib/${e.name}/` : `lib/${e.name}`));
    expect(entries.filter((name) => !layout.includes(name))).toEqual([]);
    const named = [...layout.matchAll(/lib\/[\w.-]+\/?/g)].map((m) => m[0]);
    expect(named.filter((name) => !fs.existsSync(path.resolve(lib, '..', name)))).toEqual([]);
    // Each layer's modules that exist are in the Layout too (the order is the test's LAYERS).
    for (const module of LAYERS.flat()) {
      if (fs.existsSync(path.join(lib, module))) expect(layout).toContain(`lib/${module}/`);
    }
  });
});

describe('the checker sees what it must (controls)', () => {
  const edge = (from: string, to: string, typeOnly = false): ImportEdge => ({ from, to, typeOnly, line: 1 });

  test('a planted circle of three files is found, and one through a type-only import too', () => {
    expect(findCycles([edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts'), edge('c.ts', 'a.ts'), edge('c.ts', 'd.ts')])).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(findCycles([edge('cli/io.ts', 'cli/program.ts', true), edge('cli/program.ts', 'cli/io.ts')])).toEqual([['cli/io.ts', 'cli/program.ts']]);
    expect(findCycles([edge('x.ts', 'x.ts')])).toEqual([['x.ts']]);
    expect(findCycles([edge('a.ts', 'b.ts'), edge('a.ts', 'c.ts'), edge('b.ts', 'c.ts')])).toEqual([]);
  });

  test('a planted upward import is reported, also when it is type-only; a downward one is not', () => {
    expect(layerViolations([edge('station/station.ts', 'cli/io.ts', true)])).toHaveLength(1);
    expect(layerViolations([edge('targets/nrf91.ts', 'device/ficr.ts')])[0]).toMatch(/targets \(layer \d\) imports device from a higher layer/);
    expect(layerViolations([edge('cli/program.ts', 'station/index.ts'), edge('device/recover.ts', 'targets/index.ts'), edge('sim/device.ts', 'errors.ts')])).toEqual([]);
  });

  test('the explicit rules: image -> provision, targets -> sim and probe runtime code are refused', () => {
    expect(layerViolations([edge('image/run.ts', 'provision/types.ts', true)])[0]).toMatch(/image must not import provision/);
    expect(layerViolations([edge('targets/types.ts', 'sim/device.ts', true)])[0]).toMatch(/targets must not import sim/);
    expect(layerViolations([edge('targets/types.ts', 'probe/native.ts')])[0]).toMatch(/targets may import only types from probe/);
    expect(layerViolations([edge('targets/types.ts', 'probe/types.ts', true)])).toEqual([]);
    expect(layerViolations([edge('sim/binding.ts', 'image/run.ts', true)])[0]).toMatch(/sim \(layer \d\) imports image from a higher layer/);
    expect(layerViolations([edge('sim/device.ts', 'targets/index.ts')])).toEqual([]);
  });

  test('entry points may import anything; nothing in lib/ may import an entry point', () => {
    expect(layerViolations([edge('index.ts', 'cli/program.ts'), edge('testing.ts', 'sim/index.ts')])).toEqual([]);
    expect(layerViolations([edge('provision/provision.ts', 'index.ts')])[0]).toMatch(/entry point/);
  });

  test('a module outside every layer is reported instead of passing unchecked', () => {
    expect(layerViolations([edge('gadgets/x.ts', 'errors.ts')])[0]).toMatch(/module 'gadgets' has no layer/);
  });

  test('the parser sees every import form: import type, export from, require, dynamic and type-position import()', () => {
    const text = [
      "import { a } from './plain';",
      "import type { B } from './types-only';",
      "import { type C, type D } from './all-type-elements';",
      "import { type E, f } from './mixed';",
      "export { g } from './reexport';",
      "export type { H } from './reexport-type';",
      "export * from './star';",
      "import fs = require('./import-equals');",
      "const lazy = require('./lazy');",
      "async function later() { return import('./dynamic'); }",
      "let t: import('./type-position').T;",
      "import 'side-effect-package';",
    ].join('\n');
    const found = importsOf('probe.ts', text).map((i) => `${i.specifier}${i.typeOnly ? ':type' : ''}`);
    expect(found.sort()).toEqual(
      [
        './plain',
        './types-only:type',
        './all-type-elements:type',
        './mixed',
        './reexport',
        './reexport-type:type',
        './star',
        './import-equals',
        './lazy',
        './dynamic',
        './type-position:type',
        'side-effect-package',
      ].sort(),
    );
  });

  test('a planted circle and upward import in files on disk fail the same checks the real tree passes', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-layers-'));
    try {
      const write = (file: string, text: string): void => {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), text);
      };
      write('cli/program.ts', "import { commands } from './commands';\nexport const program = commands;\n");
      write('cli/commands/index.ts', "import type { program } from '../program';\nexport const commands = 1;\n");
      write('station/station.ts', "const lock = require('../cli/program');\nexport default lock;\n");
      write('errors.ts', 'export const E = 1;\n');
      const planted = importGraph(root);
      expect(planted.unresolved).toEqual([]);
      expect(findCycles(planted.edges)).toEqual([['cli/commands/index.ts', 'cli/program.ts']]);
      expect(layerViolations(planted.edges)).toEqual([expect.stringMatching(/^station\/station\.ts:1 -> cli\/program\.ts: station \(layer 1\) imports cli/)]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('each rule names modules that have a layer and says why', () => {
    for (const rule of RULES) {
      expect(layerOf(rule.from)).toBeDefined();
      expect(layerOf(rule.to)).toBeDefined();
      expect(rule.why.length).toBeGreaterThan(20);
    }
  });
});
