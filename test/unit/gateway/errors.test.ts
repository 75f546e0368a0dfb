import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { errorCatalogue, GwError, isGwError } from '../../../gateway/src/errors.js';

const doc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');

test('every catalogue code is GW_ERR_*, has an HTTP status and a documented entry with its message', () => {
  for (const [code, spec] of Object.entries(errorCatalogue)) {
    assert.match(code, /^GW_ERR_[A-Z]+_[A-Z_]+$/);
    assert.ok(spec.status >= 400 && spec.status <= 599, code);
    assert.ok(doc.includes(`### ${code}\n`), `${code} missing from docs/errors.md`);
    assert.ok(doc.includes(`\`${spec.message}\``), `${code} message differs in docs/errors.md`);
  }
});

test('docs/errors.md lists no code that does not exist', () => {
  const documented = [...doc.matchAll(/^### (GW_ERR_\w+)$/gm)].map((m) => m[1]);
  assert.deepEqual(documented.sort(), Object.keys(errorCatalogue).sort());
});

test('GwError carries code and status, fills its template and survives instanceof across copies', () => {
  const e = new GwError('GW_ERR_CONFIG_FILE', ['kong.yml', 'bad']);
  assert.equal(e.code, 'GW_ERR_CONFIG_FILE');
  assert.equal(e.message, 'cannot load declarative config kong.yml: bad');
  assert.ok(isGwError(e));
  assert.ok(isGwError({ [Symbol.for('gw.error')]: true }));
  assert.equal(isGwError(new Error('x')), false);
});
