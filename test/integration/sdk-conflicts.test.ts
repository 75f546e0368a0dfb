import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
import { register, type Registration } from '../../sdk/src/index.js';
import { startTestGateway } from '../helpers/gateway.js';
import { capturedLogger } from '../helpers/log.js';

const silent = pino({ level: 'silent' });
const base = { handleSignals: false, logger: silent, host: '127.0.0.1', onShutdown: () => undefined };

interface Entity {
  algorithm?: string;
  strip_path?: boolean;
  retries?: number;
  tags: string[];
  updated_at: number;
}

/** What each deployment declares; they disagree on every setting. */
const declared = {
  v1: {
    upstreamSettings: { algorithm: 'least-connections' },
    serviceSettings: { retries: 7 },
    routes: [{ paths: ['/inv'], strip_path: false }],
  },
  v2: { upstreamSettings: { algorithm: 'round-robin' }, serviceSettings: { retries: 2 }, routes: [{ paths: ['/inv'], strip_path: true }] },
};

test("newest deployment wins: two deployments registering at the same time with different settings end with the newer one's, and old instances starting later change nothing", async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  const regs: Registration[] = [];
  t.after(() => Promise.all(regs.map((r) => r.close())));
  const common = { ...base, adminUrl: gw.adminUrl, service: 'inv' };
  const state = async () => ({
    upstream: (await gw.admin.call<Entity>('GET', '/upstreams/inv.upstream')).body,
    service: (await gw.admin.call<Entity>('GET', '/services/inv')).body,
    route: (await gw.admin.call<Entity>('GET', '/routes/inv-inv')).body,
  });

  // v1 is running (3 instances)
  regs.push(
    ...(await Promise.all(
      [0, 1, 2].map((i) => register({ ...common, ...declared.v1, port: 20_000 + i, instanceId: `v1-${i}`, deployment: 'v1' })),
    )),
  );
  let s = await state();
  assert.equal(s.upstream.algorithm, 'least-connections');
  assert.equal(s.service.retries, 7);
  assert.equal(s.route.strip_path, false);

  // a rolling deploy: v2 instances start while more v1 instances still start (ECS keeps replacing crashed ones), all at once
  const wave = await Promise.all(
    [0, 1, 2, 3, 4, 5].map((i) =>
      i % 2 === 0
        ? register({ ...common, ...declared.v2, port: 21_000 + i, instanceId: `v2-${i}`, deployment: 'v2' })
        : register({ ...common, ...declared.v1, port: 22_000 + i, instanceId: `v1-late-${i}`, deployment: 'v1' }),
    ),
  );
  regs.push(...wave);
  s = await state();
  assert.equal(s.upstream.algorithm, 'round-robin');
  assert.equal(s.service.retries, 2);
  assert.equal(s.route.strip_path, true);
  for (const e of [s.upstream, s.service, s.route]) assert.ok(e.tags.includes('gw-deployment:v2'), e.tags.join(' '));
  assert.ok(
    s.service.tags.some((x) => x.startsWith('gw-seen:v1@')) && s.service.tags.some((x) => x.startsWith('gw-seen:v2@')),
    s.service.tags.join(' '),
  );
  assert.equal(
    (await gw.admin.call<{ data: unknown[] }>('GET', '/upstreams/inv.upstream/targets')).body.data.length,
    9,
    'both deployments serve from the one rolling upstream',
  );

  // later: another v1 instance (older deployment) and another v2 instance that disagrees with its own deployment; neither writes anything shared
  const before = await state();
  regs.push(await register({ ...common, ...declared.v1, port: 23_000, instanceId: 'v1-very-late', deployment: 'v1' }));
  regs.push(
    await register({
      ...common,
      upstreamSettings: { algorithm: 'latency' },
      serviceSettings: { retries: 9 },
      routes: [{ paths: ['/inv'], strip_path: false }],
      port: 23_001,
      instanceId: 'v2-odd',
      deployment: 'v2',
    }),
  );
  const after = await state();
  assert.deepEqual(after, before, 'no shared object changed (not even updated_at)');

  // the route still behaves as v2 declared: strip_path true
  const r = await request(gw.proxyUrl + '/inv/items');
  await r.body.dump(); // no app listens on these ports; the route matched if the answer is the proxy's 502/503, not 404
  assert.notEqual(r.statusCode, 404);

  // a third deployment takes over again
  regs.push(
    await register({
      ...common,
      upstreamSettings: { algorithm: 'latency' },
      routes: [{ paths: ['/inv'], strip_path: false }],
      port: 24_000,
      instanceId: 'v3-0',
      deployment: 'v3',
    }),
  );
  s = await state();
  assert.equal(s.upstream.algorithm, 'latency');
  assert.equal(s.route.strip_path, false);
  assert.equal(s.service.retries, 2, 'a field v3 does not declare keeps its value');
});

test('objects made by hand (no deployment stamp) are taken over by the first deployment, declared fields only', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  await gw.admin.call('PUT', '/upstreams/hand.upstream', { algorithm: 'least-connections', slots: 100, tags: ['team-a'] });
  const reg = await register({
    ...base,
    adminUrl: gw.adminUrl,
    service: 'hand',
    port: 25_000,
    deployment: 'd1',
    instanceId: 'i1',
    upstreamSettings: { algorithm: 'round-robin' },
  });
  t.after(() => reg.close());
  const up = (await gw.admin.call<Entity & { slots: number }>('GET', '/upstreams/hand.upstream')).body;
  assert.equal(up.algorithm, 'round-robin');
  assert.equal(up.slots, 100, 'undeclared fields are left as they were');
  assert.ok(up.tags.includes('team-a') && up.tags.includes('gw-deployment:d1'), up.tags.join(' '));
});

/** README's hand-made `users` service: host users-upstream, a route on /api/v1/users, an upstream with one target. */
async function handMade(gw: Awaited<ReturnType<typeof startTestGateway>>, upstreamPort: number): Promise<void> {
  assert.equal((await gw.admin.call('PUT', '/upstreams/users-upstream', {})).status, 200);
  assert.equal((await gw.admin.call('POST', '/upstreams/users-upstream/targets', { target: `127.0.0.1:${upstreamPort}` })).status, 201);
  assert.equal((await gw.admin.call('PUT', '/services/users', { host: 'users-upstream' })).status, 200);
  assert.equal((await gw.admin.call('PUT', '/services/users/routes/users-route', { paths: ['/api/v1/users'] })).status, 200);
}

test('taking over a hand-made service: one warning names the host change and the added route (with the hand-made route on the same path) and how to keep the upstream; upstream: adopts it', async (t) => {
  const gw = await startTestGateway();
  t.after(() => gw.close(0));
  await handMade(gw, 19_999);
  const { logger, lines } = capturedLogger();
  const reg = await register({
    ...base,
    logger,
    adminUrl: gw.adminUrl,
    service: 'users',
    routes: ['/api/v1/users'],
    port: 20_001,
    deployment: 'v1',
  });
  t.after(() => reg.close());
  const warns = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('took over the hand-made service users'));
  assert.equal(warns.length, 1, JSON.stringify(lines));
  assert.equal(warns[0]!.level, 40, 'warn');
  assert.deepEqual(warns[0]!.changes, [
    'service host users-upstream → users.upstream',
    'created upstream users.upstream',
    'added route users-api-v1-users (/api/v1/users); route users-route of the service already has that path',
  ]);
  assert.match(
    String(warns[0]!.msg),
    /to keep using upstream users-upstream, register with upstream: 'users-upstream' \(gw-agent run --upstream users-upstream, env GW_UPSTREAM\)/,
  );
  assert.equal((await gw.admin.call<{ host: string }>('GET', '/services/users')).body.host, 'users.upstream');
  // a second instance finds the service stamped: no warning again
  const again = await register({
    ...base,
    logger,
    adminUrl: gw.adminUrl,
    service: 'users',
    routes: ['/api/v1/users'],
    port: 20_002,
    deployment: 'v1',
  });
  t.after(() => again.close());
  assert.equal(lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('took over')).length, 1);

  // upstream: the hand-made one is adopted: the service's host stays, the hand-made target stays beside ours
  const gw2 = await startTestGateway();
  t.after(() => gw2.close(0));
  await handMade(gw2, 19_999);
  const c2 = capturedLogger();
  const adopt = await register({
    ...base,
    logger: c2.logger,
    adminUrl: gw2.adminUrl,
    service: 'users',
    upstream: 'users-upstream',
    routes: ['/api/v1/users'],
    port: 20_003,
    deployment: 'v1',
  });
  t.after(() => adopt.close());
  assert.equal(adopt.upstream, 'users-upstream');
  assert.equal((await gw2.admin.call<{ host: string }>('GET', '/services/users')).body.host, 'users-upstream');
  const targets = (await gw2.admin.call<{ data: { target: string }[] }>('GET', '/upstreams/users-upstream/targets')).body.data
    .map((x) => x.target)
    .sort();
  assert.deepEqual(targets, ['127.0.0.1:19999', '127.0.0.1:20003']);
  const w2 = c2.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('took over'));
  assert.deepEqual(w2?.changes, [
    'adopted the hand-made upstream users-upstream (tagged gw)',
    'added route users-api-v1-users (/api/v1/users); route users-route of the service already has that path',
  ]);
});
