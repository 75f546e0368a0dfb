/**
 * `gw-agent run --backend cloudmap`: the real binary against a local Cloud
 * Map speaking the AWS JSON 1.1 protocol (test/helpers/cloud-map-server.ts).
 * Fake static credentials in the env; the endpoint override keeps every
 * request on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCloudMapServer } from '../helpers/cloud-map-server.js';
import { waitFor } from '../helpers/upstream.js';
import { ANY_CONTROL_PORT, controlUrl, getJson, runAgent, startAgent, startTestApp } from './agent-helpers.js';

const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
  AWS_SECRET_ACCESS_KEY: 'fake-secret',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_PROFILE: undefined,
  AWS_REGION: undefined,
  AWS_DEFAULT_REGION: undefined,
};

test('gw-agent run --backend cloudmap: waits for the app, registers the instance, follows its health, SIGTERM marks it UNHEALTHY, deregisters, exit 0', async (t) => {
  const cm = await startCloudMapServer();
  const sid = cm.addService({ customHealth: true });
  const app = await startTestApp('a', { healthStatus: 503 });
  const agent = startAgent(
    [
      'run',
      '--backend',
      'cloudmap',
      '--cloudmap-service-id',
      sid,
      '--aws-region',
      'eu-west-1',
      '--cloudmap-endpoint',
      cm.endpoint,
      '--service',
      'hello',
      '--route',
      '/hello',
      '--port',
      String(app.port),
      '--host',
      '127.0.0.1',
      '--health-path',
      '/health',
      '--health-interval',
      '200ms',
      '--control-listen',
      ANY_CONTROL_PORT,
      '--instance-id',
      'sidecar-cm',
      '--deployment',
      'v1',
    ],
    AWS_ENV,
  );
  t.after(async () => {
    agent.kill();
    await app.close();
    await cm.close();
  });
  const control = await controlUrl(agent);

  await waitFor(async () => (await getJson(control))?.body.state === 'waiting-for-app', 20_000, 'sidecar waiting for the app');
  assert.equal(cm.calls.length, 0, 'nothing registered before the app is ready');
  app.healthStatus = 200;
  await waitFor(() => cm.instance(sid, 'sidecar-cm') !== undefined, 20_000, 'registration in Cloud Map');
  assert.deepEqual(cm.instance(sid, 'sidecar-cm')!.attributes, {
    AWS_INSTANCE_IPV4: '127.0.0.1',
    AWS_INSTANCE_PORT: String(app.port),
    GW_SERVICE: 'hello',
    GW_ROUTES: '/hello',
    GW_WEIGHT: '100',
    GW_DEPLOYMENT: 'v1',
    GW_INSTANCE: 'sidecar-cm',
  });
  await waitFor(async () => (await getJson(`${control}/ready`))?.status === 200, 10_000, '/ready 200');
  const state = (await getJson(control))!.body;
  assert.equal(state.state, 'registered');
  assert.equal(state.gateway, 'cloudmap');
  assert.equal(state.upstream, sid);
  assert.equal(state.target, `127.0.0.1:${app.port}`);

  // the app fails its health check: weight 0 and UNHEALTHY; recovers: back
  app.healthStatus = 500;
  await waitFor(() => cm.instance(sid, 'sidecar-cm')?.health === 'UNHEALTHY', 10_000, 'marked down');
  assert.equal(cm.instance(sid, 'sidecar-cm')?.attributes.GW_WEIGHT, '0');
  app.healthStatus = 200;
  // marking up re-registers (which resets custom health) and then sets HEALTHY: wait for the last step
  await waitFor(
    () => cm.calls.some((c) => c.operation === 'UpdateInstanceCustomHealthStatus' && c.body.Status === 'HEALTHY'),
    10_000,
    'marked up',
  );
  assert.equal(cm.instance(sid, 'sidecar-cm')?.health, 'HEALTHY');
  assert.equal(cm.instance(sid, 'sidecar-cm')?.attributes.GW_WEIGHT, '100');

  const before = cm.calls.length;
  agent.kill('SIGTERM');
  assert.equal(await agent.exited, 0, agent.stderr);
  assert.equal(cm.instance(sid, 'sidecar-cm'), undefined, 'deregistered');
  const last = cm.calls.slice(before).map((c) => `${c.operation}${c.body.Status ? ` ${c.body.Status as string}` : ''}`);
  assert.deepEqual(last, ['RegisterInstance', 'UpdateInstanceCustomHealthStatus UNHEALTHY', 'DeregisterInstance']);
  for (const c of cm.calls)
    assert.match(
      String(c.headers.authorization),
      /^AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKEFAKE\/\d{8}\/eu-west-1\/servicediscovery\//,
    );
});

test('gw-agent run --backend cloudmap: usage errors name the flag and exit 2', async () => {
  const common = ['run', '--backend', 'cloudmap', '--service', 'hello', '--port', '3000', '--host', '127.0.0.1'];
  const noId = await runAgent(common, AWS_ENV);
  assert.equal(noId.code, 2, noId.stderr);
  assert.match(noId.stderr, /--cloudmap-service-id: required with --backend cloudmap \(or set GW_CLOUDMAP_SERVICE_ID\)/);
  const noRegion = await runAgent([...common, '--cloudmap-service-id', 'srv-1'], AWS_ENV);
  assert.equal(noRegion.code, 2, noRegion.stderr);
  assert.match(noRegion.stderr, /--aws-region: required/);
  const reap = await runAgent([...common, '--cloudmap-service-id', 'srv-1', '--aws-region', 'eu-west-1', '--reap-after', '1m'], AWS_ENV);
  assert.equal(reap.code, 2, reap.stderr);
  assert.match(reap.stderr, /--reap-after cannot be used with --backend cloudmap/);
  const kongNoUrl = await runAgent(['run', '--service', 'hello', '--port', '3000'], AWS_ENV);
  assert.equal(kongNoUrl.code, 2, kongNoUrl.stderr);
  assert.match(kongNoUrl.stderr, /--admin-url: required \(or set GW_ADMIN_URL\)/);
});

test('gw-agent run --backend cloudmap with an unknown service id exits 1 with a clear message', async (t) => {
  const cm = await startCloudMapServer();
  t.after(() => cm.close());
  const r = await runAgent(
    [
      'run',
      '--backend',
      'cloudmap',
      '--cloudmap-service-id',
      'srv-missing',
      '--cloudmap-endpoint',
      cm.endpoint,
      '--service',
      'hello',
      '--port',
      '3000',
      '--host',
      '127.0.0.1',
      '--control-listen',
      ANY_CONTROL_PORT,
    ],
    { ...AWS_ENV, AWS_REGION: 'eu-west-1' },
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /Cloud Map service srv-missing does not exist/);
});
