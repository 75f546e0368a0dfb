import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdminAuth, callerLabel, ownsUpstream } from '../../../../gateway/src/admin/auth.js';
import { createAdminServer } from '../../../../gateway/src/admin/server.js';
import { silentLogger } from '../../../../gateway/src/observability/log.js';
import { MemoryStore } from '../../../../gateway/src/store/memory.js';

const ADMIN = 'admin-token-0123456789';
const USERS = 'users-token-0123456789';
const BILLING = 'billing-token-0123456789';

async function admin() {
  const store = new MemoryStore();
  await store.open();
  const app = await createAdminServer({
    store,
    logger: silentLogger(),
    isReady: () => true,
    nodeId: '00000000-0000-4000-8000-000000000000',
    adminToken: ADMIN,
    registrationTokens: { users: USERS, billing: BILLING },
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
  });
  const call = async (token: string | undefined, method: string, url: string, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    const r = await app.inject({
      method: method as 'GET',
      url,
      payload: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    });
    return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as Record<string, unknown>) : {} };
  };
  return { app, store, call };
}

test('AdminAuth tells admin, registration and anonymous callers apart', () => {
  const auth = new AdminAuth({ adminToken: ADMIN, registrationTokens: { users: USERS } });
  assert.deepEqual(auth.identify({ authorization: `Bearer ${ADMIN}` }), { kind: 'admin' });
  assert.deepEqual(auth.identify({ 'kong-admin-token': USERS }), { kind: 'registration', service: 'users' });
  assert.equal(auth.identify({ authorization: `Bearer ${USERS}x` }), undefined);
  assert.equal(auth.identify({}), undefined);
  // no admin token: unknown tokens are anonymous (loopback only), a registration token is still scoped
  const open = new AdminAuth({ registrationTokens: { users: USERS } });
  assert.deepEqual(open.identify({}), { kind: 'anonymous' });
  assert.deepEqual(open.identify({ authorization: `Bearer ${USERS}` }), { kind: 'registration', service: 'users' });
  assert.equal(callerLabel({ kind: 'registration', service: 'users' }), 'registration:users');
});

test('ownsUpstream: SDK names (rolling and blue-green), the current host, never another service', async () => {
  const store = new MemoryStore();
  await store.open();
  assert.equal(ownsUpstream(store, 'users', 'users.upstream'), true);
  assert.equal(ownsUpstream(store, 'users', 'users.users-7.upstream'), true);
  assert.equal(ownsUpstream(store, 'users', 'users.Bad_Slug.upstream'), false);
  assert.equal(ownsUpstream(store, 'users', 'billing.upstream'), false);
  assert.equal(ownsUpstream(store, 'users', 'usersx.upstream'), false);
  assert.equal(ownsUpstream(store, 'users', 'legacy'), false);
  const now = 1_700_000_000;
  const { parseEntity } = await import('../../../../gateway/src/entities/index.js');
  const up = (name: string, tags: string[] | null) => {
    const r = parseEntity('upstreams', { name, tags }, { mode: 'create', now });
    assert.ok(r.ok);
    return r.value;
  };
  // a service named users.v2 exists: users.v2.upstream is its rolling upstream, not a blue-green one of users
  const v2 = parseEntity('services', { name: 'users.v2', host: 'users.v2.upstream' }, { mode: 'create', now });
  assert.ok(v2.ok);
  await store.apply([{ op: 'put', kind: 'services', entity: v2.value as never }]);
  assert.equal(ownsUpstream(store, 'users', 'users.v2.upstream'), false);
  // an admin pointed users at "legacy": that upstream is in scope
  const users = parseEntity('services', { name: 'users', host: 'legacy' }, { mode: 'create', now });
  assert.ok(users.ok);
  await store.apply([
    { op: 'put', kind: 'upstreams', entity: up('legacy', null) as never },
    { op: 'put', kind: 'services', entity: users.value as never },
  ]);
  assert.equal(ownsUpstream(store, 'users', 'legacy'), true);
  // tagged for another service: never, whatever its name
  await store.apply([{ op: 'put', kind: 'upstreams', entity: up('users.blue.upstream', ['gw-service:billing']) as never }]);
  assert.equal(ownsUpstream(store, 'users', 'users.blue.upstream'), false);
});

test('a registration token: allowed and 403 matrix', async (t) => {
  const { app, store, call } = await admin();
  t.after(() => app.close());
  // what an admin set up: another service with its upstream, route and target
  assert.equal((await call(ADMIN, 'PUT', '/upstreams/billing.upstream', { tags: ['gw-service:billing'] })).status, 200);
  assert.equal((await call(ADMIN, 'PUT', '/services/billing', { host: 'billing.upstream' })).status, 200);
  assert.equal((await call(ADMIN, 'PUT', '/services/billing/routes/billing-r', { paths: ['/billing'] })).status, 200);
  assert.equal((await call(ADMIN, 'PUT', '/upstreams/billing.upstream/targets/127.0.0.2:80', {})).status, 200);

  const allowed: [string, string, unknown?][] = [
    ['GET', '/'],
    ['GET', '/status'],
    ['GET', '/services/users'],
    ['PUT', '/upstreams/users.upstream', { tags: ['gw', 'gw-service:users'] }],
    ['PUT', '/upstreams/users.green.upstream', { tags: ['gw'] }],
    ['PATCH', '/upstreams/users.upstream', { slots: 100 }],
    ['POST', '/upstreams', { name: 'users.blue.upstream' }],
    ['PUT', '/services/users', { host: 'users.upstream' }],
    ['PATCH', '/services/users', { retries: 3 }],
    ['PATCH', '/services/users', { url: 'http://users.green.upstream:8080' }],
    ['PATCH', '/services/users', { host: 'users.upstream' }],
    ['PUT', '/services/users/routes/users-r', { paths: ['/users'] }],
    ['POST', '/services/users/routes', { name: 'users-r2', paths: ['/users2'] }],
    ['GET', '/routes/users-r'],
    ['GET', '/routes/not-there-yet'],
    ['PATCH', '/routes/users-r', { strip_path: false }],
    ['POST', '/routes', { name: 'users-r3', paths: ['/u3'], service: { name: 'users' } }],
    ['GET', '/services/users/routes'],
    ['PUT', '/upstreams/users.upstream/targets/127.0.0.1:80', { tags: ['gw'], ttl: 30 }],
    ['POST', '/upstreams/users.upstream/targets', { target: '127.0.0.3:80' }],
    ['POST', '/upstreams/users.upstream/targets/127.0.0.1:80/heartbeat'],
    ['PATCH', '/upstreams/users.upstream/targets/127.0.0.1:80', { weight: 0 }],
    ['GET', '/upstreams/users.upstream/targets/127.0.0.1:80'],
    ['GET', '/upstreams/users.upstream/targets'],
    ['GET', '/upstreams/users.upstream/health'],
    ['GET', '/upstreams/users.upstream'],
    ['DELETE', '/upstreams/users.upstream/targets/127.0.0.1:80'],
  ];
  for (const [method, url, body] of allowed) {
    const r = await call(USERS, method, url, body);
    assert.ok(r.status !== 401 && r.status !== 403, `${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.ok(r.status < 300 || (r.status === 404 && method === 'GET'), `${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const usersId = store.getByName('services', 'users')!.id;
  assert.equal((await call(USERS, 'GET', `/services/${usersId}`)).status, 200, 'by id too');

  const forbidden: [string, string, unknown?][] = [
    // other services' things
    ['GET', '/services/billing'],
    ['PATCH', '/services/billing', { retries: 1 }],
    ['PUT', '/services/billing', { host: 'users.upstream' }],
    ['GET', '/upstreams/billing.upstream'],
    ['PUT', '/upstreams/billing.upstream', {}],
    ['GET', '/upstreams/billing.upstream/health'],
    ['GET', '/upstreams/billing.upstream/targets'],
    ['PUT', '/upstreams/billing.upstream/targets/127.0.0.9:80', {}],
    ['DELETE', '/upstreams/billing.upstream/targets/127.0.0.2:80'],
    ['PATCH', '/upstreams/billing.upstream/targets/127.0.0.2:80', { weight: 0 }],
    ['GET', '/routes/billing-r'],
    ['PATCH', '/routes/billing-r', { paths: ['/users'] }],
    ['PUT', '/services/users/routes/billing-r', { paths: ['/x'] }],
    ['POST', '/services/billing/routes', { paths: ['/x'] }],
    ['POST', '/routes', { paths: ['/x'], service: { name: 'billing' } }],
    ['PATCH', '/routes/users-r', { service: { name: 'billing' } }],
    ['PUT', '/routes/new-one', { paths: ['/x'] }],
    // pointing its service elsewhere, renaming
    ['PATCH', '/services/users', { host: 'billing.upstream' }],
    ['PATCH', '/services/users', { host: '169.254.169.254' }],
    ['PATCH', '/services/users', { url: 'http://127.0.0.1:80/' }],
    ['PATCH', '/services/users', { name: 'billing2' }],
    ['POST', '/services', { name: 'other', host: 'other.upstream' }],
    ['PATCH', '/upstreams/users.upstream', { name: 'renamed' }],
    ['POST', '/upstreams', { name: 'legacy' }],
    ['PUT', '/upstreams/anything', {}],
    // deletes of shared objects, lists, cross-upstream and admin-only endpoints
    ['DELETE', '/services/users'],
    ['DELETE', '/upstreams/users.upstream'],
    ['DELETE', '/routes/users-r'],
    ['DELETE', '/services/users/routes/users-r'],
    ['GET', '/services'],
    ['GET', '/upstreams'],
    ['GET', '/routes'],
    ['GET', '/targets?target=127.0.0.2:80'],
    ['GET', '/metrics'],
    ['PUT', '/upstreams/users.upstream/targets/127.0.0.3:80/unhealthy'],
    ['GET', '/routes/users-r/service'],
    ['PUT', '/routes/users-r/service', { host: 'users.upstream' }],
  ];
  const before = JSON.stringify([store.all('services'), store.all('routes'), store.all('upstreams'), store.all('targets')]);
  for (const [method, url, body] of forbidden) {
    const r = await call(USERS, method, url, body);
    assert.equal(r.status, 403, `${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.match(String(r.body.message), /^Forbidden: a registration token for service 'users' may not /);
  }
  assert.equal(
    JSON.stringify([store.all('services'), store.all('routes'), store.all('upstreams'), store.all('targets')]),
    before,
    'nothing forbidden changed anything',
  );
  // the other token is scoped the other way round; no token or a wrong one is 401
  assert.equal((await call(BILLING, 'GET', '/upstreams/billing.upstream/health')).status, 200);
  assert.equal((await call(BILLING, 'GET', '/upstreams/users.upstream/health')).status, 403);
  assert.equal((await call(undefined, 'GET', '/services/users')).status, 401);
  assert.equal((await call('nope-nope-nope-nope', 'GET', '/services/users')).status, 401);
  // the admin token may do everything
  assert.equal((await call(ADMIN, 'DELETE', '/routes/users-r')).status, 204);
});

test('registration tokens without an admin token: anonymous keeps full rights, the token stays scoped', async (t) => {
  const store = new MemoryStore();
  await store.open();
  const app = await createAdminServer({
    store,
    logger: silentLogger(),
    isReady: () => true,
    nodeId: '00000000-0000-4000-8000-000000000000',
    registrationTokens: { users: USERS },
  });
  t.after(() => app.close());
  assert.equal((await app.inject({ method: 'GET', url: '/services' })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/services', headers: { authorization: `Bearer ${USERS}` } })).statusCode, 403);
});
