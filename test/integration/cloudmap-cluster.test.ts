// Cloud Map discovery in cluster mode (issue 15): two gateway nodes on one
// real PostgreSQL (a database of its own, dropped after), both configured for
// the same namespace. Only the node holding the advisory lock polls (counted
// at the local Cloud Map server); the other routes what it wrote through the
// change feed, and takes over when the poller stops.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { PostgresStore } from '../../gateway/src/store/postgres.js';
import { startCloudMapServer } from '../helpers/cloud-map-server.js';
import { startTestGateway } from '../helpers/gateway.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { startUpstream, waitFor } from '../helpers/upstream.js';

process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKEFAKEFAKEFAKE';
process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
delete process.env.AWS_PROFILE;

const NS = 'internal.local';

async function status(url: string): Promise<number> {
  const r = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 });
  await r.body.text();
  return r.statusCode;
}

test('cluster mode: of two nodes only one polls Cloud Map; both route; the other takes over when it stops', async (t) => {
  const db = await createTestDatabase();
  const cm = await startCloudMapServer();
  const a1 = await startUpstream('a1');
  const a2 = await startUpstream('a2');
  const nodes: Awaited<ReturnType<typeof startTestGateway>>[] = [];
  // one hook, in order: the nodes, then what they used
  t.after(async () => {
    await Promise.all(nodes.map((n) => n.close(1000)));
    await cm.close();
    await a1.close();
    await a2.close();
    await db.drop();
  });
  const sids = ['s1', 's2', 's3'].map((name) => cm.addService({ name, namespace: NS }));
  cm.putInstance(sids[0]!, 'task-1', { AWS_INSTANCE_IPV4: '127.0.0.1', AWS_INSTANCE_PORT: String(a1.port) });
  const node = (id: string) =>
    startTestGateway({
      store: new PostgresStore({ url: db.url, pollMs: 200, backoffMs: [50, 250], queryTimeoutMs: 2000 }),
      nodeId: id,
      cloudMap: { namespaces: [NS], region: 'eu-west-1', endpoint: cm.endpoint, intervalMs: 200, minDrainMs: 300 },
    });
  nodes.push(...(await Promise.all([node('node-a'), node('node-b')])));
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  await waitFor(() => a.cloudMap!.stats.polling !== b.cloudMap!.stats.polling, 10_000, 'one poller');
  const [poller, follower] = a.cloudMap!.stats.polling ? [a, b] : [b, a];
  // a service made once, by hand, on the follower: it routes what the poller writes
  assert.equal((await follower.admin.call('PUT', '/services/s1', { host: `s1.${NS}`, retries: 0 })).status, 200);
  assert.equal((await follower.admin.call('PUT', '/services/s1/routes/s1', { paths: ['/s1'] })).status, 200);
  for (const n of nodes) await waitFor(async () => (await status(`${n.proxyUrl}/s1`)) === 200, 10_000, `routed through ${n.nodeId}`);

  // steady state: count the calls over a window; one node's worth (4 calls per 200 ms poll), not two
  const revCalls = () => cm.count('DiscoverInstancesRevision');
  const from = revCalls();
  const pollsFrom = poller.cloudMap!.stats.polls;
  await new Promise((r) => setTimeout(r, 2000));
  const calls = revCalls() - from;
  const polls = poller.cloudMap!.stats.polls - pollsFrom;
  // a poll straddling either end of the window: ±1 poll
  assert.ok(
    calls >= (polls - 1) * 3 && calls <= (polls + 1) * 3,
    `every revision call came from the poller (${calls} calls, ${polls} polls)`,
  );
  assert.ok(polls >= 3, `the poller kept polling (${polls} polls in 2 s)`);
  assert.equal(follower.cloudMap!.stats.polls, 0, 'the follower never polled');
  assert.equal(follower.cloudMap!.stats.calls.size, 0, 'the follower made no AWS call');
  const m = await (await fetch(`${follower.adminUrl}/metrics`)).text();
  assert.match(m, /gw_cloudmap_polling 0/);

  // the poller stops (its session lock goes with it): the follower takes over and sees a new instance
  await poller.close(1000);
  cm.putInstance(sids[0]!, 'task-2', { AWS_INSTANCE_IPV4: '127.0.0.1', AWS_INSTANCE_PORT: String(a2.port) });
  await waitFor(() => follower.cloudMap!.stats.polling, 10_000, 'the follower to take over');
  await waitFor(
    () => {
      const u = follower.store.getByName('upstreams', `s1.${NS}`);
      return u !== undefined && follower.store.targetsOf(u.id).length === 2;
    },
    10_000,
    'the new instance written by the new poller',
  );
  const before = a2.count;
  await waitFor(
    async () => {
      await status(`${follower.proxyUrl}/s1`);
      return a2.count > before;
    },
    10_000,
    'the new instance to get traffic',
  );
});
