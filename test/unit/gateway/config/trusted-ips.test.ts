import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTrusted, isTrusted } from '../../../../gateway/src/config/trusted-ips.js';
import { resolveSettings } from '../../../../gateway/src/config/settings.js';

test('trusted IPs: addresses and CIDRs of both families, IPv4-mapped peers, nothing by default', () => {
  const l = compileTrusted(['10.0.0.0/8', '192.168.1.10', '::1', 'fd00::/8']);
  assert.equal(isTrusted(l, '10.1.2.3'), true);
  assert.equal(isTrusted(l, '::ffff:10.1.2.3'), true);
  assert.equal(isTrusted(l, '192.168.1.10'), true);
  assert.equal(isTrusted(l, '192.168.1.11'), false);
  assert.equal(isTrusted(l, '::1'), true);
  assert.equal(isTrusted(l, 'fd12::1'), true);
  assert.equal(isTrusted(compileTrusted([]), '10.1.2.3'), false);
});

test('a bad --trusted-ips entry is a configuration error naming it and where it came from', () => {
  for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0.1/8/1', '::1/129', '1.2.3.4/x']) {
    assert.throws(
      () => resolveSettings({ trustedIps: `127.0.0.1,${bad}` }, {}),
      (e: Error) => e.message.includes(`'${bad}'`) && e.message.includes('--trusted-ips'),
      bad,
    );
  }
  assert.deepEqual(resolveSettings({}, { GW_TRUSTED_IPS: '10.0.0.0/8, 172.16.0.0/12' }).trustedIps, ['10.0.0.0/8', '172.16.0.0/12']);
  assert.deepEqual(resolveSettings({}, {}).trustedIps, []);
});
