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
  const old = await register({
    ...base,
    adminUrl: gw.adminUrl,
    service: 'search',
    port: 4100,
    instanceId: 'arn:aws:ecs:eu-west-1:123456789012:task/prod/old',
    lease: false,
    keepAlive: false,
  });
  assert.equal((await gw.admin.call('GET', '/upstreams/search.upstream/targets/127.0.0.1:4100')).status, 200);
  // a target at the same address in an upstream made by hand, without gw tags: not ours to judge
  await gw.admin.call('PUT', '/upstreams/manual', {});
  await gw.admin.call('PUT', '/upstreams/manual/targets/127.0.0.1:4100', {});

  // ECS gives the address to a new task of "billing"
  const fresh = await register({
    ...base,
    adminUrl: gw.adminUrl,
    service: 'billing',
    port: 4100,
    instanceId: 'arn:aws:ecs:eu-west-1:123456789012:task/prod/new',
  });
  t.after(() => fresh.close());
  assert.equal(
    (await gw.admin.call('GET', '/upstreams/search.upstream/targets/127.0.0.1:4100')).status,
    404,
    'the stale holder in another upstream is gone',
  );
  const mine = await gw.admin.call<TargetBody>('GET', '/upstreams/billing.upstream/targets/127.0.0.1:4100');
  assert.equal(mine.status, 200);
  assert.ok(mine.body.tags.includes('gw-instance:arn:aws:ecs:eu-west-1:123456789012:task%2Fprod%2Fnew'), mine.body.tags.join(' '));
  assert.equal((await gw.admin.call('GET', '/upstreams/manual/targets/127.0.0.1:4100')).status, 200, 'untagged targets are left alone');
  void old;

  // re-registering (e.g. after a gateway restart) never removes the instance's own target: the decoded ARN matches
  const admin = new KongAdmin(gw.adminUrl);
  assert.deepEqual(
    await removeStaleHolders(admin, {
      target: '127.0.0.1:4100',
      instanceId: 'arn:aws:ecs:eu-west-1:123456789012:task/prod/new',
      ownUpstream: 'billing.upstream',
    }),
    [],
  );
});

test('identity guard: the search over gw upstreams follows pagination and stops at its bound', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  for (let i = 0; i < 25; i++) await gw.admin.call('PUT', `/upstreams/u${String(i).padStart(2, '0')}`, { tags: ['gw'] });
  // the stale holder sits in the upstream listed last
  const names = (await gw.admin.call<{ data: { name: string }[] }>('GET', '/upstreams?tags=gw&size=1000')).body.data.map((u) => u.name);
  const last = names[names.length - 1]!;
  await gw.admin.call('PUT', `/upstreams/${last}/targets/127.0.0.9:80`, { tags: ['gw', 'gw-instance:gone'] });
  const admin = new KongAdmin(gw.adminUrl);

  const bounded = await removeStaleHolders(admin, {
    target: '127.0.0.9:80',
    instanceId: 'me',
    ownUpstream: 'mine',
    pageSize: 5,
    maxUpstreams: 10,
  });
  assert.deepEqual(bounded, [], 'beyond the bound: not searched');
  const removed = await removeStaleHolders(admin, { target: '127.0.0.9:80', instanceId: 'me', ownUpstream: 'mine', pageSize: 5 });
  assert.deepEqual(removed, [{ upstream: last, target: '127.0.0.9:80', instanceId: 'gone' }]);
  assert.equal((await gw.admin.call('GET', `/upstreams/${last}/targets/127.0.0.9:80`)).status, 404);
});

test('identity guard on gw: one GET /targets?target= finds holders in every upstream; Kong-only mode has no such endpoint', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  for (let i = 0; i < 30; i++) await gw.admin.call('PUT', `/upstreams/g${i}`, { tags: ['gw'] });
  await gw.admin.call('PUT', '/upstreams/g17/targets/127.0.0.9:80', { tags: ['gw', 'gw-instance:gone'] });
  await gw.admin.call('PUT', '/upstreams/g3/targets/127.0.0.9:80', { tags: ['gw', 'gw-instance:me'] });
  await gw.admin.call('PUT', '/upstreams/g25/targets/127.0.0.9:80', {}); // no gw tags: never a stale holder
  const found = await gw.admin.call<{ data: { target: string; upstream: { id: string } }[]; next: null }>(
    'GET',
    '/targets?target=127.0.0.9:80',
  );
  assert.equal(found.status, 200);
  // since issue 12 the gateway runs the guard itself, in the write of g3's target: g17's stale holder is already gone
  assert.equal(found.body.data.length, 2);
  assert.equal((await gw.admin.call('GET', '/upstreams/g17/targets/127.0.0.9:80')).status, 404);
  assert.equal((await gw.admin.call('GET', '/targets')).status, 404, 'no query argument: Kong has no /targets');
  assert.equal((await gw.admin.call('GET', '/targets?target=not%20an%20address')).status, 400);
  // the SDK's gw path (no longer used by register() on gw) finds nothing left to remove
  const removed = await removeStaleHolders(new KongAdmin(gw.adminUrl), {
    target: '127.0.0.9:80',
    instanceId: 'me',
    ownUpstream: 'g3',
    gw: true,
  });
  assert.deepEqual(removed, []);
  assert.equal((await gw.admin.call('GET', '/upstreams/g3/targets/127.0.0.9:80')).status, 200, 'its own target stays');
  assert.equal((await gw.admin.call('GET', '/upstreams/g25/targets/127.0.0.9:80')).status, 200, 'untagged targets stay');
  const kong = await startTestGateway({ kongOnly: true });
  t.after(() => kong.close(0));
  assert.equal((await kong.admin.call('GET', '/targets?target=127.0.0.9:80')).status, 404);
});
