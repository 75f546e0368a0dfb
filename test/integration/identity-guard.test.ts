import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestGateway } from '../helpers/gateway.js';
import { AdminClient } from '../helpers/gateway.js';
import { capturedLogger } from '../helpers/log.js';

const ADMIN = 'admin-token-0123456789';
const BILLING = 'billing-token-0123456789';

test("identity guard in the gateway: a gw-instance target write removes other instances' targets at that address across services, atomically, logged and counted", async (t) => {
  const { logger, lines } = capturedLogger();
  const gw = await startTestGateway({ adminToken: ADMIN, registrationTokens: { billing: BILLING }, logger });
  t.after(() => gw.close(0));
  const admin = gw.admin;
  // service "search": its old task held 127.1.0.7:3000 and died without deregistering
  for (const s of ['search', 'billing']) {
    assert.equal((await admin.call('PUT', `/upstreams/${s}.upstream`, { tags: ['gw', `gw-service:${s}`] })).status, 200);
    assert.equal((await admin.call('PUT', `/services/${s}`, { host: `${s}.upstream` })).status, 200);
  }
  assert.equal(
    (await admin.call('PUT', '/upstreams/search.upstream/targets/127.1.0.7:3000', { tags: ['gw', 'gw-instance:task%2Fold'] })).status,
    200,
  );
  // the same instance may hold its address in a second upstream (blue-green); a target made by hand has no gw tags
  assert.equal((await admin.call('PUT', '/upstreams/manual', {})).status, 200);
  assert.equal((await admin.call('PUT', '/upstreams/manual/targets/127.1.0.7:3000', {})).status, 200);
  assert.equal(
    (await admin.call('PUT', '/upstreams/manual/targets/127.1.0.8:3000', { tags: ['gw', 'gw-instance:task%2Fnew'] })).status,
    200,
  );

  // a write without a gw-instance tag removes nothing
  assert.equal((await admin.call('PUT', '/upstreams/billing.upstream/targets/127.1.0.7:3000', { tags: ['gw'] })).status, 200);
  assert.equal((await admin.call('GET', '/upstreams/search.upstream/targets/127.1.0.7:3000')).status, 200);
  // a refused write (bad weight) removes nothing either: the deletes go in the write's own batch
  assert.equal(
    (await admin.call('PUT', '/upstreams/billing.upstream/targets/127.1.0.7:3000', { weight: -1, tags: ['gw', 'gw-instance:task%2Fnew'] }))
      .status,
    400,
  );
  assert.equal((await admin.call('GET', '/upstreams/search.upstream/targets/127.1.0.7:3000')).status, 200);

  // ECS gives 127.1.0.7 to a new task of "billing", which registers with its scoped token: no rights on search needed
  const billing = new AdminClient(gw.adminUrl, BILLING);
  const events: unknown[] = [];
  const unsubscribe = gw.store.subscribe((e) => events.push(e.map((x) => `${x.op}:${x.kind}`)));
  const put = await billing.call('PUT', '/upstreams/billing.upstream/targets/127.1.0.7:3000', {
    tags: ['gw', 'gw-instance:task%2Fnew'],
    ttl: 30,
  });
  unsubscribe();
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.deepEqual(
    events,
    [['delete:targets', 'update:targets']],
    'one atomic batch: the stale holder deleted and the target written together',
  );
  assert.equal(
    (await admin.call('GET', '/upstreams/search.upstream/targets/127.1.0.7:3000')).status,
    404,
    'the stale holder of another service is gone',
  );
  assert.equal((await admin.call('GET', '/upstreams/manual/targets/127.1.0.7:3000')).status, 200, 'untagged targets are never touched');
  assert.equal((await admin.call('GET', '/upstreams/manual/targets/127.1.0.8:3000')).status, 200);
  const logged = lines.filter((l) => l.component === 'identity-guard');
  assert.equal(logged.length, 1);
  assert.equal(logged[0]!.upstream, 'search.upstream');
  assert.equal(logged[0]!.stale_instance, 'task/old');
  assert.equal(logged[0]!.instance, 'task/new');
  assert.match(
    await (await fetch(`${gw.adminUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text(),
    /^gw_identity_guard_removals_total 1$/m,
  );

  // the same instance registering its address in another upstream (blue-green) keeps both
  assert.equal((await admin.call('PUT', '/upstreams/billing.green.upstream', {})).status, 200);
  assert.equal(
    (await billing.call('PUT', '/upstreams/billing.green.upstream/targets/127.1.0.7:3000', { tags: ['gw', 'gw-instance:task%2Fnew'] }))
      .status,
    200,
  );
  assert.equal((await admin.call('GET', '/upstreams/billing.upstream/targets/127.1.0.7:3000')).status, 200, 'same instance: kept');
  // POST and PATCH writes run the guard too
  assert.equal(
    (await admin.call('POST', '/upstreams/search.upstream/targets', { target: '127.1.0.7:3000', tags: ['gw-instance:task%2Fnewer'] }))
      .status,
    201,
  );
  assert.equal((await admin.call('GET', '/upstreams/billing.upstream/targets/127.1.0.7:3000')).status, 404);
  assert.equal((await admin.call('GET', '/upstreams/billing.green.upstream/targets/127.1.0.7:3000')).status, 404);
  assert.match(
    await (await fetch(`${gw.adminUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text(),
    /^gw_identity_guard_removals_total 3$/m,
  );
});

test('identity guard: off in Kong-only mode (Kong has none; the SDK runs its own there)', async (t) => {
  const gw = await startTestGateway({ kongOnly: true });
  t.after(() => gw.close(0));
  await gw.admin.call('PUT', '/upstreams/a', {});
  await gw.admin.call('PUT', '/upstreams/b', {});
  await gw.admin.call('PUT', '/upstreams/a/targets/127.1.0.7:3000', { tags: ['gw-instance:old'] });
  await gw.admin.call('PUT', '/upstreams/b/targets/127.1.0.7:3000', { tags: ['gw-instance:new'] });
  assert.equal((await gw.admin.call('GET', '/upstreams/a/targets/127.1.0.7:3000')).status, 200);
});
