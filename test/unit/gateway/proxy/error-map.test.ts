import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errors } from 'undici';
import { classify, failureCode } from '../../../../gateway/src/proxy/error-map.js';

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
