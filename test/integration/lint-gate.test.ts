// `npm run lint` is a gate that can fail: the import-boundary table in
// eslint.config.js reports every forbidden edge (static and literal dynamic
// imports), leaves the intended data flow alone, and prettier's --check reports
// unformatted code. Everything is linted in memory through the ESLint and
// prettier Node APIs; nothing is written into the source tree.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';
import * as prettier from 'prettier';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const BOUNDARY_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

interface Row {
  scope: string;
  forbid: string[];
  why: string;
}
const { BOUNDARIES } = (await import(pathToFileURL(posix.join(root, 'eslint.config.js')).href)) as { BOUNDARIES: Row[] };

// The project's own config with only the boundary rules, and without the type-aware parser setup: type information
// needs files that exist, and the boundary rules need none (the full run is `npm run lint:eslint`).
const eslint = new ESLint({
  cwd: root,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => BOUNDARY_RULES.has(ruleId),
});

async function boundaryMessages(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  assert.ok(result, filePath);
  const fatal = result.messages.find((m) => m.fatal);
  assert.equal(fatal, undefined, `${filePath}: ${fatal?.message}`);
  return result.messages.filter((m) => m.ruleId !== null && BOUNDARY_RULES.has(m.ruleId)).map((m) => m.message);
}

/** A file inside `scope` (a `gateway/src/*` scope picks one real component folder). */
const probeFile = (scope: string): string => (scope.endsWith('/*') ? `${scope.slice(0, -1)}admin` : scope) + '/lint-probe.ts';

/** The import specifier that reaches `name` (a folder at the repo root, under gateway/src, an entry file, or the package). */
function specifierFor(from: string, name: string): string {
  if (name === 'gw-agent') return 'gw-agent/sdk';
  if (name.endsWith('.js')) {
    assert.ok(existsSync(posix.join(root, 'gateway/src', name.replace(/\.js$/, '.ts'))), `no entry point ${name}`);
    return posix.relative(posix.dirname(from), `gateway/src/${name}`);
  }
  const dir = existsSync(posix.join(root, name)) ? name : `gateway/src/${name}`;
  assert.ok(existsSync(posix.join(root, dir)), `no folder for ${name}`);
  return posix.relative(posix.dirname(from), `${dir}/lint-probe.js`);
}

test('the boundary table covers the edges the design forbids', () => {
  const forbids = (scope: string, name: string) => BOUNDARIES.some((r) => r.scope === scope && r.forbid.includes(name));
  for (const [scope, names] of Object.entries({
    'sdk/src': ['gateway/src', 'test', 'bench'],
    'agent/src': ['gateway/src', 'test', 'bench'],
    'gateway/src': ['sdk', 'agent', 'test', 'bench'],
    'gateway/src/health': ['proxy'],
    'gateway/src/store': ['admin', 'proxy', 'runtime', 'router', 'balancer', 'health'],
    'gateway/src/entities': ['admin', 'proxy', 'runtime', 'store'],
    'gateway/src/router': ['admin', 'proxy'],
    'gateway/src/balancer': ['admin', 'proxy'],
  })) {
    for (const name of names) assert.ok(forbids(scope, name), `${scope} must forbid ${name}`);
  }
});

test('every forbidden edge in the table is reported, as a static import, a re-export and a literal import()', async () => {
  let checked = 0;
  for (const row of BOUNDARIES) {
    const file = probeFile(row.scope);
    for (const name of row.forbid) {
      const spec = specifierFor(file, name);
      for (const code of [
        `import { x } from '${spec}';\nexport const y = x;\n`,
        `export { x } from '${spec}';\n`,
        `export const load = () => import('${spec}');\n`,
      ]) {
        const messages = await boundaryMessages(file, code);
        const expected = `must not import ${name}: `;
        assert.ok(
          messages.some((m) => m.includes(expected)),
          `${file}: ${code.trim()} → ${JSON.stringify(messages)}`,
        );
        checked++;
      }
    }
  }
  assert.ok(checked >= 90, `only ${checked} edges checked`);
});

test('a deeper file is held to its folder and to every enclosing scope', async () => {
  const file = 'gateway/src/store/nested/lint-probe.ts';
  for (const [spec, name] of [
    ['../../proxy/server.js', 'proxy'],
    ['../../runtime', 'runtime'],
    ['../../gateway.js', 'gateway.js'],
    ['../../../../sdk/src/index.js', 'sdk'],
    ['../../../../test/helpers/gateway.js', 'test'],
  ] as const) {
    const messages = await boundaryMessages(file, `import { x } from '${spec}';\nexport const y = x;\n`);
    assert.equal(messages.length, 1, `${spec}: ${JSON.stringify(messages)}`);
    assert.ok(messages[0]!.includes(`must not import ${name}: `), messages[0]);
  }
});

test('the intended data flow is not reported', async () => {
  const allowed: [string, string][] = [
    ['agent/src/commands/lint-probe.ts', '../../../sdk/src/register.js'], // agent → sdk
    ['gateway/src/admin/lint-probe.ts', '../store/store.js'], // admin → store
    ['gateway/src/admin/lint-probe.ts', '../entities/index.js'],
    ['gateway/src/store/lint-probe.ts', '../entities/types.js'], // store → entities
    ['gateway/src/store/lint-probe.ts', '../errors.js'],
    ['gateway/src/runtime/lint-probe.ts', '../store/store.js'], // store → runtime snapshot
    ['gateway/src/runtime/lint-probe.ts', '../balancer/registry.js'],
    ['gateway/src/proxy/lint-probe.ts', '../runtime/runtime.js'], // runtime → proxy
    ['gateway/src/proxy/lint-probe.ts', '../health/outcomes.js'], // proxy reports outcomes to health
    ['gateway/src/health/lint-probe.ts', '../balancer/balancer.js'], // health → target record → balancer
    ['gateway/src/gateway.ts', './admin/server.js'], // the entry point wires everything
    ['gateway/src/gateway.ts', './proxy/server.js'],
    ['sdk/src/lint-probe.ts', './cloud-map.js'],
    ['test/integration/lint-probe.ts', '../../gateway/src/proxy/server.js'], // tests may import anything
    ['bench/proxy/lint-probe.ts', '../../gateway/src/gateway.js'],
  ];
  for (const [file, spec] of allowed) {
    const code = `import { x } from '${spec}';\nexport const y = x;\nexport const load = () => import('${spec}');\n`;
    assert.deepEqual(await boundaryMessages(file, code), [], `${file} → ${spec}`);
  }
  // package imports whose names merely contain a forbidden word
  const packages =
    "import { Agent } from 'undici';\nimport { test } from 'node:test';\nimport * as sd from '@aws-sdk/client-servicediscovery';\nexport const z = [Agent, test, sd];\n";
  assert.deepEqual(await boundaryMessages('gateway/src/proxy/lint-probe.ts', packages), []);
});

test('prettier uses the project config, reports unformatted code and leaves Markdown and generated files alone', async () => {
  const filepath = posix.join(root, 'gateway/src/lint-probe.ts');
  const options = await prettier.resolveConfig(filepath, { editorconfig: false });
  assert.ok(options, 'no prettier config found');
  assert.equal(options.printWidth, 140);
  assert.equal(options.singleQuote, true);
  assert.equal(options.trailingComma, 'all');

  const bad = 'const a = {\n  b:1,\n  c : "two"}\nexport   function f( x:number ){return x+a.b}\n';
  assert.equal(await prettier.check(bad, { ...options, filepath }), false, 'badly formatted code passes the check');
  const good = await prettier.format(bad, { ...options, filepath });
  assert.equal(await prettier.check(good, { ...options, filepath }), true);
  assert.match(good, /c: 'two',\n/, 'single quotes and trailing commas');
  const long = `export const s = [${Array.from({ length: 30 }, (_, i) => `'item${i}'`).join(', ')}];\n`;
  assert.equal(await prettier.check(long, { ...options, filepath }), false, 'a line over 140 characters passes');

  const ignorePath = [posix.join(root, '.gitignore'), posix.join(root, '.prettierignore')];
  for (const f of ['docs/configuration.md', 'README.md', 'package-lock.json', 'dist/gateway/src/cli.js', 'node_modules/x/index.js']) {
    assert.equal((await prettier.getFileInfo(posix.join(root, f), { ignorePath })).ignored, true, `${f} should be ignored`);
  }
  for (const f of ['gateway/src/gateway.ts', 'eslint.config.js', 'package.json']) {
    assert.equal((await prettier.getFileInfo(posix.join(root, f), { ignorePath })).ignored, false, `${f} should be checked`);
  }
});

test('npm run lint runs the type check, eslint and the format check', () => {
  const scripts = (JSON.parse(readFileSync(posix.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.equal(scripts['lint:types'], 'tsc -p tsconfig.json --noEmit');
  assert.match(scripts['lint:eslint'] ?? '', /^eslint --max-warnings 0 \.$/);
  assert.equal(scripts['lint:format'], 'prettier --check .');
  assert.equal(scripts.format, 'prettier --write .');
  for (const part of ['lint:types', 'lint:eslint', 'lint:format'])
    assert.ok(scripts.lint?.includes(`npm run ${part}`), `lint lacks ${part}`);
  assert.match(readFileSync(posix.join(root, '.ci/run'), 'utf8'), /^(bounded )?npm run lint$/m, '.ci/run does not run the lint gate');
});
