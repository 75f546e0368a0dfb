/**
 * `npm run demo:cluster`: cluster mode in one command, bounded to about a
 * minute. Three `gw-gateway` processes share one PostgreSQL database (created
 * for the run on GW_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres,
 * and dropped at the end); each reaches it through a TCP relay this script
 * controls, so the database can be cut. A round-robin client plays the load
 * balancer in front of the three proxies. Then:
 *
 *   1. three instances of service "hello" register (SDK, `register()` in the
 *      app) through node A and node B;
 *   2. a rolling deploy v1 → v2: start a v2 instance, SIGTERM a v1 one, three times;
 *   3. node C is killed with SIGKILL; the client (like an NLB health check)
 *      takes it out of rotation and sends what was on it to another node;
 *   4. the database is cut for 5 s: both nodes keep proxying, admin writes
 *      answer 503, no lease expires; after it returns a new instance registers
 *      through B and is served through A.
 *
 * Prints what happened and the failed-request count. Exit 0 when no client
 * request failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { request } from 'undici';
import { freePort, waitFor as wait } from '../demo/util.js';
import { startTcpRelay, type TcpRelay } from './tcp-relay.js';

const GATEWAY = fileURLToPath(new URL('../../gateway/src/cli.js', import.meta.url));
const SDK_APP = fileURLToPath(new URL('../node-http-app/app.js', import.meta.url));
const SERVICE = 'hello';
const TTL = 5;
const CUT_MS = 5_000;
const t0 = Date.now();

/** every process this demo started (the watchdog kills them too) */
const children: ChildProcess[] = [];

const say = (msg: string): void => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);

const waitFor = (what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> =>
  wait('demo:cluster', what, cond, timeoutMs);

interface GatewayNode {
  id: string;
  proxy: string;
  admin: string;
  proc: ChildProcess;
  /** the last lines it logged (printed if the demo fails) */
  log: string[];
}

interface Instance {
  name: string;
  port: number;
  via: GatewayNode;
  proc: ChildProcess;
}

async function statusOf(url: string): Promise<number> {
  const r = await request(url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  await r.body.dump();
  return r.statusCode;
}

async function adminSql(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

async function main(): Promise<number> {
  const serverUrl = process.env.GW_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `gw_demo_${process.pid}_${Date.now().toString(36)}`;
  try {
    await adminSql(serverUrl, `CREATE DATABASE ${dbName}`);
  } catch (err) {
    const safe = serverUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
    console.error(`demo:cluster needs PostgreSQL: could not create a database on ${safe} (GW_PG_URL): ${(err as Error).message}`);
    return 1;
  }
  const pgTarget = new URL(serverUrl);
  const relay: TcpRelay = await startTcpRelay(Number(pgTarget.port || 5432), pgTarget.hostname);
  const nodeUrl = new URL(serverUrl);
  nodeUrl.hostname = '127.0.0.1';
  nodeUrl.port = String(relay.port);
  nodeUrl.pathname = `/${dbName}`;

  const nodes: GatewayNode[] = [];
  const instances: Instance[] = [];

  const startNode = async (id: string): Promise<GatewayNode> => {
    const [proxyPort, adminPort] = [await freePort(), await freePort()];
    const proc = spawn(
      process.execPath,
      [
        GATEWAY,
        '--store',
        'postgres',
        '--pg-url',
        nodeUrl.toString(),
        '--node-id',
        id,
        '--proxy-listen',
        `127.0.0.1:${proxyPort}`,
        '--admin-listen',
        `127.0.0.1:${adminPort}`,
        '--log-level',
        'warn',
        '--access-log',
        'off',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(proc);
    const node: GatewayNode = { id, proxy: `http://127.0.0.1:${proxyPort}`, admin: `http://127.0.0.1:${adminPort}`, proc, log: [] };
    const keep = (c: Buffer): void => {
      node.log.push(...c.toString().trimEnd().split('\n'));
      node.log.splice(0, Math.max(0, node.log.length - 20));
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    return node;
  };
  const targets = async (via: GatewayNode): Promise<string[]> => {
    const r = await request(`${via.admin}/upstreams/${SERVICE}.upstream/targets`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
    const body = (await r.body.json()) as { data?: { target: string }[] };
    return (body.data ?? []).map((x) => x.target);
  };
  const exited = (p: ChildProcess): Promise<void> =>
    p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));

  const startInstance = async (name: string, via: GatewayNode, deployment: string): Promise<Instance> => {
    const port = await freePort();
    const proc = spawn(process.execPath, [SDK_APP], {
      env: {
        ...process.env,
        GW_ADMIN_URL: via.admin,
        GW_SERVICE: SERVICE,
        GW_ROUTES: '/hello',
        GW_TTL: String(TTL),
        GW_DEPLOYMENT: deployment,
        GW_HOST: '127.0.0.1',
        LISTEN_HOST: '127.0.0.1',
        PORT: String(port),
        APP_NAME: name,
        APP_DELAY_MS: '5',
      },
      stdio: 'ignore',
    });
    children.push(proc);
    const i = { name, port, via, proc };
    instances.push(i);
    await waitFor(`${name} to register through ${via.id}`, async () => (await targets(via)).includes(`127.0.0.1:${port}`));
    say(`${name} (deployment ${deployment}) registered through ${via.id} as 127.0.0.1:${port}`);
    return i;
  };

  // the load balancer: round robin over the nodes in rotation; a node that refuses or drops a
  // connection leaves the rotation (an NLB health check would) and the request goes to the next one
  let ok = 0;
  let failed = 0;
  let rerouted = 0;
  const perApp = new Map<string, number>();
  const perNode = new Map<string, number>();
  const errors: string[] = [];
  const rotation: GatewayNode[] = [];
  let next = 0;
  let running = true;
  const client = async (): Promise<void> => {
    while (running) {
      let done = false;
      for (let attempt = 0; attempt < 3 && !done && rotation.length > 0; attempt++) {
        const node = rotation[next++ % rotation.length]!;
        try {
          const r = await request(`${node.proxy}/hello/demo`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
          const body = (await r.body.json()) as { app?: string; message?: string };
          done = true;
          if (r.statusCode === 200 && body.app) {
            ok++;
            perApp.set(body.app, (perApp.get(body.app) ?? 0) + 1);
            perNode.set(node.id, (perNode.get(node.id) ?? 0) + 1);
          } else {
            failed++;
            errors.push(`${node.id}: ${r.statusCode} ${body.message ?? ''}`);
          }
        } catch (err) {
          // the node is gone (connection refused or reset): out of rotation, try the next one
          const at = rotation.indexOf(node);
          if (at >= 0) {
            rotation.splice(at, 1);
            say(
              `load balancer: ${node.id} failed a connection (${(err as { code?: string }).code ?? (err as Error).message}); out of rotation`,
            );
          }
          rerouted++;
        }
      }
      if (!done) {
        failed++;
        errors.push('no node answered');
      }
    }
  };

  try {
    say(
      `database ${dbName} on ${pgTarget.hostname}:${pgTarget.port || 5432}, reached by every node through a relay on 127.0.0.1:${relay.port}`,
    );
    // all three at once on the empty database: one migrates, the others wait for it
    nodes.push(...(await Promise.all(['node-a', 'node-b', 'node-c'].map(startNode))));
    for (const n of nodes) await waitFor(`${n.id} to answer /status`, async () => (await statusOf(`${n.admin}/status`)) === 200);
    const [a, b, c] = nodes as [GatewayNode, GatewayNode, GatewayNode];
    say(`three gateway nodes up: ${nodes.map((n) => `${n.id} proxy ${n.proxy}`).join(', ')}`);

    say('three instances of service "hello" (v1) register, through node-a and node-b');
    let fleet = [await startInstance('v1-a', a, 'v1'), await startInstance('v1-b', b, 'v1'), await startInstance('v1-c', a, 'v1')];
    await waitFor('every node routes /hello', async () => {
      for (const n of nodes) if ((await statusOf(`${n.proxy}/hello/demo`)) !== 200) return false;
      return true;
    });
    rotation.push(a, b, c);
    const clients = Array.from({ length: 4 }, client);
    await waitFor('traffic on every instance and node', () => fleet.every((i) => (perApp.get(i.name) ?? 0) > 0) && perNode.size === 3);
    say(`traffic through all three nodes: ${ok} requests so far, ${failed} failed`);

    say('rolling deploy v1 → v2: start a v2 instance, then SIGTERM a v1 one, three times');
    const fresh: Instance[] = [];
    for (const old of fleet) {
      const n = await startInstance(old.name.replace('v1', 'v2'), old.via === a ? b : a, 'v2');
      fresh.push(n);
      await waitFor(`traffic on ${n.name}`, () => (perApp.get(n.name) ?? 0) > 0);
      const began = Date.now();
      old.proc.kill('SIGTERM');
      await exited(old.proc);
      say(`${old.name} stopped with SIGTERM: drained and deregistered in ${Date.now() - began} ms`);
    }
    fleet = fresh;
    say(`deploy done: ${ok} requests so far, ${failed} failed`);

    say('crash: kill -9 node-c (its proxy connections die with it)');
    c.proc.kill('SIGKILL');
    await exited(c.proc);
    const before = ok;
    await waitFor('traffic after the crash', () => ok > before + 100);
    say(`node-c gone; the load balancer rerouted ${rerouted} request(s); ${ok} requests so far, ${failed} failed`);

    say(`database cut for ${CUT_MS / 1000} s (the relay closes every connection and refuses new ones)`);
    const registered = (await targets(a)).length;
    await relay.cut();
    const cutAt = Date.now();
    const beforeCut = ok;
    await waitFor(
      'an admin write to be refused',
      async () => {
        const r = await request(`${a.admin}/upstreams/demo-during-cut`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        const body = (await r.body.json()) as { message?: string };
        if (r.statusCode === 503) say(`admin write during the cut: ${r.statusCode} ${JSON.stringify(body)}`);
        return r.statusCode === 503;
      },
      CUT_MS,
    );
    await new Promise((r) => setTimeout(r, Math.max(0, CUT_MS - (Date.now() - cutAt))));
    say(`during the cut: ${ok - beforeCut} requests served, ${failed} failed so far`);
    await relay.restore();
    say('database back');
    await waitFor('node-a to reach the database again', async () => {
      const r = await request(`${a.admin}/status`);
      return ((await r.body.json()) as { database?: { reachable?: boolean } }).database?.reachable === true;
    });
    const after = (await targets(a)).length;
    say(`targets registered before the cut: ${registered}, after: ${after} (no lease expired during the outage)`);
    const late = await startInstance('v2-d', b, 'v2');
    await waitFor(`traffic on ${late.name} through node-a`, async () => {
      for (let i = 0; i < 20; i++) {
        const r = await request(`${a.proxy}/hello/demo`);
        if (((await r.body.json()) as { app?: string }).app === late.name) return true;
      }
      return false;
    });
    say(`${late.name} registered through node-b after the outage is served through node-a`);

    running = false;
    await Promise.all(clients);

    console.log('\nsummary');
    console.log(`  requests: ${ok + failed}, failed: ${failed}`);
    console.log(`  served by node: ${[...perNode.entries()].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(`  served by instance: ${[...perApp.entries()].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(`  rerouted by the load balancer after node-c died: ${rerouted}`);
    console.log(`  time: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (failed) console.log(`  errors: ${[...new Set(errors)].slice(0, 5).join('; ')}`);
    return failed === 0 && after === registered ? 0 : 1;
  } catch (err) {
    for (const n of nodes) if (n.log.length) console.error(`--- last lines of ${n.id}:\n${n.log.join('\n')}`);
    throw err;
  } finally {
    running = false;
    for (const i of instances) if (i.proc.exitCode === null && i.proc.signalCode === null) i.proc.kill('SIGTERM');
    await Promise.race([Promise.all(instances.map((i) => exited(i.proc))), new Promise((r) => setTimeout(r, 5_000))]);
    for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await Promise.all(children.map(exited));
    await relay.close();
    await adminSql(serverUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch((err: unknown) =>
      console.error(`demo:cluster: could not drop database ${dbName}: ${(err as Error).message}`),
    );
  }
}

const watchdog = setTimeout(() => {
  console.error('demo:cluster: took longer than 120 s; giving up');
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  process.exit(1);
}, 120_000);
watchdog.unref();
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
