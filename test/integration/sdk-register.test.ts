import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
import { register } from '../../sdk/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { deadPort, startUpstream, waitFor } from '../helpers/upstream.js';

const silent = pino({ level: 'silent' });
const base = { handleSignals: false, logger: silent, host: '127.0.0.1', onShutdown: () => undefined };

interface TargetBody {
  target: string;
  weight: number;
  tags: string[];
  ttl: number | null;
}

test('register() creates upstream, service, route and a tagged target with a lease; traffic flows; close() drains and deregisters', async (t) => {
  const gw = await startTestGateway();
  const app = await startUpstream('app');
  t.after(async () => {
    await gw.close(0);
    await app.close();
  });
  let shutdownCalls = 0;
  const reg = await register({
    ...base,
    adminUrl: gw.adminUrl,
    service: 'users',
    routes: ['/api/v1/users'],
    port: app.port,
    instanceId: 'task-1',
    deployment: 'users:7',
    ttl: 30,
    onShutdown: () => void shutdownCalls++,
  });
  assert.equal(reg.state, 'registered');
  assert.equal(reg.gateway, 'gw');
  assert.equal(reg.target, app.address);
  const target = await gw.admin.call<TargetBody>('GET', `/upstreams/users.upstream/targets/${app.address}`);
  assert.deepEqual(target.body.tags.slice(0, 3), ['gw', 'gw-instance:task-1', 'gw-deployment:users:7']);
  assert.equal(target.body.ttl, 30);
  assert.equal((await gw.admin.call<{ host: string }>('GET', '/services/users')).body.host, 'users.upstream');
  const r = await request(gw.proxyUrl + '/api/v1/users/42');
  assert.equal(r.statusCode, 200);
  assert.equal(((await r.body.json()) as { url: string }).url, '/42');

  await Promise.all([reg.close(), reg.close()]);
  assert.equal(reg.state, 'deregistered');
  assert.equal(shutdownCalls, 1);
  assert.equal((await gw.admin.call('GET', `/upstreams/users.upstream/targets/${app.address}`)).status, 404);
  // shared objects stay
  assert.equal((await gw.admin.call('GET', '/services/users')).status, 200);
  assert.equal((await gw.admin.call('GET', '/upstreams/users.upstream')).status, 200);
});

test('20 instances registering at once make one service, one route, one upstream and 20 targets', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  const regs = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      register({ ...base, adminUrl: gw.adminUrl, service: 'orders', routes: ['/orders'], port: 10_000 + i, instanceId: `task-${i}` }),
    ),
  );
  t.after(() => Promise.all(regs.map((r) => r.close())));
  assert.ok(regs.every((r) => r.state === 'registered'));
  assert.equal((await gw.admin.call<{ data: unknown[] }>('GET', '/services')).body.data.length, 1);
  assert.equal((await gw.admin.call<{ data: unknown[] }>('GET', '/routes')).body.data.length, 1);
  assert.equal((await gw.admin.call<{ data: unknown[] }>('GET', '/upstreams')).body.data.length, 1);
  assert.equal((await gw.admin.call<{ data: unknown[] }>('GET', '/upstreams/orders.upstream/targets')).body.data.length, 20);
});

test('a stale target left at the same address by another instance is replaced', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  await gw.admin.call('PUT', '/upstreams/pay.upstream', {});
  await gw.admin.call('PUT', '/upstreams/pay.upstream/targets/127.0.0.1:4000', { tags: ['gw', 'gw-instance:old-task'] });
  const reg = await register({ ...base, adminUrl: gw.adminUrl, service: 'pay', port: 4000, instanceId: 'new-task' });
  t.after(() => reg.close());
  const tg = await gw.admin.call<TargetBody>('GET', '/upstreams/pay.upstream/targets/127.0.0.1:4000');
  assert.ok(tg.body.tags.includes('gw-instance:new-task'));
  assert.ok(!tg.body.tags.includes('gw-instance:old-task'));
});

test('against a Kong-only gateway no ttl is sent', async (t) => {
  const gw = await startTestGateway({ kongOnly: true });
  t.after(() => gw.close(0));
  const reg = await register({ ...base, adminUrl: gw.adminUrl, service: 'legacy', port: 5000, drainDelay: 10 });
  assert.equal(reg.gateway, 'kong');
  const tg = await gw.admin.call<TargetBody>('GET', '/upstreams/legacy.upstream/targets/127.0.0.1:5000');
  assert.equal(tg.status, 200);
  assert.equal('ttl' in tg.body, false);
  await reg.close();
  assert.equal((await gw.admin.call('GET', '/upstreams/legacy.upstream/targets/127.0.0.1:5000')).status, 404);
});

test('bad options are refused naming them; an unreachable gateway rejects after registerTimeout', async () => {
  await assert.rejects(register({ ...base, adminUrl: 'not a url', service: 'x', port: 0 } as never), /adminUrl.*port|port.*adminUrl/s);
  await assert.rejects(
    register({ ...base, adminUrl: 'http://127.0.0.1:1', service: 'x', port: 1, colour: 'red' } as never),
    /unknown option\(s\) colour/,
  );
  const port = await deadPort();
  const started = Date.now();
  await assert.rejects(
    register({ ...base, adminUrl: `http://127.0.0.1:${port}`, service: 'x', port: 1, registerTimeout: 500 }),
    /could not register x within 500 ms/,
  );
  assert.ok(Date.now() - started < 10_000);
});

test('background: true returns at once and registers when the gateway appears', async (t) => {
  const adminPort = await deadPort();
  const reg = await register({ ...base, adminUrl: `http://127.0.0.1:${adminPort}`, service: 'late', port: 6000, background: true });
  assert.equal(reg.state, 'registering');
  const gw = await startTestGateway({ adminListen: `127.0.0.1:${adminPort}` });
  t.after(async () => {
    await reg.close();
    await gw.close(0);
  });
  await waitFor(() => reg.state === 'registered', 15_000, 'background registration');
  assert.equal((await gw.admin.call('GET', '/upstreams/late.upstream/targets/127.0.0.1:6000')).status, 200);
});
