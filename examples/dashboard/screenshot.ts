/**
 * `npm run docs:dashboard`: a blue-green deploy in progress on a real
 * gateway, photographed by Debian's Chromium into docs/dashboard.png.
 *
 * Service `users`: deployment users:41 was live, users:42 has just been
 * promoted (its targets warming up under slow start, one still warming
 * behind its first probe); users:41's targets are draining with requests
 * still in flight. Service `orders` (rolling): one instance's process died
 * and is ejected. Traffic runs through the proxy meanwhile, so the charts
 * have a few seconds of data (samples every 500 ms here, 1 s by default).
 *
 *   npm run docs:dashboard [-- --out FILE] [--width PX]   (390: a phone)
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { startGateway } from '../../gateway/src/gateway.js';
import { waitFor } from '../demo/util.js';
// the Chromium flags the browser tests use (this machine's notes: no sandbox as root, no background networking)
import { CHROMIUM, CHROMIUM_ARGS } from '../../test/helpers/browser.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const TOKEN = 'screenshot-token';

interface App {
  server: Server;
  address: string;
  held: ServerResponse[];
}

async function app(opts: { failEvery?: number; delayMs?: number; healthy?: () => boolean } = {}): Promise<App> {
  const held: ServerResponse[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    if (req.url === '/health') {
      res.statusCode = (opts.healthy?.() ?? true) ? 200 : 503;
      return res.end();
    }
    if (req.url?.includes('/slow')) {
      held.push(res);
      return;
    }
    n++;
    setTimeout(() => {
      res.statusCode = opts.failEvery && n % opts.failEvery === 0 ? 502 : 200;
      res.end('{}');
    }, opts.delayMs ?? 2);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}`, held };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, width: { type: 'string', default: '1360' } } });
  const out = values.out ?? join(root, 'docs', 'dashboard.png');
  const gw = await startGateway({ store: 'memory', adminToken: TOKEN, dashboardSampleMs: 500, leaseSweepMs: 500 });
  const apps: App[] = [];
  const call = async (method: string, path: string, body?: unknown): Promise<void> => {
    const r = await fetch(gw.adminUrl + path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  };
  const traffic: { stop: boolean; loops: Promise<void>[] } = { stop: false, loops: [] };
  try {
    // users: blue-green, two deployments
    const checks = {
      active: { type: 'http', http_path: '/health', healthy: { interval: 1, successes: 1 }, unhealthy: { interval: 1, http_failures: 1 } },
      passive: { unhealthy: { tcp_failures: 1, http_failures: 3 } },
    };
    for (const d of ['41', '42'])
      await call('PUT', `/upstreams/users.users-${d}.upstream`, {
        healthchecks: checks,
        tags: ['gw-service:users', `gw-deployment:users:${d}`],
        gw: { slow_start: d === '42' ? 60 : 0, stall_guard: false, hedging: false },
      });
    await call('PUT', '/services/users', { host: 'users.users-41.upstream', port: 80 });
    await call('PUT', '/services/users/routes/users-api', { paths: ['/users'] });
    for (let i = 0; i < 3; i++) {
      const a = await app({ delayMs: 3 });
      apps.push(a);
      await call('POST', '/upstreams/users.users-41.upstream/targets', {
        target: a.address,
        ttl: 30,
        tags: ['gw', `gw-instance:task-41-${i}`, 'gw-deployment:users:41'],
      });
    }
    // orders: rolling, one instance about to die
    await call('PUT', '/upstreams/orders.upstream', {
      healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } },
      gw: { breaker_cooldown: 120 },
    });
    await call('PUT', '/services/orders', { host: 'orders.upstream', port: 80 });
    await call('PUT', '/services/orders/routes/orders-api', { paths: ['/orders'] });
    const orders: App[] = [];
    for (let i = 0; i < 3; i++) {
      const a = await app({ failEvery: i === 1 ? 7 : 0 });
      orders.push(a);
      apps.push(a);
      await call('POST', '/upstreams/orders.upstream/targets', {
        target: a.address,
        tags: ['gw', `gw-instance:task-o${i}`, 'gw-deployment:orders:17'],
      });
    }
    const loop = async (path: string, pauseMs: number): Promise<void> => {
      const end = Date.now() + 60_000;
      while (!traffic.stop && Date.now() < end) {
        await fetch(gw.proxyUrl + path)
          .then((r) => r.arrayBuffer())
          .catch(() => undefined);
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    };
    traffic.loops.push(loop('/users/list', 8), loop('/users/me', 15), loop('/orders/recent', 12));
    await new Promise((r) => setTimeout(r, 4000));

    // the deploy: users:42 registers (one instance still failing its first probe), is promoted; 41 drains
    const ready = false;
    for (let i = 0; i < 3; i++) {
      const a = await app({ delayMs: 2, healthy: i === 2 ? () => ready : undefined });
      apps.push(a);
      await call('POST', '/upstreams/users.users-42.upstream/targets', {
        target: a.address,
        ttl: 30,
        tags: ['gw', `gw-instance:task-42-${i}`, 'gw-deployment:users:42'],
      });
    }
    // requests in flight on users:41 (they hang) while it is switched away from and drained
    for (let i = 0; i < 4; i++) void fetch(gw.proxyUrl + '/users/slow').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2500));
    await call('PATCH', '/services/users', { host: 'users.users-42.upstream', tags: ['gw-previous:users.users-41.upstream'] });
    for (const a of apps.slice(0, 3))
      await call('PATCH', `/upstreams/users.users-41.upstream/targets/${a.address}`, {
        weight: 0,
        tags: ['gw', 'gw-deployment:users:41', 'gw-drained'],
      });
    // orders: an instance dies
    await new Promise<void>((r) => {
      orders[2]!.server.close(() => r());
      orders[2]!.server.closeAllConnections();
    });
    await new Promise((r) => setTimeout(r, 5000));

    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: Number(values.width), height: 900 }, deviceScaleFactor: 1 });
      await page.goto(`${gw.adminUrl}/dashboard`);
      await page.fill('#token', TOKEN);
      await page.press('#token', 'Enter');
      await page.waitForSelector('tr[data-state="ejected"]');
      await waitFor('screenshot', 'the feed', async () => (await page.locator('#feed-list li').count()) > 5, 10_000);
      await new Promise((r) => setTimeout(r, 1500));
      await page.screenshot({ path: out, fullPage: true });
      console.log(`wrote ${out}`);
    } finally {
      await browser.close();
    }
  } finally {
    traffic.stop = true;
    await Promise.all(traffic.loops);
    for (const a of apps) {
      for (const r of a.held) r.destroy();
      a.server.closeAllConnections();
      a.server.close();
    }
    await gw.close(0);
  }
}

await main();
