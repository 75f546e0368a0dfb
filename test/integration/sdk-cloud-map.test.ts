/**
 * register({ backend: 'cloudmap' }) against a local Cloud Map speaking the
 * real AWS JSON 1.1 protocol (test/helpers/cloud-map-server.ts), through the
 * real ServiceDiscoveryClient. Nothing here can reach AWS: every client is
 * pointed at 127.0.0.1 and uses static fake credentials.
 */
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloudMapInstanceId } from '../../sdk/src/cloud-map.js';
import { GwSdkError } from '../../sdk/src/errors.js';
import { resolveOptions, type RegisterOptions } from '../../sdk/src/options.js';
import { register, type Registration } from '../../sdk/src/register.js';
import { startCloudMapServer, type CloudMapServer } from '../helpers/cloud-map-server.js';
import { waitFor } from '../helpers/upstream.js';

// the default credential chain (used when no client is given) finds these first; never IMDS
process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKEFAKEFAKEFAKE';
process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
delete process.env.AWS_PROFILE;

const base = (cm: CloudMapServer, serviceId: string, extra: Partial<RegisterOptions> = {}): Partial<RegisterOptions> => ({
  backend: 'cloudmap',
  cloudMap: { serviceId, region: 'eu-west-1', endpoint: cm.endpoint },
  service: 'users',
  routes: ['/api/v1/users', '/api/v2/users'],
  port: 3000,
  host: '10.0.2.106',
  instanceId: 'users-a',
  deployment: 'users:7',
  handleSignals: false,
  drainDelay: 300,
  onShutdown: () => undefined,
  ...extra,
});

/** A fake Cloud Map for one test; registrations passed to `own` are closed before it stops. */
async function fakeCloudMap(t: {
  after: (fn: () => Promise<void>) => void;
}): Promise<CloudMapServer & { own(reg: Registration): Registration }> {
  const cm = await startCloudMapServer();
  const regs: Registration[] = [];
  t.after(async () => {
    await Promise.all(regs.map((r) => r.close()));
    await cm.close();
  });
  return Object.assign(cm, { own: (reg: Registration) => (regs.push(reg), reg) });
}

test('register: RegisterInstance with IPv4, port and the gw attributes, over the AWS JSON 1.1 protocol, signed', async (t) => {
  const cm = await fakeCloudMap(t);
  const sid = cm.addService({ customHealth: true });
  const reg = cm.own(await register(base(cm, sid)));
  assert.equal(reg.state, 'registered');
  assert.equal(reg.gateway, 'cloudmap');
  assert.equal(reg.target, '10.0.2.106:3000');
  assert.equal(reg.upstream, sid);
  assert.equal(reg.instanceId, 'users-a');
  assert.deepEqual(cm.instance(sid, 'users-a')?.attributes, {
    AWS_INSTANCE_IPV4: '10.0.2.106',
    AWS_INSTANCE_PORT: '3000',
    GW_SERVICE: 'users',
    GW_ROUTES: '/api/v1/users,/api/v2/users',
    GW_WEIGHT: '100',
    GW_DEPLOYMENT: 'users:7',
    GW_INSTANCE: 'users-a',
  });
  const call = cm.calls.find((c) => c.operation === 'RegisterInstance')!;
  assert.equal(call.headers['x-amz-target'], 'Route53AutoNaming_v20170314.RegisterInstance');
  assert.match(String(call.headers['content-type']), /application\/x-amz-json-1\.1/);
  assert.match(
    String(call.headers.authorization),
    /^AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKEFAKE\/\d{8}\/eu-west-1\/servicediscovery\/aws4_request/,
  );
  assert.equal(call.headers.host, new URL(cm.endpoint).host, 'disableHostPrefix: the endpoint override is used as is');
  assert.equal(call.body.ServiceId, sid);
});

test('close(): weight 0 and custom health UNHEALTHY, drainDelay, then DeregisterInstance, then onShutdown; idempotent', async (t) => {
  const cm = await fakeCloudMap(t);
  const sid = cm.addService({ customHealth: true });
  let shutdownAt = 0;
  const reg = await register(base(cm, sid, { onShutdown: () => void (shutdownAt = Date.now()) }));
  assert.equal(cm.instance(sid, 'users-a')?.health, 'HEALTHY');
  const started = Date.now();
  const closing = reg.close();
  assert.equal(reg.close(), closing, 'close() is idempotent');
  await waitFor(() => cm.instance(sid, 'users-a')?.health === 'UNHEALTHY', 10_000, 'custom health UNHEALTHY while draining');
  assert.equal(cm.instance(sid, 'users-a')?.attributes.GW_WEIGHT, '0');
  assert.equal(reg.state, 'draining');
  await closing;
  assert.ok(Date.now() - started >= 300, 'waited drainDelay');
  assert.equal(cm.instance(sid, 'users-a'), undefined, 'deregistered');
  assert.equal(reg.state, 'deregistered');
  assert.ok(shutdownAt > 0, 'onShutdown ran');
  const ops = cm.operations();
  const unhealthy = cm.calls.findIndex((c) => c.operation === 'UpdateInstanceCustomHealthStatus' && c.body.Status === 'UNHEALTHY');
  assert.ok(unhealthy >= 0 && unhealthy < ops.indexOf('DeregisterInstance'), `UNHEALTHY before DeregisterInstance: ${ops.join(', ')}`);
  assert.equal(ops.filter((o) => o === 'DeregisterInstance').length, 1);
});

test('close() on a service without custom health: CustomHealthNotFound is skipped, the instance is deregistered', async (t) => {
  const cm = await fakeCloudMap(t);
  const sid = cm.addService({ customHealth: false });
  const reg = await register(base(cm, sid));
  await reg.close();
  assert.equal(cm.instance(sid, 'users-a'), undefined);
  assert.equal(reg.state, 'deregistered');
  assert.deepEqual(cm.operations(), ['RegisterInstance', 'RegisterInstance', 'UpdateInstanceCustomHealthStatus', 'DeregisterInstance']);
});

test('an unknown service id rejects at once with GW_ERR_SDK_CLOUD_MAP_UNKNOWN_SERVICE naming the service', async (t) => {
  const cm = await fakeCloudMap(t);
  const started = Date.now();
  await assert.rejects(
    register(base(cm, 'srv-doesnotexist', { registerTimeout: 20_000 })),
    (err: unknown) =>
      err instanceof GwSdkError &&
      err.code === 'GW_ERR_SDK_CLOUD_MAP_UNKNOWN_SERVICE' &&
      /srv-doesnotexist/.test(err.message) &&
      /GW_CLOUDMAP_SERVICE_ID/.test(err.message),
  );
  assert.ok(Date.now() - started < 10_000, 'not retried until registerTimeout');
});

test('an unreachable Cloud Map is retried until registerTimeout, then rejects clearly', async (t) => {
  const cm = await fakeCloudMap(t);
  const endpoint = cm.endpoint;
  await cm.close();
  await assert.rejects(
    register({ ...base(cm, 'srv-x', { registerTimeout: 1500 }), cloudMap: { serviceId: 'srv-x', region: 'eu-west-1', endpoint } }),
    /could not register users in Cloud Map service srv-x within 1500 ms/,
  );
});

test('keep-alive: an instance that vanished from Cloud Map is registered again', async (t) => {
  const cm = await fakeCloudMap(t);
  const sid = cm.addService();
  const reg = cm.own(
    await register(base(cm, sid, { cloudMap: { serviceId: sid, region: 'eu-west-1', endpoint: cm.endpoint, checkInterval: 100 } })),
  );
  await waitFor(() => cm.operations().includes('GetInstance'), 10_000, 'a keep-alive check');
  cm.services.get(sid)!.instances.clear();
  await waitFor(() => cm.instance(sid, 'users-a') !== undefined, 10_000, 're-registration');
  assert.equal(cm.instance(sid, 'users-a')?.attributes.AWS_INSTANCE_PORT, '3000');
  assert.equal(reg.state, 'registered');
});

test('setAvailable(false/true) and drain(): weight attribute and custom health follow; drain keeps the instance until close()', async (t) => {
  const cm = await fakeCloudMap(t);
  const sid = cm.addService({ customHealth: true });
  const reg = await register(base(cm, sid));
  await reg.setAvailable(false);
  assert.equal(cm.instance(sid, 'users-a')?.attributes.GW_WEIGHT, '0');
  assert.equal(cm.instance(sid, 'users-a')?.health, 'UNHEALTHY');
  assert.equal(reg.available, false);
  await reg.setAvailable(true);
  assert.equal(cm.instance(sid, 'users-a')?.attributes.GW_WEIGHT, '100');
  assert.equal(cm.instance(sid, 'users-a')?.health, 'HEALTHY');
  const progress: number[] = [];
  const r = await reg.drain({ timeoutMs: 5000, onProgress: (p) => progress.push(p.targetsLeft) });
  assert.equal(r.drained, true);
  assert.deepEqual(r.targets, ['10.0.2.106:3000']);
  assert.equal(progress.at(-1), 0);
  assert.equal(cm.instance(sid, 'users-a')?.health, 'UNHEALTHY');
  assert.equal(reg.state, 'registered', 'drain() does not deregister');
  await reg.close();
  assert.equal(cm.instance(sid, 'users-a'), undefined);
});

test('an injected ServiceDiscoveryClient is used; an ECS task ARN becomes the task id (InstanceId is at most 64 characters)', async (t) => {
  const cm = await fakeCloudMap(t);
  const sid = cm.addService();
  const client = new ServiceDiscoveryClient({
    region: 'us-east-1',
    endpoint: cm.endpoint,
    disableHostPrefix: true,
    credentials: { accessKeyId: 'AKIAINJECTED', secretAccessKey: 'x' },
  });
  t.after(() => client.destroy());
  const arn = 'arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c';
  const reg = cm.own(await register(base(cm, sid, { cloudMap: { serviceId: sid, client }, instanceId: arn })));
  assert.equal(reg.instanceId, arn);
  const inst = cm.instance(sid, '158d1c8083dd49d6b527399fd6414f5c');
  assert.ok(inst, 'registered under the task id');
  assert.equal(inst.attributes.GW_INSTANCE, arn);
  assert.match(String(cm.calls[0]!.headers.authorization), /Credential=AKIAINJECTED\//);
  assert.equal(cloudMapInstanceId('x'.repeat(100)).length, 64);
  assert.equal(cloudMapInstanceId('a b'), 'a-b');
});

test('options: backend cloudmap needs cloudMap.serviceId and a region, not adminUrl; env fills them; what Cloud Map cannot carry is refused', () => {
  const env = {
    GW_BACKEND: 'cloudmap',
    GW_CLOUDMAP_SERVICE_ID: 'srv-env',
    AWS_REGION: 'eu-central-1',
    GW_CLOUDMAP_ENDPOINT: 'http://127.0.0.1:1',
  };
  const o = resolveOptions({ service: 'users', port: 3000 }, env);
  assert.equal(o.backend, 'cloudmap');
  assert.equal(o.adminUrl, undefined);
  assert.deepEqual(
    { ...o.cloudMap },
    { serviceId: 'srv-env', region: 'eu-central-1', endpoint: 'http://127.0.0.1:1', checkInterval: 10_000 },
  );
  assert.equal(
    resolveOptions({ service: 'users', port: 3000, cloudMap: { serviceId: 'srv-mine' } }, { ...env, GW_AWS_REGION: 'us-east-2' }).cloudMap
      ?.region,
    'us-east-2',
    'GW_AWS_REGION before AWS_REGION',
  );
  assert.equal(
    resolveOptions({ service: 'users', port: 3000, cloudMap: { serviceId: 'srv-mine' } }, env).cloudMap?.serviceId,
    'srv-mine',
    'explicit wins over env',
  );
  assert.throws(
    () => resolveOptions({ backend: 'cloudmap', service: 'users', port: 3000 }, {}),
    (err: Error) =>
      /cloudMap\.serviceId: required/.test(err.message) && /cloudMap\.region: required/.test(err.message) && !/adminUrl/.test(err.message),
  );
  assert.throws(() => resolveOptions({ service: 'users', port: 3000 }, {}), /adminUrl: Required/);
  assert.throws(
    () => resolveOptions({ service: 'users', port: 3000, mode: 'blue-green', upstream: 'u' }, env),
    (err: Error) =>
      /mode: blue-green needs backend kong/.test(err.message) && /upstream: backend cloudmap has no upstreams/.test(err.message),
  );
  assert.throws(
    () => resolveOptions({ service: 'users', port: 3000, routes: [{ paths: ['/a'] }] }, env),
    /routes: backend cloudmap takes paths only/,
  );
  assert.throws(
    () =>
      resolveOptions(
        { service: 'users', port: 3000, routes: Array.from({ length: 60 }, (_, i) => `/a-rather-long-path/number/${i}`) },
        env,
      ),
    /routes: .*1024-character attribute limit/,
  );
  assert.throws(
    () => resolveOptions({ service: 'users', port: 3000, cloudMap: { serviceId: 'srv-1', region: 'nowhere' } }, {}),
    /cloudMap\.region: an AWS region/,
  );
  assert.throws(() => resolveOptions({ backend: 'nope' as 'kong', adminUrl: 'http://x', service: 'users', port: 3000 }, {}), /backend/);
});

test('a host that is not an IPv4 address is refused clearly (AWS_INSTANCE_IPV4)', async (t) => {
  const cm = await fakeCloudMap(t);
  const sid = cm.addService();
  await assert.rejects(
    register(base(cm, sid, { host: 'app.internal' })),
    (err: unknown) => err instanceof GwSdkError && err.code === 'GW_ERR_SDK_CLOUD_MAP_ATTRIBUTE' && /IPv4/.test(err.message),
  );
  assert.equal(cm.calls.length, 0);
});
