import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errors } from 'undici';
import { classify, errorFormat, failureCode } from '../../../../gateway/src/proxy/error-map.js';

test('classify: what undici raises for a try, and what the client is answered', () => {
  const cases: [unknown, string, string][] = [
    [Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 'connect', 'GW_ERR_PROXY_BAD_RESPONSE'],
    [new errors.HeadersTimeoutError(), 'timeout', 'GW_ERR_PROXY_TIMEOUT'],
    [new errors.BodyTimeoutError(), 'timeout', 'GW_ERR_PROXY_TIMEOUT'],
    [new errors.ConnectTimeoutError(), 'timeout', 'GW_ERR_PROXY_TIMEOUT'],
    [new errors.SocketError('other side closed'), 'reset', 'GW_ERR_PROXY_BAD_RESPONSE'],
    [Object.assign(new Error('nx'), { code: 'ENOTFOUND' }), 'dns', 'GW_ERR_PROXY_NAME_RESOLUTION'],
    // refused by undici before anything was sent: no target is to blame, none would take it (not counted, not retried)
    [new errors.NotSupportedError('expect header not supported'), 'local', 'GW_ERR_PROXY_BAD_RESPONSE'],
    [new errors.InvalidArgumentError('invalid header'), 'local', 'GW_ERR_PROXY_BAD_RESPONSE'],
  ];
  for (const [err, kind, code] of cases) {
    assert.equal(classify(err), kind, (err as Error).message);
    assert.equal(failureCode(classify(err) as Parameters<typeof failureCode>[0]), code);
  }
});

test("errorFormat: Kong's get_response_type (highest q, first of equal ones, wildcards, unknown types JSON)", () => {
  const cases: [string | undefined, string][] = [
    [undefined, 'json'],
    ['*/*', 'json'],
    ['text/html', 'html'],
    ['application/xml', 'xml'],
    ['text/plain', 'plain'],
    // 12-error_default_type_spec "picks highest q-value"
    ['text/plain;q=0.7,application/json;q=0.8,text/html;q=0.5', 'json'],
    ['text/html;q=0.1, application/json;q=0.9', 'json'],
    // "defaults to 1 when q-value is not specified": the first entry without q wins over lower ones
    ['application/xml;q=0.5, text/plain', 'plain'],
    ['text/html, application/json', 'html'],
    ['text/*', 'plain'],
    ['application/*', 'json'],
    ['image/png', 'json'],
    ['text/xml', 'json'],
    ['text/html; charset=utf-8; q=0.9, text/plain;q=0.3', 'html'],
    ['garbage', 'json'],
  ];
  for (const [accept, format] of cases) assert.equal(errorFormat(accept), format, String(accept));
});
