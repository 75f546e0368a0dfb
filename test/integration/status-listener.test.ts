// --status-listen (Kong's status_listen, issue 14): /status, /status/ready and
// /metrics without admin rights; nothing else there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestGateway } from '../helpers/gateway.js';

test('the status listener serves /status, /status/ready and /metrics without the admin token, and nothing of the Admin API', async (t) => {
  const token = 'status-listener-admin-token-0123456789';
  const gw = await startTestGateway({ adminToken: token, statusListen: '127.0.0.1:0' });
  t.after(() => gw.close());
  assert.ok(gw.statusUrl);
  assert.equal((await fetch(`${gw.adminUrl}/status`)).status, 401, 'the admin listener still needs the token');
  const status = await fetch(`${gw.statusUrl}/status`);
  assert.equal(status.status, 200);
  const body = (await status.json()) as { server: { total_requests: number }; configuration_hash: string };
  assert.equal(typeof body.server.total_requests, 'number');
  assert.match(body.configuration_hash, /^[0-9a-f]{32}$/);
  assert.deepEqual(await (await fetch(`${gw.statusUrl}/status/ready`)).json(), { message: 'ready' });
  const metrics = await fetch(`${gw.statusUrl}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /^# (HELP|TYPE) /m);
  for (const path of ['/', '/services', '/config']) assert.equal((await fetch(`${gw.statusUrl}${path}`)).status, 404, path);
  assert.equal(
    (await fetch(`${gw.statusUrl}/services`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status,
    404,
  );
});

test('without --status-listen there is no status listener', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close());
  assert.equal(gw.statusUrl, undefined);
});
