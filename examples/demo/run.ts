/**
 * `npm run demo`: the whole product in one command, bounded to well under a
 * minute. A gateway (embedded, memory store), three instances of one service
 * (two register themselves through the SDK, one is fronted by the
 * `gw-agent run` sidecar), steady traffic, a rolling deploy that replaces
 * every instance one by one, and a kill -9; then what happened: requests,
 * failures (expected 0) and the targets' states at each step.
 * Exit 0 when no client request failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startGateway } from '../../gateway/src/gateway.js';
import { freePort, waitFor as wait } from './util.js';

const SDK_APP = fileURLToPath(new URL('../node-http-app/app.js', import.meta.url));
const PLAIN_APP = fileURLToPath(new URL('./plain-app.js', import.meta.url));
const AGENT = fileURLToPath(new URL('../../agent/src/cli.js', import.meta.url));
const SERVICE = 'hello';
const TTL = 3;
const t0 = Date.now();

const say = (msg: string): void => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);

const waitFor = (what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> =>
  wait('demo', what, cond, timeoutMs);

interface Instance {
  name: string;
  port: number;
  how: 'sdk' | 'sidecar';
  procs: ChildProcess[];
}

async function main(): Promise<number> {
  const gw = await startGateway({ store: 'memory', leaseSweepMs: 200 });
  const children: ChildProcess[] = [];
  const quiet = (p: ChildProcess): ChildProcess => {
    children.push(p);
    return p;
  };
  const targets = async (): Promise<string[]> => {
    const r = await request(`${gw.adminUrl}/upstreams/${SERVICE}.upstream/targets`);
    const body = (await r.body.json()) as { data?: { target: string }[] };
    return (body.data ?? []).map((x) => x.target);
  };
  const has = async (port: number): Promise<boolean> => (await targets()).includes(`127.0.0.1:${port}`);
  /** `gw-agent status` as a user would type it (async: the gateway runs in this process) */
  const status = async (): Promise<void> => {
    const p = spawn(process.execPath, [AGENT, 'status', '--admin-url', gw.adminUrl, '--service', SERVICE], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((r) => p.once('close', r));
    process.stdout.write(out.trimEnd().replace(/^/gm, '        ') + '\n');
  };

  const env = (name: string, port: number, deployment: string): NodeJS.ProcessEnv => ({
    ...process.env,
    GW_ADMIN_URL: gw.adminUrl,
    GW_SERVICE: SERVICE,
    GW_ROUTES: '/hello',
    GW_TTL: String(TTL),
    GW_DEPLOYMENT: deployment,
    PORT: String(port),
    APP_NAME: name,
    APP_DELAY_MS: '5',
  });
  const start = async (name: string, how: 'sdk' | 'sidecar', deployment: string): Promise<Instance> => {
    const port = await freePort();
    const procs: ChildProcess[] = [];
    if (how === 'sdk') {
      procs.push(quiet(spawn(process.execPath, [SDK_APP], { env: env(name, port, deployment), stdio: 'ignore' })));
    } else {
      procs.push(quiet(spawn(process.execPath, [PLAIN_APP], { env: env(name, port, deployment), stdio: 'ignore' })));
      const control = await freePort();
      const sidecarEnv = {
        ...env(name, port, deployment),
        GW_PORT: String(port),
        GW_HOST: '127.0.0.1',
        GW_HEALTH_PATH: '/health',
        GW_HEALTH_INTERVAL: '500ms',
        GW_CONTROL_LISTEN: `127.0.0.1:${control}`,
        GW_LOG_LEVEL: 'silent',
      };
      // stderr shown: a sidecar that cannot start says why in one line
      procs.push(
        quiet(
          spawn(process.execPath, [AGENT, 'run', '--ttl', `${TTL}s`, '--drain-timeout', '10s'], {
            env: sidecarEnv,
            stdio: ['ignore', 'ignore', 'inherit'],
          }),
        ),
      );
    }
    await waitFor(`${name} to register`, () => has(port));
    say(
      `${name} (${how === 'sdk' ? 'register() in the app' : 'gw-agent run sidecar'}, deployment ${deployment}) registered as 127.0.0.1:${port}`,
    );
    return { name, port, how, procs };
  };
  const exited = (p: ChildProcess): Promise<number | null> =>
    p.exitCode !== null || p.signalCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code)));
  /** a clean stop: the SDK app drains itself on SIGTERM; the sidecar drains, then ECS would stop the app */
  const stop = async (i: Instance): Promise<void> => {
    const began = Date.now();
    const [first, app] = i.how === 'sdk' ? [i.procs[0]!, undefined] : [i.procs[1]!, i.procs[0]!];
    first.kill('SIGTERM');
    const code = await exited(first);
    if (app) {
      app.kill('SIGTERM');
      await exited(app);
    }
    say(
      `${i.name} stopped with SIGTERM: drained and deregistered in ${Date.now() - began} ms (exit ${code}); still registered: ${(await targets()).length}`,
    );
  };

  let ok = 0;
  let failed = 0;
  const perApp = new Map<string, number>();
  const errors: string[] = [];
  let running = true;
  const client = async (): Promise<void> => {
    while (running) {
      try {
        const r = await request(`${gw.proxyUrl}/hello/demo`);
        const body = (await r.body.json()) as { app?: string; message?: string };
        if (r.statusCode === 200 && body.app) {
          ok++;
          perApp.set(body.app, (perApp.get(body.app) ?? 0) + 1);
        } else {
          failed++;
          errors.push(`${r.statusCode} ${body.message ?? ''}`);
        }
      } catch (err) {
        failed++;
        errors.push((err as Error).message);
      }
    }
  };

  try {
    say(`gateway up: proxy ${gw.proxyUrl}, admin ${gw.adminUrl}`);
    say('starting three instances of service "hello" (deployment v1)');
    let fleet = [await start('v1-a', 'sdk', 'v1'), await start('v1-b', 'sdk', 'v1'), await start('v1-c', 'sidecar', 'v1')];
    await status();
    const clients = Array.from({ length: 4 }, client);
    await waitFor('traffic on every instance', () => fleet.every((i) => (perApp.get(i.name) ?? 0) > 0));
    say(`traffic flowing: ${ok} requests so far, ${failed} failed`);

    say('rolling deploy v1 → v2: start a v2 instance, then stop a v1 one, three times');
    const next: Instance[] = [];
    for (const old of fleet) {
      const fresh = await start(old.name.replace('v1', 'v2'), old.how, 'v2');
      next.push(fresh);
      await waitFor(`traffic on ${fresh.name}`, () => (perApp.get(fresh.name) ?? 0) > 0);
      await stop(old);
    }
    fleet = next;
    say(`deploy done: ${ok} requests so far, ${failed} failed`);
    await status();

    const victim = fleet[0]!;
    say(`crash: kill -9 ${victim.name} (no drain, no deregistration)`);
    const killedAt = Date.now();
    victim.procs.forEach((p) => p.kill('SIGKILL'));
    await waitFor(`the lease of ${victim.name} to expire`, async () => !(await has(victim.port)), (TTL + 5) * 1000);
    say(
      `gateway removed ${victim.name}'s target ${Date.now() - killedAt} ms after the crash (lease ${TTL} s); requests meanwhile retried on the others`,
    );
    const before = ok;
    await waitFor('more traffic after the crash', () => ok > before + 100);
    running = false;
    await Promise.all(clients);
    await status();

    console.log('\nsummary');
    console.log(`  requests: ${ok + failed}, failed: ${failed}`);
    console.log(`  served by: ${[...perApp.entries()].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(`  time: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (failed) console.log(`  errors: ${[...new Set(errors)].slice(0, 5).join('; ')}`);
    return failed === 0 ? 0 : 1;
  } finally {
    running = false;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await gw.close(0);
  }
}

const watchdog = setTimeout(() => {
  console.error('demo: took longer than 60 s; giving up');
  process.exit(1);
}, 60_000);
watchdog.unref();
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
