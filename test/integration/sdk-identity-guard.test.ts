import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { register } from '../../sdk/src/index.js';
import { removeStaleHolders } from '../../sdk/src/identity-guard.js';
import { KongAdmin } from '../../sdk/src/kong-admin.js';
import { startTestGateway } from '../helpers/gateway.js';

const silent = pino({ level: 'silent' });
const base = { handleSignals: false, logger: silent, host: '127.0.0.1', onShutdown: () => undefined };

interface TargetBody {
  tags: string[];
}

test('identity guard: a new instance at an address an older instance of another service still holds removes that stale target first', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  // the old task of "search" held 127.0.0.1:4100 and died without deregistering (no lease here, so it stays)
  const old = await register({ ...base, adminUrl: gw.adminUrl, service: 'search', port: 4100, instanceId: 'arn:aws:ecs:eu-west-1:123456789012:task/prod/old', lease: false, keepAlive: false });
  assert.equal((await gw.admin.call('GET', '/upstreams/search.upstream/targets/127.0.0.1:4100')).status, 200);
  // a target at the same address in an upstream made by hand, without gw tags: not ours to judge
  await gw.admin.call('PUT', '/upstreams/manual', {});
  await gw.admin.call('PUT', '/upstreams/manual/targets/127.0.0.1:4100', {});

  // ECS gives the address to a new task of "billing"
  const fresh = await register({ ...base, adminUrl: gw.adminUrl, service: 'billing', port: 4100, instanceId: 'arn:aws:ecs:eu-west-1:123456789012:task/prod/new' });
  t.after(() => fresh.close());
  assert.equal((await gw.admin.call('GET', '/upstreams/search.upstream/targets/127.0.0.1:4100')).status, 404, 'the stale holder in another upstream is gone');
  const mine = await gw.admin.call<TargetBody>('GET', '/upstreams/billing.upstream/targets/127.0.0.1:4100');
  assert.equal(mine.status, 200);
  assert.ok(mine.body.tags.includes('gw-instance:arn:aws:ecs:eu-west-1:123456789012:task%2Fprod%2Fnew'), mine.body.tags.join(' '));
  assert.equal((await gw.admin.call('GET', '/upstreams/manual/targets/127.0.0.1:4100')).status, 200, 'untagged targets are left alone');
  void old;

  // re-registering (e.g. after a gateway restart) never removes the instance's own target: the decoded ARN matches
  const admin = new KongAdmin(gw.adminUrl);
  assert.deepEqual(await removeStaleHolders(admin, { target: '127.0.0.1:4100', instanceId: 'arn:aws:ecs:eu-west-1:123456789012:task/prod/new', ownUpstream: 'billing.upstream' }), []);
});

test('identity guard: the search over gw upstreams follows pagination and stops at its bound', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  for (let i = 0; i < 25; i++) await gw.admin.call('PUT', `/upstreams/u${String(i).padStart(2, '0')}`, { tags: ['gw'] });
  // the stale holder sits in the upstream listed last
  const names = (await gw.admin.call<{ data: { name: string }[] }>('GET', '/upstreams?tags=gw&size=1000')).body.data.map((u) => u.name);
  const last = names[names.length - 1]!;
  await gw.admin.call('PUT', `/upstreams/${last}/targets/10.0.0.9:80`, { tags: ['gw', 'gw-instance:gone'] });
  const admin = new KongAdmin(gw.adminUrl);

  const bounded = await removeStaleHolders(admin, { target: '10.0.0.9:80', instanceId: 'me', ownUpstream: 'mine', pageSize: 5, maxUpstreams: 10 });
  assert.deepEqual(bounded, [], 'beyond the bound: not searched');
  const removed = await removeStaleHolders(admin, { target: '10.0.0.9:80', instanceId: 'me', ownUpstream: 'mine', pageSize: 5 });
  assert.deepEqual(removed, [{ upstream: last, target: '10.0.0.9:80', instanceId: 'gone' }]);
  assert.equal((await gw.admin.call('GET', `/upstreams/${last}/targets/10.0.0.9:80`)).status, 404);
});
