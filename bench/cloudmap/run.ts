/**
 * Cloud Map discovery benchmark (issue 15).
 *
 * A gw-gateway runs as its own process (memory store, 127.0.0.1 only) with
 * `--cloudmap-namespace bench.local --cloudmap-endpoint <local Cloud Map>`;
 * this process runs the local Cloud Map (test/helpers/cloud-map-server.ts,
 * the real AWS JSON 1.1 protocol) and plays the instances. It measures
 * 1. `steady`: AWS API calls per minute for `--services` × `--instances`
 *    (default 50 × 20) at `--interval` (default the gateway's 5s) when
 *    nothing changes, by operation (goal: one DiscoverInstancesRevision per
 *    service per interval, no DiscoverInstances), over `--window` seconds
 *    after every target was synced;
 * 2. `register`: from RegisterInstance (the SDK's Cloud Map backend,
 *    `register({ backend: 'cloudmap' })`, each with a route of its own,
 *    started at a random point of the poll cycle) to the first 200 through
 *    the proxy, `--n` times (one interval bounds it, plus the poll itself).
 *
 *   npm run bench:cloudmap -- [--services 50] [--instances 20] [--interval 5s] [--window 60] [--n 8] [--out .bench-out/cloudmap.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { benchArgs } from '../lib/args.js';
import { pino } from 'pino';
import { request } from 'undici';
import { register } from '../../sdk/src/index.js';
import { startCloudMapServer, type CloudMapServer } from '../../test/helpers/cloud-map-server.js';
import { table } from '../lib/measure.js';
import { startGatewayProcess, type GatewayProcess } from '../lib/gateway.js';

const NS = 'bench.local';

// fake static credentials: the local Cloud Map checks the SigV4 shape, never a real account
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
  AWS_SECRET_ACCESS_KEY: 'fake-secret',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_REGION: 'eu-west-1',
};

async function startGateway(cm: CloudMapServer, interval: string): Promise<GatewayProcess> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GW_') && !k.startsWith('AWS_')));
  return startGatewayProcess(
    [
      '--store',
      'memory',
      '--access-log',
      'off',
      '--audit-log',
      'off',
      '--cloudmap-namespace',
      NS,
      '--aws-region',
      'eu-west-1',
      '--cloudmap-endpoint',
      cm.endpoint,
      '--cloudmap-interval',
      interval,
    ],
    { env: { ...env, ...AWS_ENV } },
  );
}

/** Parse `5s`, `500ms`, `1m`, `250` (ms), as the gateway does. */
function durationMs(v: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(v);
  if (!m) throw new Error(`--interval: expected a duration like 5s, got ${v}`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
}

async function targetCount(adminUrl: string, upstreams: string[]): Promise<number> {
  let n = 0;
  for (const u of upstreams) {
    const r = await request(`${adminUrl}/upstreams/${u}/targets?size=1000`);
    const body = (await r.body.json()) as { data?: unknown[] };
    n += r.statusCode === 200 ? (body.data?.length ?? 0) : 0;
  }
  return n;
}

function summary(xs: number[]): { n: number; p50: number; p99: number; max: number; mean: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? 0;
  return {
    n: s.length,
    p50: at(0.5),
    p99: at(0.99),
    max: s[s.length - 1] ?? 0,
    mean: Math.round(s.reduce((a, b) => a + b, 0) / (s.length || 1)),
  };
}

async function main(): Promise<void> {
  const { values } = benchArgs(import.meta.url, {
    options: {
      services: { type: 'string', default: '50' },
      instances: { type: 'string', default: '20' },
      interval: { type: 'string', default: '5s' },
      window: { type: 'string', default: '60' },
      n: { type: 'string', default: '8' },
      out: { type: 'string', default: join(process.cwd(), '.bench-out', 'cloudmap.json') },
    },
  });
  const services = Number(values.services);
  const instances = Number(values.instances);
  const windowS = Number(values.window);
  const n = Number(values.n);
  const intervalMs = durationMs(values.interval);
  for (const [k, v] of Object.entries({ services, instances, window: windowS, n }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
  Object.assign(process.env, AWS_ENV);
  const log = (l: string) => console.error(`# ${l}`);

  const cm = await startCloudMapServer();
  const app: Server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as AddressInfo).port;
  const upstreams: string[] = [];
  for (let s = 0; s < services; s++) {
    const name = `svc${s}`;
    const sid = cm.addService({ name, namespace: NS });
    upstreams.push(`${name}.${NS}`);
    // ECS-style instances at 127.x addresses (nothing is sent to them in part 1)
    for (let i = 0; i < instances; i++)
      cm.putInstance(sid, `task-${s}-${i}`, { AWS_INSTANCE_IPV4: `127.1.${s}.${i + 1}`, AWS_INSTANCE_PORT: '8080' });
  }
  const gw = await startGateway(cm, values.interval);
  try {
    // 1. steady state
    const syncStart = Date.now();
    for (;;) {
      if ((await targetCount(gw.adminUrl, upstreams)) === services * instances) break;
      if (Date.now() - syncStart > 120_000) throw new Error('the gateway did not sync every target within 120 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const syncMs = Date.now() - syncStart;
    log(`${services * instances} targets synced in ${syncMs} ms; counting calls for ${windowS} s`);
    const from = cm.calls.length;
    await new Promise((r) => setTimeout(r, windowS * 1000));
    const byOp = new Map<string, number>();
    for (const c of cm.calls.slice(from)) byOp.set(c.operation, (byOp.get(c.operation) ?? 0) + 1);
    const perMin = (x: number) => Math.round((x * 60) / windowS);
    const total = cm.calls.length - from;
    const expected = Math.round((60_000 / intervalMs) * services);
    const steady = {
      services,
      instances,
      intervalMs,
      windowS,
      syncMs,
      callsPerMinute: perMin(total),
      byOperationPerMinute: Object.fromEntries([...byOp].map(([k, v]) => [k, perMin(v)])),
      goalRevisionCallsPerMinute: expected,
    };

    // 2. RegisterInstance → first routed request
    const sid = cm.addService({ name: 'fresh', namespace: NS });
    const times: number[] = [];
    const registerMs: number[] = [];
    const regs = [];
    for (let i = 0; i < n; i++) {
      const path = `/fresh/${i}`;
      // at a random point of the poll cycle (right after the last routed request would always be just after a poll)
      await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
      const t0 = performance.now();
      const reg = await register({
        backend: 'cloudmap',
        cloudMap: { serviceId: sid, region: 'eu-west-1', endpoint: cm.endpoint },
        service: 'fresh',
        routes: [path],
        host: '127.0.0.1',
        port: appPort,
        instanceId: `fresh-${i}`,
        handleSignals: false,
        drainDelay: 1,
        onShutdown: () => undefined,
        logger: pino({ level: 'silent' }),
      });
      regs.push(reg);
      registerMs.push(Math.round(performance.now() - t0));
      // the same address for every instance: only the first one creates the target; each brings a new route
      for (;;) {
        const r = await request(`${gw.proxyUrl}${path}`);
        await r.body.dump();
        if (r.statusCode === 200) break;
        if (performance.now() - t0 > intervalMs * 4 + 10_000) throw new Error(`${path} not routed within ${intervalMs * 4 + 10_000} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
      times.push(Math.round(performance.now() - t0));
    }
    await Promise.all(regs.map((r) => r.close()));
    const routed = summary(times);

    console.log(`\nCloud Map discovery (node ${process.version}; gw-gateway process, local Cloud Map)\n`);
    console.log(
      table([
        {
          figure: `steady API calls/min (${services} services × ${instances} instances, interval ${values.interval})`,
          value: steady.callsPerMinute,
        },
        ...[...byOp.keys()].sort().map((op) => ({ figure: `  ${op}/min`, value: steady.byOperationPerMinute[op]! })),
        { figure: `  goal: one DiscoverInstancesRevision per service per interval`, value: expected },
        { figure: `initial sync of ${services * instances} targets, ms`, value: syncMs },
        { figure: `RegisterInstance → first routed request p50, ms (n=${n})`, value: routed.p50 },
        { figure: `RegisterInstance → first routed request max, ms`, value: routed.max },
        { figure: `  of which register() itself, p50 ms`, value: summary(registerMs).p50 },
      ]),
    );
    const out = resolve(values.out);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(
      out,
      JSON.stringify(
        { date: new Date().toISOString(), node: process.version, steady, registerToRouted: { ...routed, times, registerMs } },
        null,
        2,
      ),
    );
    console.log(`JSON: ${out}`);
  } finally {
    gw.proc.kill('SIGTERM');
    await new Promise((r) => gw.proc.once('exit', r));
    app.close();
    await cm.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
