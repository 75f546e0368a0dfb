// ESLint flat config (ESLint 9). `npm run lint:eslint` runs it; `npm run lint` runs it with tsc and prettier.
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettierConfig from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const TS_FILES = ['{contract,gateway,sdk,agent,test,bench,examples}/**/*.ts'];

// Import boundaries: the data flow is the tree (shared/STYLE.md §3, DESIGN.md).
//   registration (sdk, agent) → admin → store → runtime snapshot → proxy;  health → target record → balancer.
//   contract/ (tags, names, the CLIs' last resort) is below both sides: the SDK, the agent and the gateway import it, it imports none of them.
// Each row forbids, for every .ts file under `scope`, relative or package imports whose path goes through one of
// `forbid` (a folder name, matched anywhere in the import path, e.g. '../proxy/server.js' or '../../proxy').
// A file gets the rows of its scope and of every enclosing scope. The patterns match import strings, not resolved
// paths, so a folder name here must not be reused for an unrelated folder inside the scope.
const BOUNDARIES = [
  {
    scope: 'contract/src',
    forbid: ['gateway/src', 'sdk', 'agent', 'gw-agent'],
    why: 'the contract between registration and gateway (tags, names) sits below both and imports neither',
  },
  { scope: 'sdk/src', forbid: ['gateway/src'], why: 'the SDK talks to the gateway over the Admin API only' },
  { scope: 'agent/src', forbid: ['gateway/src'], why: 'the agent talks to the gateway over the Admin API only (it may import sdk/src)' },
  { scope: 'gateway/src', forbid: ['sdk', 'agent'], why: 'the gateway does not depend on the registration side' },
  { scope: 'gateway/src', forbid: ['gw-agent'], why: 'import gateway modules relatively, not through the package name' },
  { scope: 'sdk/src', forbid: ['gw-agent'], why: 'import SDK modules relatively, not through the package name' },
  { scope: 'agent/src', forbid: ['gw-agent'], why: 'import SDK modules relatively, not through the package name' },
  ...['contract/src', 'gateway/src', 'sdk/src', 'agent/src'].map((scope) => ({
    scope,
    forbid: ['test', 'bench', 'examples'],
    why: 'production code must not depend on tests, benchmarks or examples',
  })),
  { scope: 'gateway/src/*', forbid: ['gateway.js', 'cli.js'], why: 'only the entry points wire the components together' },
  {
    scope: 'gateway/src/health',
    forbid: ['proxy'],
    why: 'health reaches the balancer through the target record; the proxy only reports outcomes to health',
  },
  {
    scope: 'gateway/src/store',
    forbid: ['admin', 'proxy', 'runtime', 'router', 'balancer', 'health'],
    why: 'the store persists entities and emits change events; everything downstream reads it, not the reverse',
  },
  {
    scope: 'gateway/src/entities',
    forbid: ['admin', 'proxy', 'runtime', 'store'],
    why: 'entities are pure schemas and types at the bottom of the graph',
  },
  { scope: 'gateway/src/router', forbid: ['admin', 'proxy'], why: 'the router is built by the runtime snapshot and read by the proxy' },
  { scope: 'gateway/src/balancer', forbid: ['admin', 'proxy'], why: 'the balancer is built by the runtime snapshot and read by the proxy' },
  {
    scope: 'gateway/src/discovery',
    forbid: ['admin', 'proxy', 'runtime', 'router', 'balancer'],
    why: 'discovery providers are writers like the Admin API: entities through parseEntity, writes through the store',
  },
];

// One regex per forbidden name, for no-restricted-imports and for `import('...')` with a literal path (which
// no-restricted-imports does not see; no-restricted-syntax does). A folder matches as a whole path segment anywhere
// ('../proxy/server.js', '../../proxy'), the package name as the first segment, an entry point only from inside
// gateway/src ('../gateway.js'). \x2F is '/', which an esquery regex literal cannot contain.
function regexFor(name) {
  const n = name.replace(/[.]/g, '\\.').replace(/\//g, '\\x2F');
  if (name === 'gw-agent') return `^${n}(\\x2F|$)`;
  if (name.endsWith('.js')) return `^(\\.\\.\\x2F)+${n}$`;
  return `(^|\\x2F)${n}(\\x2F|$)`;
}

const scopeMatches = (scope, dir) =>
  scope.endsWith('/*') ? dir.startsWith(scope.slice(0, -1)) : dir === scope || dir.startsWith(scope + '/');

// One config object per distinct scope, ordered from the widest to the narrowest, each carrying the union of all rows
// that apply to it (in flat config a later object's options for a rule replace an earlier one's, they do not merge).
const depth = (scope) => scope.split('/').length - (scope.endsWith('/*') ? 0.5 : 0);
const scopes = [...new Set(BOUNDARIES.map((b) => b.scope))].sort((a, b) => depth(a) - depth(b));
const boundaryConfigs = scopes.map((scope) => {
  const probe = scope.endsWith('/*') ? scope.slice(0, -1) + 'x' : scope;
  const rows = BOUNDARIES.filter((b) => scopeMatches(b.scope, probe));
  const forbidden = rows.flatMap((row) =>
    row.forbid.map((name) => ({ name, message: `${row.scope} must not import ${name}: ${row.why} (boundary table in eslint.config.js).` })),
  );
  return {
    name: `gw/boundaries ${scope}`,
    files: [`${scope}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', { patterns: forbidden.map(({ name, message }) => ({ regex: regexFor(name), message })) }],
      'no-restricted-syntax': [
        'error',
        ...forbidden.map(({ name, message }) => ({
          selector: `ImportExpression[source.type='Literal'][source.value=/${regexFor(name)}/]`,
          message,
        })),
      ],
    },
  };
});

export default defineConfig(
  { name: 'gw/ignores', ignores: ['**/dist/**', '**/node_modules/**', '.ci/.node/**', 'gw-data/**', '.bench-out/**'] },
  {
    name: 'gw/typescript',
    files: TS_FILES,
    extends: [eslint.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Tuned, not disabled: a leading underscore marks a parameter an interface requires but this implementation
      // ignores, and `{ kind: _k, ...rest }` is how the code drops a key; both are deliberate.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Off: the code writes `xs[i]!` on purpose (indexed reads may be undefined); without noUncheckedIndexedAccess
      // this rule calls each of those ~430 assertions unnecessary.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Off: `async` without `await` is deliberate here: fastify tells async hooks from callback hooks by it, and
      // Store methods are async so that a synchronous throw reaches the caller as a rejection.
      '@typescript-eslint/require-await': 'off',
      // Tuned: node:test's test()/describe()/it() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
    },
  },
  ...boundaryConfigs,
  // Last: turn off every stylistic rule that would fight prettier.
  { ...prettierConfig, name: 'gw/prettier', files: TS_FILES },
);

// the table, for test/integration/lint-gate.test.ts
export { BOUNDARIES };
