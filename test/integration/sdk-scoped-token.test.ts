import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
import { AdminApiError, isGwSdkError, register } from '../../sdk/src/index.js';
import { promote } from '../../sdk/src/blue-green.js';
import { AdminClient, startTestGateway } from '../helpers/gateway.js';
import { startUpstream, waitFor } from '../helpers/upstream.js';

const silent = pino({ level: 'silent' });
const base = { handleSignals: false, logger: silent, host: '127.0.0.1', onShutdown: () => undefined };
const ADMIN = 'admin-token-0123456789';
const USERS = 'users-registration-token-01';
const SEARCH = 'search-registration-token-01';

test('register() with a service-scoped registration token: rolling and blue-green end to end, identity guard across services, close() deregisters', async (t) => {
  const gw = await startTestGateway({ adminToken: ADMIN, registrationTokens: { users: USERS, search: SEARCH } });
  const app = await startUpstream('app');
  t.after(async () => {
    await gw.close(0);
    await app.close();
  });
  // an old task of "search" held this address and died without deregistering
  const stale = await register({
    ...base,
    adminUrl: gw.adminUrl,
    adminToken: SEARCH,
    service: 'search',
    routes: ['/search'],
    port: app.port,
    instanceId: 'task/old-search',
    lease: false,
    keepAlive: false,
  });
  assert.equal(stale.state, 'registered');

  const reg = await register({
    ...base,
    adminUrl: gw.adminUrl,
    adminToken: USERS,
    service: 'users',
    routes: ['/api/users'],
    port: app.port,
    instanceId: 'task/users-1',
    deployment: 'users:1',
    ttl: 30,
  });
  assert.equal(reg.state, 'registered');
  assert.equal(reg.gateway, 'gw');
  assert.equal((await new AdminClient(gw.adminUrl, ADMIN).call('GET', `/upstreams/users.upstream/targets/${app.address}`)).status, 200);
  assert.equal(
    (await new AdminClient(gw.adminUrl, ADMIN).call('GET', `/upstreams/search.upstream/targets/${app.address}`)).status,
    404,
    'the gateway removed the stale holder of another service',
  );
  const r = await request(gw.proxyUrl + '/api/users/1');
  assert.equal(r.statusCode, 200);
  await r.body.dump();

  // blue-green with the same token: its deployment upstream users.<slug>.upstream is in scope, and promote() too
  const green = await register({
    ...base,
    adminUrl: gw.adminUrl,
    adminToken: USERS,
    service: 'users',
    routes: ['/api/users'],
    port: app.port + 0,
    host: '127.0.0.2',
    instanceId: 'task/users-2',
    deployment: 'users:2',
    mode: 'blue-green',
    promoteWhen: 'manual',
    ttl: 30,
  });
  assert.equal(green.state, 'registered');
  const a = new AdminClient(gw.adminUrl, ADMIN);
  assert.equal((await a.call('GET', `/upstreams/users.users-2.upstream/targets/127.0.0.2:${app.port}`)).status, 200);
  const promoted = await promote({ adminUrl: gw.adminUrl, adminToken: USERS, service: 'users', deployment: 'users:2', force: true });
  assert.equal(promoted.upstream, 'users.users-2.upstream');

  // the users token cannot touch search, even through the SDK's own calls
  const forbidden = await new AdminClient(gw.adminUrl, USERS).call<{ message: string }>('PATCH', `/upstreams/search.upstream`, {
    slots: 10,
  });
  assert.equal(forbidden.status, 403);

  await green.close();
  await reg.close();
  assert.equal(reg.state, 'deregistered');
  assert.equal((await a.call('GET', `/upstreams/users.upstream/targets/${app.address}`)).status, 404, 'deregistered with the scoped token');
  assert.equal((await a.call('GET', `/upstreams/users.users-2.upstream/targets/127.0.0.2:${app.port}`)).status, 404);
});

test('register() with a token scoped to another service fails with a clear 403, without crashing', async (t) => {
  const gw = await startTestGateway({ adminToken: ADMIN, registrationTokens: { search: SEARCH } });
  t.after(() => gw.close(0));
  await assert.rejects(
    register({ ...base, adminUrl: gw.adminUrl, adminToken: SEARCH, service: 'users', port: 4000, instanceId: 'x', registerTimeout: 1500 }),
    (err: Error) => /403/.test(err.message) && /registration token for service 'search'/.test(err.message),
  );
});

test("register() refused (a wrong token 401, another service's token 403) rejects at once with GW_ERR_SDK_REGISTRATION_REFUSED, not after registerTimeout; background: state failed and reg.error", async (t) => {
  const gw = await startTestGateway({ adminToken: ADMIN, registrationTokens: { search: SEARCH } });
  t.after(() => gw.close(0));
  const opts = { ...base, adminUrl: gw.adminUrl, service: 'users', port: 4000, instanceId: 'x', registerTimeout: 600_000 };
  for (const [token, status] of [
    ['not-the-token', 401],
    [SEARCH, 403],
  ] as const) {
    const started = Date.now();
    await assert.rejects(register({ ...opts, adminToken: token }), (err: unknown) => {
      assert.ok(isGwSdkError(err), String(err));
      assert.equal(err.code, 'GW_ERR_SDK_REGISTRATION_REFUSED');
      assert.ok(err.cause instanceof AdminApiError);
      assert.equal(err.cause.status, status);
      assert.match(
        err.message,
        new RegExp(`^gw register\\(\\): the gateway refused to register users: GET /\\S*: gateway answered ${status} \\(`),
      );
      assert.doesNotMatch(err.message, /within/);
      return true;
    });
    // a generous bound, far under the 10 minutes registerTimeout: the refusal was not retried
    assert.ok(Date.now() - started < 30_000, `${status}: rejected at once (${Date.now() - started} ms)`);

    const reg = await register({ ...opts, adminToken: token, background: true });
    await waitFor(() => reg.state === 'failed', 30_000, `${status}: the background registration fails`);
    assert.ok(isGwSdkError(reg.error) && reg.error.code === 'GW_ERR_SDK_REGISTRATION_REFUSED', String(reg.error));
    await reg.close();
  }
});
