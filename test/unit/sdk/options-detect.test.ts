import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { detectIdentity } from '../../../sdk/src/detect.js';
import { resolveOptions } from '../../../sdk/src/options.js';
import { routeName } from '../../../sdk/src/register.js';

test('options come from GW_* env, explicit options win, defaults fill the rest', () => {
  const o = resolveOptions(
    { service: 'users', port: 3000 },
    { GW_ADMIN_URL: 'http://gw:8001', GW_ROUTES: '/a, /b', GW_PORT: '9999', GW_TTL: '12' },
  );
  assert.equal(o.adminUrl, 'http://gw:8001');
  assert.deepEqual(o.routes, ['/a', '/b']);
  assert.equal(o.port, 3000);
  assert.equal(o.ttl, 12);
  assert.equal(o.weight, 100);
  assert.equal(o.upstream, 'users.upstream');
  assert.equal(o.shutdownTimeout, 25_000);
});

test('every bad option is named', () => {
  assert.throws(
    () => resolveOptions({ adminUrl: 'x', service: 'a b', port: 70000 }, {}),
    (err: Error) => /adminUrl/.test(err.message) && /service/.test(err.message) && /port/.test(err.message),
  );
  assert.throws(() => resolveOptions({ adminUrl: 'http://x', service: 's', port: 1, ttl: 0 }, {}), /ttl/);
});

test('route names are derived from service and path, so every instance upserts the same route', () => {
  assert.equal(routeName('users', '/api/v1/users'), 'users-api-v1-users');
  assert.equal(routeName('users', '/'), 'users-root');
});

test('ECS task metadata v4 gives the awsvpc IPv4, the task ARN and family:revision', async (t) => {
  // the documented shape of ${ECS_CONTAINER_METADATA_URI_V4}/task, trimmed to what gw reads
  const task = {
    Cluster: 'arn:aws:ecs:us-west-2:111122223333:cluster/default',
    TaskARN: 'arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c',
    Family: 'users',
    Revision: '7',
    Containers: [{ Name: 'app', Networks: [{ NetworkMode: 'awsvpc', IPv4Addresses: ['10.0.2.106'] }] }],
  };
  const server = createServer((req, res) => {
    if (req.url === '/v4/abc/task') res.end(JSON.stringify(task));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v4/abc`;
  const id = await detectIdentity({}, { ECS_CONTAINER_METADATA_URI_V4: uri });
  assert.deepEqual(id, { host: '10.0.2.106', instanceId: task.TaskARN, deployment: 'users:7' });
  const overridden = await detectIdentity({ host: '127.9.9.9' }, { ECS_CONTAINER_METADATA_URI_V4: uri });
  assert.equal(overridden.host, '127.9.9.9');
});

test('without ECS metadata the host comes from the option or the first non-internal IPv4', async () => {
  const id = await detectIdentity({ host: '192.0.2.1' }, {});
  assert.equal(id.host, '192.0.2.1');
  assert.equal(id.deployment, 'default');
  assert.match(id.instanceId, /-\d+-[0-9a-f]{6}$/);
});
