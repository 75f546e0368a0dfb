/**
 * The dashboard's event stream without a browser: who may read it, what a
 * snapshot and a diff carry, one shared update for every stream, a client
 * that stops reading is dropped while the others go on, and the transitions
 * feed names lease expiries.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startTestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/upstream.js';

interface Event {
  event: string;
  data: Record<string, unknown>;
}

/** Read `/dashboard/events` with fetch(), as the page does; events parsed as they come. */
async function openStream(url: string, token?: string) {
  const ctrl = new AbortController();
  const res = await fetch(`${url}/dashboard/events`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: ctrl.signal });
  const events: Event[] = [];
  const s = { status: res.status, events, bytes: 0, close: () => ctrl.abort(), text: '' };
  if (res.status !== 200) {
    s.text = await res.text();
    return s;
  }
  void (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        s.bytes += chunk.byteLength;
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const name = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (data !== undefined) events.push({ event: name, data: JSON.parse(data) as Record<string, unknown> });
        }
      }
    } catch {
      // aborted
    }
  })();
  return s;
}

test('who may read the stream: admin token yes; none, a wrong one or a registration token no; the page itself needs none', async (t) => {
  const gw = await startTestGateway({ adminToken: 'admin-token-1', registrationTokens: { users: 'users-registration-token' } });
  t.after(() => gw.close(0));
  const page = await fetch(`${gw.adminUrl}/dashboard`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
  assert.match(await page.text(), /<script src="\/dashboard\/app.js" defer>/);
  assert.equal((await fetch(`${gw.adminUrl}/dashboard/app.js`)).status, 200);
  assert.equal((await fetch(`${gw.adminUrl}/services`)).status, 401, 'the rest of the Admin API still needs the token');

  const none = await openStream(gw.adminUrl);
  assert.equal(none.status, 401);
  const wrong = await openStream(gw.adminUrl, 'nope');
  assert.equal(wrong.status, 401);
  const reg = await openStream(gw.adminUrl, 'users-registration-token');
  assert.equal(reg.status, 403);
  assert.match(reg.text, /needs the admin token/);
  const ok = await openStream(gw.adminUrl, 'admin-token-1');
  t.after(() => ok.close());
  assert.equal(ok.status, 200);
  await waitFor(() => ok.events[0]?.event === 'snapshot', 5_000, 'the snapshot');
  assert.equal(ok.events[0]!.data.read_only, false);
});

test('the status listener: read only; without an admin token only on a loopback address', async (t) => {
  const open = await startTestGateway({ statusListen: '0.0.0.0:0' });
  t.after(() => open.close(0));
  const port = new URL(open.statusUrl!).port;
  const refused = await openStream(`http://127.0.0.1:${port}`);
  assert.equal(refused.status, 403);
  assert.match(refused.text, /non-loopback --status-listen needs --admin-token/);
  // the admin listener is loopback (no token needed there, as for the whole Admin API)
  const admin = await openStream(open.adminUrl);
  t.after(() => admin.close());
  assert.equal(admin.status, 200);

  const local = await startTestGateway({ statusListen: '127.0.0.1:0' });
  t.after(() => local.close(0));
  const ro = await openStream(local.statusUrl!);
  t.after(() => ro.close());
  assert.equal(ro.status, 200);
  await waitFor(() => ro.events[0]?.event === 'snapshot', 5_000, 'the snapshot');
  assert.equal(ro.events[0]!.data.read_only, true);
  assert.equal((await fetch(`${local.statusUrl}/services`)).status, 404, 'no Admin API on the status listener');
});

test('snapshot then diffs: one update for every stream; a lease expiry reaches the feed; a client that stops reading is dropped', async (t) => {
  const gw = await startTestGateway({ leaseSweepMs: 100, dashboardSampleMs: 200 });
  t.after(() => gw.close(0));
  assert.equal((await gw.admin.call('PUT', '/upstreams/u.upstream', {})).status, 200);
  assert.equal((await gw.admin.call('PUT', '/services/u', { host: 'u.upstream' })).status, 200);
  const a = await openStream(gw.adminUrl);
  const b = await openStream(gw.adminUrl);
  t.after(() => {
    a.close();
    b.close();
  });
  await waitFor(() => a.events.length > 0 && b.events.length > 0, 5_000, 'both snapshots');
  const snap = a.events[0]!.data as { entities: Record<string, { name?: string; mode?: string }> };
  assert.ok(Object.values(snap.entities).some((e) => e.name === 'u' && e.mode === 'rolling'));

  const r = await gw.admin.call('POST', '/upstreams/u.upstream/targets', {
    target: '127.0.0.9:7000',
    ttl: 1,
    tags: ['gw-deployment:u%3A3'],
  });
  assert.equal(r.status, 201);
  const diffWith = (s: typeof a) =>
    s.events.find(
      (e) => e.event === 'diff' && JSON.stringify(e.data).includes('127.0.0.9:7000') && JSON.stringify(e.data).includes('"u:3"'),
    );
  await waitFor(() => diffWith(a) && diffWith(b), 5_000, 'the new target in a diff on both streams');
  assert.deepEqual(diffWith(a)!.data.set, diffWith(b)!.data.set, 'the same update on both streams');
  const feedKinds = (s: typeof a) =>
    s.events.filter((e) => e.event === 'feed').flatMap((e) => (e.data as unknown as { kind: string }[]).map((x) => x.kind));
  await waitFor(() => feedKinds(a).includes('lease-expired'), 10_000, 'the lease expiry in the feed');
  assert.ok(feedKinds(a).includes('registered'));
  assert.ok(!feedKinds(a).includes('removed'), 'an expired lease is reported as such, not as a plain removal');
  await waitFor(() => a.events.some((e) => e.event === 'diff' && (e.data.del as string[]).length > 0), 5_000, 'the removal in a diff');

  // a raw client that sends the request and never reads: its buffer grows until it is dropped
  const slow = connect(Number(new URL(gw.adminUrl).port), '127.0.0.1');
  t.after(() => slow.destroy());
  await new Promise<void>((res) => slow.once('connect', () => res()));
  slow.pause();
  slow.write('GET /dashboard/events HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => gw.dashboard.streams === 3, 5_000, 'the third stream');
  // big diffs: 3000 targets, every weight changed, round after round (bounded)
  const upstream = gw.store.getByName('upstreams', 'u.upstream')!;
  const now = gw.store.now();
  const targets = Array.from({ length: 3000 }, (_, i) => ({
    id: crypto.randomUUID(),
    upstream: { id: upstream.id },
    target: `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}:8000`,
    weight: 100,
    tags: ['gw', 'gw-instance:task-with-a-rather-long-instance-identifier-' + i, 'gw-deployment:u%3A4'],
    ttl: null,
    created_at: now,
    updated_at: now,
  }));
  for (let round = 0; round < 40 && gw.dashboard.stats.dropped === 0; round++) {
    await gw.store.apply(targets.map((x) => ({ op: 'put' as const, kind: 'targets' as const, entity: { ...x, weight: 1 + round } })));
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(gw.dashboard.stats.dropped, 1, 'the client that does not read was dropped');
  await waitFor(() => gw.dashboard.streams === 2, 5_000, 'the two reading streams remain');
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(text, /^gw_dashboard_dropped_streams_total 1$/m);
  assert.match(text, /^gw_dashboard_streams 2$/m);
  const before = a.events.length;
  await waitFor(() => a.events.length > before + 2, 5_000, 'the reading stream still gets updates');

  // a page opened now gets a snapshot larger than the bound (3,000 targets); reading it, it is not dropped
  const late = await openStream(gw.adminUrl);
  t.after(() => late.close());
  await waitFor(() => late.events.length >= 3, 10_000, 'the late stream: its snapshot and updates after it');
  assert.ok(late.bytes > 512 * 1024, `a snapshot of ${late.bytes} bytes`);
  assert.equal(gw.dashboard.stats.dropped, 1);
});

test('--kong-only: no dashboard (a gw extension; 404 as on Kong)', async (t) => {
  const gw = await startTestGateway({ kongOnly: true });
  t.after(() => gw.close(0));
  assert.equal((await fetch(`${gw.adminUrl}/dashboard`)).status, 404);
  assert.equal((await fetch(`${gw.adminUrl}/dashboard/events`)).status, 404);
});

test('rates: a target with traffic gets a per-second rate and a history in the snapshot; an idle target has neither', async (t) => {
  const { startUpstream } = await import('../helpers/upstream.js');
  const { request } = await import('undici');
  const gw = await startTestGateway({ dashboardSampleMs: 100 });
  const busy = await startUpstream('busy');
  const idle = await startUpstream('idle');
  t.after(async () => {
    await gw.close(0);
    await busy.close();
    await idle.close();
  });
  const a = gw.admin;
  for (const [name, u] of [
    ['busy', busy],
    ['idle', idle],
  ] as const) {
    assert.equal((await a.call('PUT', `/upstreams/${name}.up`, {})).status, 200);
    assert.equal((await a.call('POST', `/upstreams/${name}.up/targets`, { target: u.address })).status, 201);
    assert.equal((await a.call('PUT', `/services/${name}`, { host: `${name}.up` })).status, 200);
    assert.equal((await a.call('POST', `/services/${name}/routes`, { paths: [`/${name}`] })).status, 201);
  }
  const idOf = async (name: string) => (await a.call<{ data: { id: string }[] }>('GET', `/upstreams/${name}.up/targets`)).body.data[0]!.id;
  const busyId = await idOf('busy');
  const idleId = await idOf('idle');
  const s = await openStream(gw.adminUrl);
  t.after(() => s.close());
  let seenRate = false;
  for (let i = 0; i < 200 && !seenRate; i++) {
    const r = await request(`${gw.proxyUrl}/busy`);
    await r.body.dump();
    seenRate = s.events.some((e) => e.event === 'rates' && ((e.data.t as Record<string, [number, number]>)[busyId]?.[0] ?? 0) > 0);
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 50));
  }
  await waitFor(
    () => s.events.some((e) => e.event === 'rates' && ((e.data.t as Record<string, [number, number]>)[busyId]?.[0] ?? 0) > 0),
    10_000,
    'a rate for the busy target',
  );
  assert.ok(
    s.events.every((e) => e.event !== 'rates' || (e.data.t as Record<string, unknown>)[idleId] === undefined),
    'no rate for the idle target',
  );
  const later = await openStream(gw.adminUrl);
  t.after(() => later.close());
  await waitFor(() => later.events[0]?.event === 'snapshot', 5_000, 'a second snapshot');
  const history = later.events[0]!.data.history as { t: Record<string, [number, number][]> };
  assert.ok(
    (history.t[busyId] ?? []).some(([r]) => r > 0),
    'the busy target has a history with traffic',
  );
  assert.equal(history.t[idleId], undefined, 'the idle target has no history');
});
