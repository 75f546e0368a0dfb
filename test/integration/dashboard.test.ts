/**
 * The live dashboard in a real browser (Debian's Chromium, playwright-core)
 * against a real gateway and real upstream processes: token prompt and a
 * wrong token, the target list, a killed upstream showing `ejected` without
 * a reload, `gw-agent drain` showing `draining` then the target gone, the
 * drain button (keyboard and mouse, with its confirmation), and the status
 * listener's read-only page.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { startTestGateway } from '../helpers/gateway.js';
import { startUpstreamProcess, waitFor, type UpstreamProcess } from '../helpers/upstream.js';
import { runAgent } from './agent-helpers.js';
import { startTcpRelay } from '../helpers/tcp-relay.js';

const TOKEN = 'dashboard-test-token';

test(
  'dashboard: token, live target states, gw-agent drain, the drain button, read-only status listener',
  { timeout: 120_000 },
  async (t) => {
    const launched = await launchBrowser();
    if ('skip' in launched) {
      t.skip(`no browser: ${launched.skip}`);
      return;
    }
    const browser: Browser = launched.browser;
    const gw = await startTestGateway({ adminToken: TOKEN, statusListen: '127.0.0.1:0' });
    const ups: UpstreamProcess[] = [];
    for (const n of ['a', 'b', 'c']) ups.push(await startUpstreamProcess(n));
    const [a, b, c] = ups as [UpstreamProcess, UpstreamProcess, UpstreamProcess];
    const hung: Promise<unknown>[] = [];
    t.after(async () => {
      await browser.close();
      for (const u of ups) await u.kill();
      await Promise.allSettled(hung);
      await gw.close(0);
    });

    // passive checks: one failed connection ejects a target, for 60 s
    const up = await gw.admin.call('PUT', '/upstreams/svc.upstream', {
      healthchecks: { passive: { unhealthy: { tcp_failures: 1, timeouts: 1 } } },
      gw: { breaker_cooldown: 60, hedging: false },
    });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal((await gw.admin.call('PUT', '/services/svc', { host: 'svc.upstream', port: 80 })).status, 200);
    assert.equal((await gw.admin.call('PUT', '/services/svc/routes/svc-route', { paths: ['/svc'] })).status, 200);
    for (const u of ups) {
      const r = await gw.admin.call('POST', '/upstreams/svc.upstream/targets', {
        target: u.address,
        tags: ['gw', 'gw-deployment:svc%3A1'],
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }

    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    const row = (u: UpstreamProcess, state?: string) => `tr[data-target="${u.address}"]${state ? `[data-state="${state}"]` : ''}`;

    await t.test('the page asks for the token; a wrong one gets a clear message', async () => {
      await page.goto(`${gw.adminUrl}/dashboard`);
      await page.waitForSelector('#login:not([hidden])');
      assert.match((await page.textContent('#login-msg')) ?? '', /needs its admin token/);
      await page.fill('#token', 'not-the-token');
      await page.press('#token', 'Enter');
      await page.waitForFunction(() =>
        /refused this token \(401 Unauthorized\)/.test(document.getElementById('login-msg')!.textContent ?? ''),
      );
      assert.match((await page.textContent('#conn-text')) ?? '', /token needed/);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('gw-dashboard-token')), null, 'a refused token is not kept');
    });

    await t.test('with the token it lists the targets (token in sessionStorage, not in the URL or a cookie)', async () => {
      await page.fill('#token', TOKEN);
      await page.click('#login-form button[type=submit]');
      for (const u of ups) await page.waitForSelector(row(u, 'healthy'));
      assert.equal(await page.locator('tr[data-target]').count(), 3);
      assert.match((await page.textContent('#conn-text')) ?? '', /Live/);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('gw-dashboard-token')), TOKEN);
      assert.ok(!page.url().includes(TOKEN));
      assert.equal(await page.evaluate(() => document.cookie), '');
      // state word and icon, not colour alone
      assert.match((await page.textContent(`${row(a)} .pill`)) ?? '', /✔\s+healthy/);
      assert.equal(await page.textContent('article[data-service="svc"] h3'), 'svc');
    });

    await t.test('a killed upstream process shows ejected without a reload', async () => {
      let ejectedAt = 0;
      const off = gw.health.onEvent((e) => {
        if (e.kind === 'state' && e.target === a.address && e.to === 'ejected') ejectedAt = Date.now();
      });
      const killedAt = Date.now();
      await a.kill();
      // traffic finds the dead target (bounded: 15 s, sequential requests)
      const end = Date.now() + 15_000;
      while (ejectedAt === 0 && Date.now() < end) await fetch(`${gw.proxyUrl}/svc/x`).then((r) => r.arrayBuffer());
      off();
      assert.ok(ejectedAt > 0, 'the gateway ejected the killed target');
      await page.waitForSelector(row(a, 'ejected'), { timeout: 10_000 });
      const shownAt = Date.now();
      t.diagnostic(`ejected: ${ejectedAt - killedAt} ms after the kill, on the page ${shownAt - ejectedAt} ms after the gateway's event`);
      assert.ok(shownAt - ejectedAt < 2000, `the page showed it ${shownAt - ejectedAt} ms after the event (bound 2000 ms)`);
      assert.match((await page.textContent(`${row(a)} .pill`)) ?? '', /ejected/);
      await page.waitForSelector('#feed-list li[data-kind="ejected"]');
      // the cool-down shows a time left
      assert.match((await page.textContent(`${row(a)} td[data-label="Cool-down left"]`)) ?? '', /\d+ s/);
    });

    /** Hold a request to `u` open (through the proxy) until it is released on the process. */
    const holdOn = async (u: UpstreamProcess): Promise<void> => {
      const tid = (await gw.admin.call<{ id: string }>('GET', `/upstreams/svc.upstream/targets/${u.address}`)).body.id;
      const uid = (await gw.admin.call<{ id: string }>('GET', '/upstreams/svc.upstream')).body.id;
      for (let i = 0; i < 8 && gw.health.inFlight(uid, tid) === 0; i++) {
        hung.push(
          fetch(`${gw.proxyUrl}/svc/hang`).then(
            (r) => r.arrayBuffer(),
            () => undefined,
          ),
        );
        await waitFor(() => gw.health.inFlight(uid, tid) > 0 || hungOnOthers(uid, i + 1), 5_000, 'the held request in flight');
      }
      assert.ok(gw.health.inFlight(uid, tid) > 0, `a request held on ${u.address}`);
    };
    const hungOnOthers = (uid: string, n: number): boolean => {
      let sum = 0;
      for (const rec of gw.health.upstream(uid)?.targets.values() ?? []) sum += rec.inFlight;
      return sum >= n;
    };
    const release = (u: UpstreamProcess) => fetch(`http://${u.address}/release`).then((r) => r.text());

    await t.test('gw-agent drain shows draining, then the target disappears', async () => {
      await holdOn(b);
      const drain = runAgent([
        'drain',
        '--admin-url',
        gw.adminUrl,
        '--admin-token',
        TOKEN,
        '--upstream',
        'svc.upstream',
        '--target',
        b.address,
        '--deregister',
        '--timeout',
        '30s',
      ]);
      await page.waitForSelector(row(b, 'draining'));
      assert.match((await page.textContent(`${row(b)} td[data-label="In flight"]`)) ?? '', /[1-9]/);
      await release(b);
      const done = await drain;
      assert.equal(done.code, 0, done.stderr);
      await page.waitForSelector(row(b), { state: 'detached' });
      await page.waitForSelector('#feed-list li[data-kind="drained"]');
      await page.waitForSelector('#feed-list li[data-kind="removed"]');
      assert.equal(await page.locator('tr[data-target]').count(), 2);
    });

    await t.test('the drain button asks first (keyboard: Escape cancels), then drains', async () => {
      const button = page.locator(`${row(c)} button[data-action="drain"]`);
      await button.focus();
      await page.keyboard.press('Enter');
      await page.waitForSelector('#confirm[open]');
      assert.match((await page.textContent('#confirm-text')) ?? '', new RegExp(`Drain ${c.address.replace(/\./g, '\\.')}`));
      await page.keyboard.press('Escape');
      await page.waitForSelector('#confirm:not([open])', { state: 'attached' });
      assert.equal((await gw.admin.call<{ weight: number }>('GET', `/upstreams/svc.upstream/targets/${c.address}`)).body.weight, 100);

      await button.click();
      await page.click('#confirm-ok');
      await page.waitForSelector(row(c, 'draining'));
      await page.waitForFunction(() => /Draining/.test(document.getElementById('notice')!.textContent ?? ''));
      const after = await gw.admin.call<{ weight: number; tags: string[] }>('GET', `/upstreams/svc.upstream/targets/${c.address}`);
      assert.equal(after.body.weight, 0);
      assert.ok(after.body.tags.includes('gw-drained'), 'marked as an operator drain, as gw-agent drain does');
      assert.equal(await page.locator(`${row(c)} button[data-action="drain"]`).count(), 0, 'no drain button on a draining target');
    });

    await t.test('a lost stream reconnects by itself and catches up, without a reload', async () => {
      // the page reaches the admin listener through a relay the test can cut
      const relay = await startTcpRelay(Number(new URL(gw.adminUrl).port));
      const p = await browser.newPage();
      try {
        await p.goto(`http://127.0.0.1:${relay.port}/dashboard`);
        await p.fill('#token', TOKEN);
        await p.press('#token', 'Enter');
        await p.waitForSelector(row(a, 'ejected'));
        await p.evaluate(() => ((window as unknown as { gwMark: number }).gwMark = 1));
        await relay.cut();
        await p.waitForFunction(() => /Reconnecting/.test(document.getElementById('conn-text')!.textContent ?? ''));
        // a change while the page is cut off
        assert.equal((await gw.admin.call('PUT', `/upstreams/svc.upstream/targets/${a.address}/healthy`)).status, 204);
        await relay.restore();
        await p.waitForSelector(row(a, 'healthy'), { timeout: 30_000 });
        assert.equal(await p.textContent('#conn-text'), 'Live');
        assert.equal(await p.evaluate(() => (window as unknown as { gwMark?: number }).gwMark), 1, 'the same page, not reloaded');
      } finally {
        await p.close();
        await relay.close();
      }
    });

    await t.test('the status listener serves it read only, with the same token', async () => {
      const ro = await browser.newPage({ viewport: { width: 390, height: 844 } });
      try {
        await ro.goto(`${gw.statusUrl}/dashboard`);
        await ro.waitForSelector('#login:not([hidden])');
        await ro.fill('#token', TOKEN);
        await ro.press('#token', 'Enter');
        await ro.waitForSelector(row(c, 'draining'));
        assert.match((await ro.textContent('#node')) ?? '', /read only/);
        assert.equal(await ro.locator('button[data-action]').count(), 0, 'no actions on the status listener');
        // phone width: the table becomes one card per target, still labelled
        const label = await ro.evaluate(
          (sel) => getComputedStyle(document.querySelector(sel)!, '::before').content,
          `${row(c)} td[data-label="State"]`,
        );
        assert.equal(label, '"State"');
      } finally {
        await ro.close();
      }
    });
  },
);
