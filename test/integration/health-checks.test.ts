/**
 * Health checks and circuit breaking end to end: a real gateway, scripted
 * upstream servers, real traffic.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startTestGateway } from '../helpers/gateway.js';
import { startUpstream, waitFor, type TestUpstream } from '../helpers/upstream.js';

let gw: Awaited<ReturnType<typeof startTestGateway>>;
const upstreams: TestUpstream[] = [];

before(async () => {
  gw = await startTestGateway({ healthTickMs: 25 });
});
after(async () => {
  await gw.close(500);
  await Promise.all(upstreams.map((u) => u.close()));
});

async function up(
  name: string,
  behave?: (req: IncomingMessage, res: ServerResponse, n: number) => void | 'default',
): Promise<TestUpstream> {
  const u = await startUpstream(name, behave);
  upstreams.push(u);
  return u;
}

/** upstream `<name>.up` with `fields`, its targets, a service and a route `/<name>` */
async function define(
  name: string,
  fields: Record<string, unknown>,
  targets: string[],
  service: Record<string, unknown> = {},
): Promise<void> {
  const a = gw.admin;
  assert.equal((await a.call('PUT', `/upstreams/${name}.up`, fields)).status, 200);
  for (const t of targets) assert.equal((await a.call('POST', `/upstreams/${name}.up/targets`, { target: t })).status, 201);
  assert.equal((await a.call('PUT', `/services/${name}`, { host: `${name}.up`, ...service })).status, 200);
  assert.equal((await a.call('POST', `/services/${name}/routes`, { name, paths: [`/${name}`] })).status, 201);
}

async function get(
  path: string,
): Promise<{ status: number; ms: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const t0 = performance.now();
  const r = await request(gw.proxyUrl + path);
  const text = await r.body.text();
  return { status: r.statusCode, ms: performance.now() - t0, headers: r.headers, text };
}

/** `count` GETs with `concurrency` workers; `during(i)` runs when request i starts. */
async function load(path: string, concurrency: number, count: number, during?: (i: number) => void | Promise<void>) {
  const results: { status: number; ms: number }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        await during?.(i);
        const r = await get(path);
        results.push({ status: r.status, ms: r.ms });
      }
    }),
  );
  return results;
}

interface HealthEntry {
  target: string;
  health: string;
  gw: { state: string; ejected_until: string | null };
}
async function health(name: string): Promise<Map<string, HealthEntry>> {
  const r = await gw.admin.call<{ data: HealthEntry[] }>('GET', `/upstreams/${name}.up/health`);
  return new Map(r.body.data.map((e) => [e.target, e]));
}
const stateOf = async (name: string, target: string) => (await health(name)).get(target)?.gw.state;

test('a target killed under load costs zero client errors and is ejected after its first failed try', async () => {
  const targets = [await up('k1'), await up('k2'), await up('k3')];
  await define(
    'kill',
    { healthchecks: { passive: { unhealthy: { tcp_failures: 1, timeouts: 1 } } } },
    targets.map((t) => t.address),
  );
  const results = await load('/kill', 8, 600, async (i) => {
    if (i === 200) await targets[0]!.close();
  });
  const failed = results.filter((r) => r.status !== 200);
  assert.deepEqual(failed, [], 'no client-visible failure');
  assert.equal(await stateOf('kill', targets[0]!.address), 'ejected');
  assert.equal((await health('kill')).get(targets[0]!.address)?.health, 'UNHEALTHY');
  assert.ok((await health('kill')).get(targets[0]!.address)?.gw.ejected_until, 'ejected_until is set');
});

test('passive only: an ejected target comes back through a half-open trial with no manual call', async () => {
  let broken = true;
  const bad = await up('hb', (_req, res) => {
    if (!broken) return 'default';
    res.statusCode = 500;
    res.end('boom');
  });
  const good = await up('hg');
  await define('halfopen', { healthchecks: { passive: { unhealthy: { http_failures: 2 } } }, gw: { breaker_cooldown: 1 } }, [
    bad.address,
    good.address,
  ]);
  await waitFor(
    async () => {
      await get('/halfopen');
      return (await stateOf('halfopen', bad.address)) === 'ejected';
    },
    10_000,
    'ejection',
  );
  broken = false;
  const before = bad.count;
  // traffic keeps flowing; after the 1 s cool-down one trial request closes the circuit
  await waitFor(
    async () => {
      await get('/halfopen');
      return (await stateOf('halfopen', bad.address)) === 'healthy' && bad.count > before + 1;
    },
    15_000,
    'half-open recovery',
  );
  const r = await load('/halfopen', 2, 20);
  assert.ok(r.every((x) => x.status === 200));
});

test('warming: a target added to an upstream with active checks gets no traffic before its first good probe', async () => {
  let ready = false;
  let proxied = 0;
  const first = await up('w1');
  await define(
    'warm',
    {
      healthchecks: {
        active: { http_path: '/ready', healthy: { interval: 0.2, successes: 1 }, unhealthy: { interval: 0.2, http_failures: 1 } },
      },
    },
    [first.address],
  );
  // every target added at run time warms, the first one too
  await waitFor(async () => (await stateOf('warm', first.address)) === 'healthy', 5_000, 'first target warmed up');
  const late = await up('w2', (req, res) => {
    if (req.url === '/ready') {
      res.statusCode = ready ? 200 : 503;
      res.end();
      return;
    }
    proxied++;
    return 'default';
  });
  assert.equal((await gw.admin.call('POST', '/upstreams/warm.up/targets', { target: late.address })).status, 201);
  await waitFor(async () => (await stateOf('warm', late.address)) !== undefined, 5_000, 'target in the health view');
  const r = await load('/warm', 4, 60);
  assert.ok(r.every((x) => x.status === 200));
  assert.equal(proxied, 0, 'no traffic before ready');
  assert.equal(await stateOf('warm', late.address), 'warming');
  const t0 = Date.now();
  ready = true;
  await waitFor(async () => (await stateOf('warm', late.address)) === 'healthy', 5_000, 'first good probe');
  const recoveredMs = Date.now() - t0;
  assert.ok(recoveredMs < 5_000);
  await load('/warm', 4, 40);
  assert.ok(proxied > 0, 'traffic once healthy');
});

test('active checks take a dead target out and bring it back when it answers again', async () => {
  let down = false;
  const flappy = await up('f1', (req, res) => {
    if (!down) return 'default';
    req.socket.destroy();
    void res;
  });
  const steady = await up('f2');
  await define(
    'active',
    {
      healthchecks: {
        active: { healthy: { interval: 0.2, successes: 2 }, unhealthy: { interval: 0.2, tcp_failures: 2, http_failures: 2, timeouts: 2 } },
      },
    },
    [flappy.address, steady.address],
  );
  await waitFor(async () => (await stateOf('active', flappy.address)) === 'healthy', 5_000, 'warmed up');
  down = true;
  await waitFor(async () => (await stateOf('active', flappy.address)) === 'unhealthy', 10_000, 'active ejection');
  const r = await load('/active', 4, 40);
  assert.ok(r.every((x) => x.status === 200));
  const t0 = Date.now();
  down = false;
  await waitFor(async () => (await stateOf('active', flappy.address)) === 'healthy', 10_000, 'active recovery');
  const ms = Date.now() - t0;
  console.log(`# active recovery after ${ms} ms (2 successes at 0.2 s)`);
});

test('all targets unhealthy: fail-closed answers 503 at once with the Kong message; fail-open routes anyway', async () => {
  const a = await up('a1');
  const b = await up('a2');
  await define('allbad', { healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } }, [a.address, b.address]);
  for (const t of [a, b]) assert.equal((await gw.admin.call('PUT', `/upstreams/allbad.up/targets/${t.address}/unhealthy`)).status, 204);
  await waitFor(async () => (await get('/allbad')).status === 503, 5_000, '503');
  const r = await get('/allbad');
  assert.equal(r.status, 503);
  assert.equal((JSON.parse(r.text) as { message: string }).message, 'failure to get a peer from the ring-balancer');
  assert.ok(r.ms < 1_000, `answered in ${r.ms.toFixed(1)} ms`);
  console.log(`# all-unhealthy 503 in ${r.ms.toFixed(2)} ms`);
  assert.equal((await gw.admin.call('PATCH', '/upstreams/allbad.up', { gw: { all_unhealthy: 'fail-open' } })).status, 200);
  await waitFor(async () => (await get('/allbad')).status === 200, 5_000, 'fail-open');
});

test("a retry that finds every target held out answers Kong's 503 The upstream server is currently unavailable (every one tried: the last failure)", async () => {
  // nothing listens on these: every try is a refused connection
  await define('held-out', { healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } }, ['127.0.9.1:9'], { retries: 3 });
  const r = await get('/held-out');
  assert.equal(r.status, 503, r.text);
  assert.equal((JSON.parse(r.text) as { message: string }).message, 'The upstream server is currently unavailable');
  assert.match(String(r.headers.via), /gw\//, 'proxied: the balancer phase failed');
  // two targets, one of which passive checks may not eject (max_ejection_percent 50): both tried, the last failure
  await define('held-out2', { healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } } }, ['127.0.9.2:9', '127.0.9.3:9'], {
    retries: 3,
  });
  const r2 = await get('/held-out2');
  assert.equal(r2.status, 502, r2.text);
  assert.equal((JSON.parse(r2.text) as { message: string }).message, 'An invalid response was received from the upstream server');
});

test('manual healthy/unhealthy: Kong status codes, the {address} form, 400 without a checker', async () => {
  const a = await up('m1');
  const b = await up('m2');
  await define('manual', { healthchecks: { passive: { unhealthy: { timeouts: 3 } } } }, [a.address, b.address]);
  const admin = gw.admin;
  assert.equal((await admin.call('PUT', `/upstreams/manual.up/targets/${a.address}/unhealthy`)).status, 204);
  assert.equal(await stateOf('manual', a.address), 'unhealthy');
  const before = a.count;
  await load('/manual', 2, 20);
  assert.equal(a.count, before, 'no traffic to a manually unhealthy target');
  assert.equal((await admin.call('PUT', `/upstreams/manual.up/targets/${a.address}/${a.address}/healthy`)).status, 204);
  assert.equal(await stateOf('manual', a.address), 'healthy');
  // an address the target does not have (Kong: the checker does not know it, logs it and succeeds): 204, nothing changes
  assert.equal((await admin.call('PUT', `/upstreams/manual.up/targets/${a.address}/127.0.10.1:80/unhealthy`)).status, 204);
  assert.equal(await stateOf('manual', a.address), 'healthy');
  assert.equal((await admin.call('PUT', '/upstreams/manual.up/targets/127.9.9.9:1/healthy')).status, 404);
  assert.equal((await admin.call('PUT', '/upstreams/nope/targets/127.9.9.9:1/healthy')).status, 404);
  await define('nocheck', {}, [b.address]);
  const r = await admin.call('PUT', `/upstreams/nocheck.up/targets/${b.address}/unhealthy`);
  assert.equal(r.status, 400);
  assert.deepEqual(r.body, { message: 'no healthchecker found for nocheck.up' });
});

test('upstream limits: over max_concurrent_requests a request is refused at once with 503 and Retry-After', async () => {
  const release: (() => void)[] = [];
  const slow = await up('s1', (_req, res) => {
    release.push(() => res.end('ok'));
  });
  await define('limited', { gw: { max_concurrent_requests: 2 } }, [slow.address]);
  const held = [get('/limited'), get('/limited')];
  await waitFor(() => release.length === 2, 5_000, 'two requests held');
  const r = await get('/limited');
  assert.equal(r.status, 503);
  assert.equal(r.headers['retry-after'], '1');
  assert.equal((JSON.parse(r.text) as { message: string }).message, 'upstream limited.up is over its limits, retry later');
  // refused before any pick: answered as Kong answers a plugin's short-circuit (not proxied; 14-server_tokens_spec)
  assert.match(String(r.headers['x-kong-response-latency']), /^\d+$/);
  assert.ok(r.headers['x-kong-request-id']);
  assert.match(String(r.headers.server), /^gw\//);
  for (const name of ['via', 'x-kong-upstream-latency', 'x-kong-proxy-latency']) assert.equal(r.headers[name], undefined, name);
  for (const f of release.splice(0)) f();
  assert.deepEqual(
    (await Promise.all(held)).map((x) => x.status),
    [200, 200],
  );
  const again = get('/limited');
  await waitFor(() => release.length === 1, 5_000, 'admitted again once a slot is free');
  release.shift()!();
  assert.equal((await again).status, 200);
});

test('a target that hangs costs no failed request: hedging answers from another target and the hung one is ejected', async () => {
  let hang = false;
  const held: ServerResponse[] = [];
  const jitter = (res: ServerResponse) => setTimeout(() => res.end('ok'), 2 + Math.floor(Math.random() * 10));
  const h1 = await up('h1', (_req, res) => {
    if (hang) held.push(res);
    else jitter(res);
  });
  const h2 = await up('h2', (_req, res) => void jitter(res));
  const h3 = await up('h3', (_req, res) => void jitter(res));
  await define(
    'hang',
    { healthchecks: { passive: { unhealthy: { timeouts: 3, tcp_failures: 3 } } } },
    [h1.address, h2.address, h3.address],
    { read_timeout: 5_000 },
  );
  const results = await load('/hang', 12, 900, (i) => {
    if (i === 300) hang = true;
  });
  for (const r of held) r.destroy();
  const failed = results.filter((r) => r.status !== 200);
  const slow = results.filter((r) => r.ms > 500).length;
  console.log(
    `# hang: ${results.length} requests, ${failed.length} failed, ${slow} slower than 500 ms, ${held.length} held by the hung target`,
  );
  assert.deepEqual(failed, []);
  assert.ok(
    results.every((r) => r.ms < 5_000),
    'no request waited for the read timeout',
  );
  assert.equal(await stateOf('hang', h1.address), 'ejected');
});

test('with no health check configured, the stall guard still takes a hung target out after it loses hedge races', async () => {
  let hang = false;
  const held: ServerResponse[] = [];
  const reply = (res: ServerResponse) => setTimeout(() => res.end('ok'), 2 + Math.floor(Math.random() * 10));
  const n1 = await up('n1', (_req, res) => {
    if (hang) held.push(res);
    else reply(res);
  });
  const n2 = await up('n2', (_req, res) => void reply(res));
  await define('nocheckhang', {}, [n1.address, n2.address]);
  await load('/nocheckhang', 8, 200);
  hang = true;
  const results = await load('/nocheckhang', 8, 400);
  for (const r of held) r.destroy();
  assert.deepEqual(
    results.filter((r) => r.status !== 200),
    [],
  );
  assert.ok(held.length < 40, `the hung target got ${held.length} requests before being held out`);
  assert.equal(await stateOf('nocheckhang', n1.address), 'unhealthy');
});

test('max_ejection_percent keeps half the pool when most targets fail', async () => {
  const bad = await Promise.all(
    ['x1', 'x2', 'x3'].map((n) =>
      up(n, (_req, res) => {
        res.statusCode = 503;
        res.end();
      }),
    ),
  );
  const good = await up('x4');
  await define('cap', { healthchecks: { passive: { unhealthy: { http_failures: 1 } } }, gw: { max_ejection_percent: 50 } }, [
    ...bad.map((b) => b.address),
    good.address,
  ]);
  await load('/cap', 2, 60);
  const states = [...(await health('cap')).values()].map((e) => e.gw.state);
  assert.equal(states.filter((s) => s === 'ejected').length, 2, states.join(','));
});

test('GET /metrics: Prometheus text with requests, latency, target state, circuit, transitions and probes', async () => {
  const res = await fetch(`${gw.adminUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();
  assert.match(text, /^gw_http_requests_total\{service="kill",route="kill",status="200"\} \d+$/m);
  assert.match(text, /^gw_http_request_duration_seconds_bucket\{service="kill",route="kill",le="\+Inf"\} \d+$/m);
  assert.match(text, /^gw_upstream_target_state\{upstream="kill\.up",target="127\.0\.0\.1:\d+",state="ejected"\} 1$/m);
  assert.match(text, /^gw_upstream_target_circuit\{upstream="kill\.up",target="127\.0\.0\.1:\d+",state="closed"\} 1$/m);
  assert.match(text, /^gw_circuit_transitions_total\{upstream="kill\.up",to="open"\} [1-9]/m);
  assert.match(text, /^gw_health_transitions_total\{upstream="warm\.up",from="warming",to="healthy"\} [1-9]/m);
  assert.match(text, /^gw_health_probes_total\{result="success"\} [1-9]/m);
  assert.match(text, /^gw_upstream_limit_rejections_total [1-9]/m);
  assert.match(text, /^gw_hedged_requests_total [1-9]/m);
  assert.match(text, /^gw_target_registrations_total [1-9]/m);
  assert.match(text, /^gw_process_cpu_seconds_total /m);
});

test('slow start: a target back from unhealthy gets a small share first, its full share after slow_start seconds', async () => {
  const a = await up('ss1');
  const b = await up('ss2');
  await define('slow', { healthchecks: { passive: { unhealthy: { tcp_failures: 5 } } }, gw: { slow_start: 4 } }, [a.address, b.address]);
  assert.equal((await gw.admin.call('PUT', `/upstreams/slow.up/targets/${a.address}/unhealthy`)).status, 204);
  assert.equal((await gw.admin.call('PUT', `/upstreams/slow.up/targets/${a.address}/healthy`)).status, 204);
  const t0 = Date.now();
  const share = async (n: number) => {
    const before = a.count;
    for (let i = 0; i < n; i++) assert.equal((await get('/slow')).status, 200);
    return (a.count - before) / n;
  };
  const early = await share(60);
  const earlyMs = Date.now() - t0;
  await waitFor(() => Date.now() - t0 > 4_500, 10_000, 'ramp over');
  const late = await share(60);
  console.log(`# slow start: share ${(early * 100).toFixed(0)}% in the first ${earlyMs} ms, ${(late * 100).toFixed(0)}% after the ramp`);
  if (earlyMs < 1_500) assert.ok(early < 0.3, `early share ${early}`);
  assert.ok(late > 0.35, `late share ${late}`);
  assert.ok(early < late);
});

test('clients that go away mid-request do not count against the target: 10 aborted requests leave it healthy (tcp_failures 2)', async () => {
  const held: ServerResponse[] = [];
  let hold = true;
  const a1 = await up('gone1', (_req, res) => {
    if (hold) held.push(res);
    else res.end('ok');
  });
  await define('gone', { healthchecks: { passive: { unhealthy: { tcp_failures: 2, timeouts: 2 } } } }, [a1.address], {
    read_timeout: 30_000,
  });
  const aborts = Array.from({ length: 10 }, async () => {
    const ac = new AbortController();
    const p = request(gw.proxyUrl + '/gone', { signal: ac.signal }).catch((err: unknown) => err);
    return { ac, p };
  });
  const started = await Promise.all(aborts);
  await waitFor(() => held.length === 10, 10_000, 'the ten requests at the upstream');
  for (const { ac } of started) ac.abort();
  for (const { p } of started) assert.ok((await p) instanceof Error, 'the client saw its own abort');
  // the gateway saw the clients leave and aborted its tries
  await waitFor(() => held.every((r) => r.destroyed || r.socket?.destroyed !== false), 10_000, 'the upstream side closed');
  hold = false;
  for (const r of held) r.destroy();
  assert.equal(await stateOf('gone', a1.address), 'healthy');
  const r = await get('/gone');
  assert.equal(r.status, 200);
  assert.equal(r.text, 'ok');
});
