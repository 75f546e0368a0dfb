// Kong's `message` of a code 14 error is Penlight's pretty.write(err_t, "") (kong/db/errors.lua declarative_config).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { luaPretty, luaQuote } from '../../../../gateway/src/config/lua-pretty.js';

test('pretty.write(t, ""): sequences positionally, holes as [n]=, keys sorted, non-identifier keys bracketed', () => {
  assert.equal(luaPretty({ services: [{ port: 'p', host: 'h' }] }), '{services={{host="h",port="p"}}}');
  assert.equal(luaPretty({ services: [null, 'dup'] }), '{services={[2]="dup"}}');
  assert.equal(luaPretty({ a: ['x', null, 'z'] }), '{a={"x",[3]="z"}}');
  assert.equal(luaPretty({ routes: { 'my-route-1': ['m'], r3: ['n'] } }), '{routes={["my-route-1"]={"m"},r3={"n"}}}');
  assert.equal(luaPretty({ '@entity': ['e'], end: 1, ok: true }), '{["@entity"]={"e"},["end"]=1,ok=true}');
  assert.equal(luaPretty({}), '{}');
});

test('pl.stringx.quote_string: %q escapes, long brackets for newlines and bracket runs', () => {
  assert.equal(luaQuote('say "hi" \\ there'), '"say \\"hi\\" \\\\ there"');
  assert.equal(luaQuote('two\nlines'), '[[two\nlines]]');
  assert.equal(luaQuote('ends with ]'), '[=[ends with ]]=]');
  assert.equal(luaQuote('a [[b]] c'), '[=[a [[b]] c]=]');
});
