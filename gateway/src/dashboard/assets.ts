/**
 * The dashboard page, shipped in the package as three strings (no build
 * step, no CDN, no framework): plain HTML, CSS and browser JavaScript.
 *
 * The client (DASHBOARD_JS):
 * - reads the stream `/dashboard/events` with fetch() and a stream reader
 *   (EventSource cannot send headers), so the token travels as
 *   `Authorization: Bearer …`; the token lives in sessionStorage only;
 * - reconnects with a growing delay (1 s … 10 s, jittered), and when no
 *   message came for 10 s (the gateway sends one per second);
 * - keeps the entities from `snapshot` + `diff`, the last minute of rates,
 *   and the transitions feed, and renders them (at most once a frame);
 * - runs the actions through the Admin API with the same token, after a
 *   confirmation dialog (not on the status listener: read only).
 *
 * The client code is kept inside String.raw literals: it must not contain a
 * backtick or a dollar sign followed by a brace.
 */

export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en" data-read-only="__GW_READ_ONLY__">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gw dashboard</title>
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<a class="skip" href="#services-title">Skip to services</a>
<header class="top">
  <h1><span aria-hidden="true">&#9672;</span> gw dashboard</h1>
  <p id="node" class="muted"></p>
  <p id="conn" class="conn conn-off" role="status" aria-live="polite"><span class="dot" aria-hidden="true"></span> <span id="conn-text">Not connected</span></p>
  <button id="signout" type="button" hidden>Forget token</button>
</header>
<div id="notice" class="notice" role="status" aria-live="polite" hidden></div>
<section id="login" class="login" aria-labelledby="login-title" hidden>
  <h2 id="login-title">Admin token needed</h2>
  <p id="login-msg" class="login-msg" role="alert"></p>
  <form id="login-form">
    <label for="token">Admin token</label>
    <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required>
    <button type="submit">Connect</button>
  </form>
  <p class="muted">Kept for this browser tab only (sessionStorage) and sent as an Authorization header; never in the address or a cookie.</p>
</section>
<main id="main">
  <section id="summary" class="summary" aria-label="Summary"></section>
  <section id="nodes" aria-labelledby="nodes-title" hidden>
    <h2 id="nodes-title">Cluster nodes</h2>
    <div id="nodes-list"></div>
  </section>
  <section id="services" aria-labelledby="services-title">
    <h2 id="services-title" tabindex="-1">Services</h2>
    <div id="services-list"><p class="muted">Waiting for the gateway&hellip;</p></div>
  </section>
  <section id="feed" aria-labelledby="feed-title">
    <h2 id="feed-title">Recent transitions</h2>
    <ol id="feed-list" class="feed"></ol>
  </section>
</main>
<dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-text">
  <h2 id="confirm-title">Confirm</h2>
  <p id="confirm-text"></p>
  <div class="buttons">
    <button id="confirm-cancel" type="button">Cancel</button>
    <button id="confirm-ok" type="button" class="danger">Confirm</button>
  </div>
</dialog>
</body>
</html>
`;

export const DASHBOARD_CSS = String.raw`:root {
  --bg: #f6f7f9; --fg: #1b1f24; --muted: #5b6470; --card: #fff; --line: #d8dde3; --focus: #0b5fff;
  --ok: #116329; --ok-bg: #dafbe1; --warn: #7d4e00; --warn-bg: #fff1c2; --bad: #a40e26; --bad-bg: #ffe0e3;
  --info: #0a3f8f; --info-bg: #dde9ff; --off: #4a525c; --off-bg: #e8eaed;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f1216; --fg: #e6e8eb; --muted: #a0a8b3; --card: #181c21; --line: #2c333b; --focus: #6ea8ff;
    --ok: #7ee2a0; --ok-bg: #12351f; --warn: #ffd479; --warn-bg: #3a2c08; --bad: #ff9aa6; --bad-bg: #45121b;
    --info: #a8c7ff; --info-bg: #15294a; --off: #c4cad1; --off-bg: #2a3038; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
a, button, input { font: inherit; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--card); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: .25rem 1rem; padding: .75rem 1rem; background: var(--card); border-bottom: 1px solid var(--line); }
.top h1 { font-size: 1.15rem; margin: 0; }
.top p { margin: 0; }
.muted { color: var(--muted); }
.conn { display: inline-flex; align-items: center; gap: .35rem; font-weight: 600; }
.conn .dot { width: .7rem; height: .7rem; border-radius: 50%; background: var(--off); display: inline-block; }
.conn-live .dot { background: var(--ok); }
.conn-wait .dot { background: var(--warn); }
.conn-off .dot { background: var(--bad); }
button { cursor: pointer; border: 1px solid var(--line); background: var(--card); color: var(--fg); border-radius: 6px; padding: .3rem .65rem; min-height: 2rem; }
button:hover { border-color: var(--focus); }
button.danger { background: var(--bad-bg); color: var(--bad); border-color: var(--bad); font-weight: 600; }
button[disabled] { opacity: .5; cursor: not-allowed; }
main { padding: 1rem; max-width: 1400px; margin: 0 auto; }
h2 { font-size: 1.1rem; margin: 1.25rem 0 .5rem; }
h3 { font-size: 1rem; margin: 0; }
h4.upstream-name { margin: 0; font-size: .95rem; }
caption { text-align: left; font-size: .8rem; }
.notice { margin: .75rem 1rem 0; padding: .6rem .9rem; border-radius: 6px; background: var(--info-bg); color: var(--info); }
.notice.error { background: var(--bad-bg); color: var(--bad); }
.login { max-width: 34rem; margin: 1.5rem auto; padding: 1rem 1.25rem; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
.login form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.login input { flex: 1 1 14rem; padding: .4rem .5rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
.login-msg:empty { display: none; }
.login-msg { padding: .5rem .75rem; border-radius: 6px; background: var(--bad-bg); color: var(--bad); font-weight: 600; }
.summary { display: flex; flex-wrap: wrap; gap: .5rem; }
.pill { display: inline-flex; align-items: center; gap: .3rem; padding: .15rem .55rem; border-radius: 999px; font-size: .85rem; font-weight: 600; white-space: nowrap; border: 1px solid transparent; }
.st-healthy { background: var(--ok-bg); color: var(--ok); border-color: var(--ok); }
.st-warming { background: var(--info-bg); color: var(--info); border-color: var(--info); }
.st-unhealthy, .st-ejected, .st-dns_error { background: var(--bad-bg); color: var(--bad); border-color: var(--bad); }
.st-draining { background: var(--off-bg); color: var(--off); border-color: var(--off); border-style: dashed; }
.st-live { background: var(--ok-bg); color: var(--ok); }
.st-standby { background: var(--off-bg); color: var(--off); }
.st-mode { background: var(--info-bg); color: var(--info); }
.st-alert { background: var(--warn-bg); color: var(--warn); border-color: var(--warn); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; margin-bottom: 1rem; }
.card-head { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; }
.card-head h3 { font-size: 1.05rem; }
.grow { flex: 1 1 auto; }
.figures { display: inline-flex; align-items: center; gap: .5rem; font-variant-numeric: tabular-nums; }
.routes { margin: .35rem 0 .5rem; font-size: .9rem; }
.upstream { border-top: 1px solid var(--line); margin-top: .6rem; padding-top: .6rem; }
.upstream-head { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem .75rem; margin-bottom: .4rem; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { font-size: .8rem; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; }
td.actions { white-space: nowrap; }
td.actions button { margin: .1rem 0 .1rem .25rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; }
svg.spark { vertical-align: middle; }
svg.spark .r { fill: none; stroke: var(--info); stroke-width: 1.5; }
svg.spark .e { fill: none; stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 3 2; }
.feed { list-style: none; padding: 0; margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; max-height: 28rem; overflow: auto; }
.feed li { display: flex; flex-wrap: wrap; gap: .2rem .6rem; padding: .4rem .75rem; border-bottom: 1px solid var(--line); align-items: baseline; }
.feed time { color: var(--muted); font-variant-numeric: tabular-nums; }
.nodes td { white-space: nowrap; }
dialog { border: 1px solid var(--line); border-radius: 8px; background: var(--card); color: var(--fg); max-width: 30rem; width: calc(100% - 2rem); }
dialog::backdrop { background: rgba(0, 0, 0, .45); }
dialog .buttons { display: flex; justify-content: flex-end; gap: .5rem; }
@media (max-width: 700px) {
  main { padding: .5rem; }
  table.targets thead { position: absolute; left: -9999px; }
  table.targets, table.targets tbody, table.targets tr, table.targets td { display: block; width: 100%; }
  table.targets tr { border: 1px solid var(--line); border-radius: 6px; margin-bottom: .5rem; padding: .25rem 0; }
  table.targets td { border: 0; display: flex; justify-content: space-between; gap: 1rem; padding: .2rem .6rem; text-align: right; }
  table.targets td::before { content: attr(data-label); color: var(--muted); font-size: .85rem; text-align: left; }
  table.targets td.actions { justify-content: flex-end; flex-wrap: wrap; }
  table.targets td.actions::before { content: none; }
}
`;

export const DASHBOARD_JS = String.raw`(function () {
  'use strict';
  var TOKEN_KEY = 'gw-dashboard-token';
  var READ_ONLY = document.documentElement.getAttribute('data-read-only') === 'true';
  var STATES = {
    healthy: { icon: '\u2714', word: 'healthy' },
    warming: { icon: '\u25D4', word: 'warming' },
    unhealthy: { icon: '\u2716', word: 'unhealthy' },
    ejected: { icon: '\u23CF', word: 'ejected' },
    draining: { icon: '\u21E3', word: 'draining' },
    dns_error: { icon: '\u26A0', word: 'dns_error' }
  };
  var FEED_WORDS = {
    registered: ['\u002B', 'registered', 'st-warming'],
    warming: [STATES.warming.icon, 'warming', 'st-warming'],
    healthy: [STATES.healthy.icon, 'became healthy', 'st-healthy'],
    unhealthy: [STATES.unhealthy.icon, 'became unhealthy', 'st-unhealthy'],
    ejected: [STATES.ejected.icon, 'ejected', 'st-ejected'],
    'half-open': ['\u25D1', 'half-open (trial request)', 'st-alert'],
    draining: [STATES.draining.icon, 'draining', 'st-draining'],
    drained: ['\u2205', 'drained', 'st-draining'],
    'lease-expired': ['\u231B', 'lease expired', 'st-alert'],
    removed: ['\u2212', 'removed', 'st-draining'],
    'all-unhealthy': ['\u26A0', 'every target unhealthy', 'st-unhealthy'],
    recovered: [STATES.healthy.icon, 'recovered', 'st-healthy'],
    'ejection-capped': ['\u26A0', 'ejection skipped', 'st-alert'],
    switched: ['\u21C4', 'switched', 'st-mode']
  };

  var model = null;
  var conn = { ctrl: null, attempt: 0, timer: 0, watchdog: 0, lastAt: 0, wanted: true };
  var renderQueued = false;

  function $(id) { return document.getElementById(id); }
  function esc(v) {
    return String(v === null || v === undefined ? '' : v).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function token() { try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; } }
  function setToken(t) { try { if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* private mode */ } }
  function authHeaders() { var t = token(); return t ? { authorization: 'Bearer ' + t } : {}; }

  // ---- connection ---------------------------------------------------------

  function setConn(kind, text) {
    var el = $('conn');
    el.className = 'conn conn-' + kind;
    $('conn-text').textContent = text;
  }

  function showLogin(message) {
    $('login').hidden = false;
    $('login-msg').textContent = message || '';
    $('signout').hidden = true;
    var input = $('token');
    input.value = '';
    input.focus();
  }

  function stopStream() {
    if (conn.ctrl) conn.ctrl.abort();
    conn.ctrl = null;
    clearTimeout(conn.timer);
    clearInterval(conn.watchdog);
  }

  function reconnectLater() {
    if (!conn.wanted) return;
    conn.attempt++;
    var delay = Math.min(10000, 1000 * Math.pow(2, conn.attempt - 1)) * (0.75 + Math.random() * 0.5);
    setConn('wait', 'Reconnecting in ' + Math.max(1, Math.round(delay / 1000)) + ' s\u2026');
    clearTimeout(conn.timer);
    conn.timer = setTimeout(connect, delay);
  }

  async function connect() {
    stopStream();
    conn.wanted = true;
    var ctrl = new AbortController();
    conn.ctrl = ctrl;
    setConn('wait', 'Connecting\u2026');
    var res;
    try {
      res = await fetch('/dashboard/events', { headers: authHeaders(), cache: 'no-store', signal: ctrl.signal });
    } catch (e) {
      if (ctrl.signal.aborted) return;
      reconnectLater();
      return;
    }
    if (res.status === 401) {
      conn.wanted = false;
      setConn('off', 'Not connected: token needed');
      var had = token() !== '';
      setToken('');
      showLogin(had
        ? 'The gateway refused this token (401 Unauthorized). Enter the admin token the gateway was started with (--admin-token, GW_ADMIN_TOKEN).'
        : 'This gateway needs its admin token (--admin-token, GW_ADMIN_TOKEN) to show the dashboard.');
      return;
    }
    if (res.status === 403) {
      conn.wanted = false;
      setToken('');
      setConn('off', 'Not connected: token not allowed');
      var body403 = await res.json().catch(function () { return {}; });
      showLogin('This token may not read the dashboard (403 Forbidden): ' + (body403.message || 'use the admin token') + '.');
      return;
    }
    if (!res.ok || !res.body) {
      reconnectLater();
      return;
    }
    $('login').hidden = true;
    $('signout').hidden = token() === '';
    conn.lastAt = Date.now();
    conn.watchdog = setInterval(function () {
      // the gateway sends a message every second: silence means a dead link
      if (Date.now() - conn.lastAt > 10000) { ctrl.abort(); reconnectLater(); }
    }, 2000);
    var reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    var buf = '';
    try {
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        conn.lastAt = Date.now();
        buf += chunk.value;
        var i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          var frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          onFrame(frame);
        }
      }
    } catch (e) {
      if (ctrl.signal.aborted) return;
    }
    if (ctrl.signal.aborted) return;
    clearInterval(conn.watchdog);
    reconnectLater();
  }

  function onFrame(frame) {
    var name = 'message';
    var data = [];
    frame.split('\n').forEach(function (line) {
      if (line === '' || line.charAt(0) === ':') return;
      var c = line.indexOf(':');
      var field = c < 0 ? line : line.slice(0, c);
      var value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
      if (field === 'event') name = value;
      else if (field === 'data') data.push(value);
    });
    if (data.length === 0) return;
    var msg;
    try { msg = JSON.parse(data.join('\n')); } catch (e) { return; }
    if (name === 'snapshot') onSnapshot(msg);
    else if (!model) return;
    else if (name === 'diff') onDiff(msg);
    else if (name === 'feed') onFeed(msg);
    else if (name === 'rates') onRates(msg);
  }

  function clock(msg) {
    model.now = msg.now;
    model.storeNow = msg.store_now;
    model.receivedAt = Date.now();
  }

  function onSnapshot(msg) {
    conn.attempt = 0;
    model = {
      entities: new Map(Object.entries(msg.entities)),
      rates: { t: new Map(), s: new Map() },
      feed: msg.feed.slice(),
      nodeId: msg.node_id,
      version: msg.version,
      cluster: msg.cluster,
      readOnly: msg.read_only || READ_ONLY,
      len: msg.history_len || 60
    };
    clock(msg);
    ['t', 's'].forEach(function (k) {
      Object.keys(msg.history[k]).forEach(function (id) { model.rates[k].set(id, msg.history[k][id].slice()); });
    });
    setConn('live', 'Live');
    $('node').textContent = 'node ' + msg.node_id + ' \u00B7 gw ' + msg.version + (model.readOnly ? ' \u00B7 read only' : '');
    queueRender();
  }

  function onDiff(msg) {
    clock(msg);
    Object.keys(msg.set).forEach(function (k) { model.entities.set(k, msg.set[k]); });
    msg.del.forEach(function (k) { model.entities.delete(k); });
    queueRender();
  }

  function onFeed(entries) {
    model.feed = model.feed.concat(entries).slice(-200);
    queueRender();
  }

  function onRates(msg) {
    clock(msg);
    model.entities.forEach(function (e, k) {
      var kind = k.charAt(0);
      if (kind !== 't' && kind !== 's') return;
      var ring = model.rates[kind].get(e.id) || [];
      ring.push((msg[kind] && msg[kind][e.id]) || [0, 0]);
      if (ring.length > model.len) ring.splice(0, ring.length - model.len);
      model.rates[kind].set(e.id, ring);
    });
    queueRender();
  }

  // ---- rendering ------------------------------------------------------------

  function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    var done = false;
    var run = function () { if (done) return; done = true; renderQueued = false; render(); };
    requestAnimationFrame(run);
    setTimeout(run, 200);
  }

  function nowServer() { return model.now + (Date.now() - model.receivedAt); }
  function nowStore() { return model.storeNow * 1000 + (Date.now() - model.receivedAt); }

  function duration(ms) {
    if (ms <= 0) return '0 s';
    var s = Math.ceil(ms / 1000);
    if (s < 120) return s + ' s';
    var m = Math.floor(s / 60);
    if (m < 120) return m + ' min ' + (s % 60) + ' s';
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }

  function pill(state) {
    var s = STATES[state] || { icon: '?', word: state };
    return '<span class="pill st-' + esc(state) + '" data-state="' + esc(state) + '"><span aria-hidden="true">' + s.icon + '</span> ' + esc(s.word) + '</span>';
  }

  function rateFigures(ring) {
    var last = ring.length ? ring[ring.length - 1] : [0, 0];
    var sumR = 0, sumE = 0;
    ring.forEach(function (p) { sumR += p[0]; sumE += p[1]; });
    return { rps: last[0], errPct: sumR > 0 ? (100 * sumE) / sumR : 0, ring: ring };
  }

  function fmt(n) { return n >= 100 ? String(Math.round(n)) : n >= 10 ? n.toFixed(1) : n.toFixed(2).replace(/\.?0+$/, '') || '0'; }

  function spark(ring, label) {
    var w = 120, h = 26, n = model.len;
    var max = 1;
    ring.forEach(function (p) { if (p[0] > max) max = p[0]; if (p[1] > max) max = p[1]; });
    var pts = function (idx) {
      var off = n - ring.length;
      return ring.map(function (p, i) {
        var x = ((off + i) / Math.max(1, n - 1)) * w;
        var y = h - 1 - (p[idx] / max) * (h - 2);
        return x.toFixed(1) + ',' + y.toFixed(1);
      }).join(' ');
    };
    var f = rateFigures(ring);
    var aria = label + ': ' + fmt(f.rps) + ' requests per second now, peak ' + fmt(max === 1 && f.rps < 1 ? f.rps : max) + ', ' + fmt(f.errPct) + ' % errors over the last minute';
    return '<svg class="spark" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + ' ' + h + '" role="img" aria-label="' + esc(aria) + '">' +
      (ring.length > 1 ? '<polyline class="r" points="' + pts(0) + '"/><polyline class="e" points="' + pts(1) + '"/>' : '') + '</svg>';
  }

  function list(kind) {
    var out = [];
    model.entities.forEach(function (e, k) { if (k.charAt(0) === kind) out.push(e); });
    return out;
  }

  function btn(action, label, data, title) {
    var attrs = '';
    Object.keys(data).forEach(function (k) { attrs += ' data-' + k + '="' + esc(data[k]) + '"'; });
    var key = action + ':' + Object.keys(data).map(function (k) { return data[k]; }).join(':');
    return '<button type="button" data-action="' + action + '" data-key="' + esc(key) + '"' + attrs + (title ? ' title="' + esc(title) + '"' : '') + '>' + esc(label) + '</button>';
  }

  function targetRow(t, u) {
    var lease = t.lease_expires_at === null ? '\u2014' : duration(t.lease_expires_at * 1000 - nowStore());
    var cool = t.ejected_until === null ? '\u2014' : duration(t.ejected_until - nowServer());
    var f = rateFigures(model.rates.t.get(t.id) || []);
    var weight = String(t.weight);
    if (t.effective_weight !== t.weight) weight += ' <span class="muted">(effective ' + fmt(t.effective_weight) + ')</span>';
    var actions = '';
    if (!model.readOnly) {
      if (t.weight > 0) actions += btn('drain', 'Drain', { u: u.name, t: t.target }, 'weight 0: no new requests');
      if (u.checks !== 'off') {
        if (t.health === 'UNHEALTHY') actions += btn('healthy', 'Mark healthy', { u: u.name, t: t.target });
        else actions += btn('unhealthy', 'Mark unhealthy', { u: u.name, t: t.target });
      }
    }
    return '<tr data-target="' + esc(t.target) + '" data-state="' + esc(t.state) + '">' +
      '<td data-label="State">' + pill(t.state) + (t.breaker === 'half-open' ? ' <span class="pill st-alert">half-open</span>' : '') + '</td>' +
      '<td data-label="Target"><code>' + esc(t.target) + '</code>' + (t.drained_by_operator ? ' <span class="muted">(drained by an operator)</span>' : '') + '</td>' +
      '<td data-label="Deployment">' + (t.deployment ? esc(t.deployment) : '<span class="muted">\u2014</span>') + '</td>' +
      '<td data-label="Weight" class="num">' + weight + '</td>' +
      '<td data-label="In flight" class="num">' + esc(t.in_flight) + '</td>' +
      '<td data-label="Lease left" class="num">' + lease + '</td>' +
      '<td data-label="Cool-down left" class="num">' + cool + '</td>' +
      '<td data-label="Requests/s" class="num">' + fmt(f.rps) + ' ' + spark(f.ring, t.target) + '</td>' +
      '<td data-label="Errors (1 min)" class="num">' + fmt(f.errPct) + ' %</td>' +
      '<td class="actions">' + actions + '</td></tr>';
  }

  function upstreamBlock(u, svc, targets) {
    var deployments = {};
    targets.forEach(function (t) { if (t.deployment && t.weight > 0) deployments[t.deployment] = (deployments[t.deployment] || 0) + 1; });
    var head = '<div class="upstream-head"><h4 class="grow upstream-name"><code>' + esc(u.name) + '</code></h4>';
    if (svc && svc.mode === 'blue-green') head += u.live ? '<span class="pill st-live"><span aria-hidden="true">\u25CF</span> live</span>' : '<span class="pill st-standby"><span aria-hidden="true">\u25CB</span> standby</span>';
    if (u.deployment) head += '<span class="muted">deployment ' + esc(u.deployment) + '</span>';
    head += '<span class="muted">checks: ' + esc(u.checks) + (u.slow_start ? ', slow start ' + esc(u.slow_start) + ' s' : '') + '</span>';
    if (u.all_unhealthy) head += '<span class="pill st-unhealthy"><span aria-hidden="true">\u26A0</span> every target unhealthy</span>';
    if (!model.readOnly) {
      if (svc && svc.mode === 'blue-green' && !u.live) head += btn('promote', 'Promote', { s: svc.name, u: u.name }, 'route the service to this upstream');
      Object.keys(deployments).forEach(function (d) {
        head += btn('drain-deployment', 'Drain deployment ' + d, { u: u.name, d: d }, deployments[d] + ' target(s)');
      });
    }
    head += '</div>';
    if (targets.length === 0) return '<div class="upstream" data-upstream="' + esc(u.name) + '">' + head + '<p class="muted">No targets.</p></div>';
    var rows = targets.sort(function (a, b) { return a.target < b.target ? -1 : 1; }).map(function (t) { return targetRow(t, u); }).join('');
    return '<div class="upstream" data-upstream="' + esc(u.name) + '">' + head +
      '<table class="targets"><caption class="muted">Targets of ' + esc(u.name) + '</caption><thead><tr><th scope="col">State</th><th scope="col">Target</th><th scope="col">Deployment</th><th scope="col" class="num">Weight</th><th scope="col" class="num">In flight</th><th scope="col" class="num">Lease left</th><th scope="col" class="num">Cool-down left</th><th scope="col" class="num">Requests/s</th><th scope="col" class="num">Errors (1 min)</th><th scope="col"><span class="muted">Actions</span></th></tr></thead><tbody>' + rows + '</tbody></table></div>';
  }

  function render() {
    if (!model) return;
    var active = document.activeElement;
    var focusKey = active && active.getAttribute ? active.getAttribute('data-key') : null;
    var services = list('s').sort(function (a, b) { return a.name < b.name ? -1 : 1; });
    var upstreams = list('u');
    var targets = list('t');
    var byUpstream = new Map();
    targets.forEach(function (t) { var l = byUpstream.get(t.upstream) || []; l.push(t); byUpstream.set(t.upstream, l); });
    var counts = {};
    targets.forEach(function (t) { counts[t.state] = (counts[t.state] || 0) + 1; });
    $('summary').innerHTML = '<span class="pill st-mode">' + services.length + ' services</span><span class="pill st-mode">' + upstreams.length + ' upstreams</span><span class="pill st-mode">' + targets.length + ' targets</span>' +
      Object.keys(STATES).filter(function (s) { return counts[s]; }).map(function (s) { return '<span class="pill st-' + s + '"><span aria-hidden="true">' + STATES[s].icon + '</span> ' + counts[s] + ' ' + STATES[s].word + '</span>'; }).join('');

    var html = services.map(function (s) {
      var own = upstreams.filter(function (u) { return u.service === s.id; }).sort(function (a, b) { return (b.live ? 1 : 0) - (a.live ? 1 : 0) || (a.name < b.name ? -1 : 1); });
      var f = rateFigures(model.rates.s.get(s.id) || []);
      var routes = s.routes.map(function (r) {
        return '<code>' + esc(r.name || r.id.slice(0, 8)) + '</code> ' + esc((r.methods || []).join(',') + ' ' + (r.hosts || []).join(',') + ' ' + (r.paths || []).join(' '));
      }).join(' \u00B7 ');
      var head = '<div class="card-head"><h3 class="grow">' + esc(s.name) + '</h3><span class="pill st-mode">' + esc(s.mode) + '</span>';
      if (s.mode === 'blue-green') {
        var live = own.filter(function (u) { return u.live; })[0];
        head += '<span>live: <strong>' + esc(live ? live.deployment || live.name : s.host) + '</strong></span>';
        if (s.previous && s.previous !== s.host && !model.readOnly) head += btn('rollback', 'Roll back', { s: s.name, p: s.previous }, 'back to ' + s.previous);
      }
      head += '<span class="figures">' + fmt(f.rps) + ' req/s \u00B7 ' + fmt(f.errPct) + ' % errors ' + spark(f.ring, s.name) + '</span></div>';
      var body = '<p class="routes muted">' + (routes ? 'Routes: ' + routes : 'No routes.') + ' \u2192 <code>' + esc(s.protocol + '://' + s.host + ':' + s.port + (s.path || '')) + '</code></p>';
      body += own.map(function (u) { return upstreamBlock(u, s, byUpstream.get(u.id) || []); }).join('');
      return '<article class="card" data-service="' + esc(s.name) + '" aria-label="Service ' + esc(s.name) + '">' + head + body + '</article>';
    }).join('');
    var orphans = upstreams.filter(function (u) { return !u.service; });
    if (orphans.length) html += '<article class="card" aria-label="Upstreams without a service"><div class="card-head"><h3>Upstreams no service points at</h3></div>' + orphans.map(function (u) { return upstreamBlock(u, null, byUpstream.get(u.id) || []); }).join('') + '</article>';
    if (!html) html = '<p class="muted">No services or upstreams yet.</p>';
    $('services-list').innerHTML = html;

    var nodes = list('n');
    $('nodes').hidden = !model.cluster;
    if (model.cluster) {
      $('nodes-list').innerHTML = '<table class="nodes"><thead><tr><th scope="col">Node</th><th scope="col">Host</th><th scope="col">Version</th><th scope="col" class="num">Revision</th><th scope="col">Reachable</th><th scope="col" class="num">Last seen</th></tr></thead><tbody>' +
        nodes.map(function (n) {
          return '<tr><td><code>' + esc(n.id) + '</code>' + (n.self ? ' <span class="muted">(this node)</span>' : '') + '</td><td>' + esc(n.hostname) + '</td><td>' + esc(n.version) + '</td><td class="num">' + esc(n.revision) + '</td><td>' +
            (n.reachable ? pill('healthy').replace('healthy</span>', 'reachable</span>') : pill('unhealthy').replace('unhealthy</span>', 'unreachable</span>')) + '</td><td class="num">' + (n.last_seen === null ? 'now' : duration(nowStore() - n.last_seen * 1000) + ' ago') + '</td></tr>';
        }).join('') + '</tbody></table>';
    }

    $('feed-list').innerHTML = model.feed.slice().reverse().slice(0, 100).map(function (e) {
      var w = FEED_WORDS[e.kind] || ['\u2022', e.kind, 'st-mode'];
      var where = e.service ? esc(e.service) : (e.upstream ? '<code>' + esc(e.upstream) + '</code>' : '') + (e.target ? ' <code>' + esc(e.target) + '</code>' : '');
      return '<li data-kind="' + esc(e.kind) + '"><time datetime="' + new Date(e.at).toISOString() + '">' + new Date(e.at).toLocaleTimeString() + '</time> <span class="pill ' + w[2] + '"><span aria-hidden="true">' + w[0] + '</span> ' + esc(w[1]) + '</span> ' + where + (e.reason ? ' <span class="muted">' + esc(e.reason) + '</span>' : '') + '</li>';
    }).join('') || '<li class="muted">Nothing yet.</li>';

    if (focusKey) {
      var again = document.querySelector('[data-key="' + focusKey.replace(/["\\]/g, '\\$&') + '"]');
      if (again) again.focus();
    }
  }

  // ---- actions (Admin API, with the same token) ------------------------------

  async function api(method, path, body) {
    var headers = authHeaders();
    if (body !== undefined) headers['content-type'] = 'application/json';
    var res = await fetch(path, { method: method, headers: headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
    var text = await res.text();
    var parsed = null;
    try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
    if (!res.ok) throw new Error(method + ' ' + path + ': ' + res.status + ' ' + ((parsed && parsed.message) || res.statusText));
    return parsed;
  }
  function enc(s) { return encodeURIComponent(s); }
  function tagSafe(v) { return String(v).replace(/[%,/\s]/g, function (c) { return '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'); }); }
  function tagValue(tags, prefix) {
    var t = (tags || []).filter(function (x) { return x.indexOf(prefix) === 0; })[0];
    if (t === undefined) return undefined;
    try { return decodeURIComponent(t.slice(prefix.length)); } catch (e) { return t.slice(prefix.length); }
  }

  // as gw-agent drain: weight 0 and the gw-drained mark, so the instance's SDK does not put it back
  async function drainTarget(u, t) {
    var path = '/upstreams/' + enc(u) + '/targets/' + enc(t);
    var cur = await api('GET', path);
    var tags = (cur && cur.tags) || [];
    await api('PATCH', path, { weight: 0, tags: tags.indexOf('gw-drained') >= 0 ? tags : tags.concat(['gw-drained']) });
  }

  var ACTIONS = {
    drain: {
      ask: function (d) { return 'Drain ' + d.t + ' in ' + d.u + '? Its weight becomes 0: no new requests; requests in flight finish. Its instance will not re-register it until it restarts.'; },
      run: async function (d) { await drainTarget(d.u, d.t); return 'Draining ' + d.t + ' (weight 0).'; }
    },
    'drain-deployment': {
      ask: function (d) { return 'Drain every target of deployment ' + d.d + ' in ' + d.u + '?'; },
      run: async function (d) {
        var ts = list('t').filter(function (t) { return t.deployment === d.d && t.weight > 0 && (model.entities.get('u:' + t.upstream) || {}).name === d.u; });
        for (var i = 0; i < ts.length; i++) await drainTarget(d.u, ts[i].target);
        return 'Draining ' + ts.length + ' target(s) of deployment ' + d.d + '.';
      }
    },
    healthy: {
      ask: function (d) { return 'Mark ' + d.t + ' healthy? Health counters are reset and the target gets traffic at once.'; },
      run: async function (d) { await api('PUT', '/upstreams/' + enc(d.u) + '/targets/' + enc(d.t) + '/healthy'); return d.t + ' marked healthy.'; }
    },
    unhealthy: {
      ask: function (d) { return 'Mark ' + d.t + ' unhealthy? It gets no traffic until it is marked healthy or active checks pass.'; },
      run: async function (d) { await api('PUT', '/upstreams/' + enc(d.u) + '/targets/' + enc(d.t) + '/unhealthy'); return d.t + ' marked unhealthy.'; }
    },
    promote: {
      ask: function (d) {
        var healthy = list('t').filter(function (t) { return (model.entities.get('u:' + t.upstream) || {}).name === d.u && t.state === 'healthy'; }).length;
        return 'Promote ' + d.u + ' and route service ' + d.s + ' to it?' + (healthy === 0 ? ' Warning: it has no healthy target.' : ' It has ' + healthy + ' healthy target(s).');
      },
      run: async function (d) {
        // as the SDK's promote (sdk/src/blue-green.ts): remember what was live, lift a rollback mark
        var svc = await api('GET', '/services/' + enc(d.s));
        if (svc.host === d.u) return d.u + ' is already live.';
        var tags = (svc.tags || []).filter(function (t) { return t.indexOf('gw-previous:') !== 0 && t !== 'gw-rolled-back:' + tagSafe(d.u); });
        tags.push('gw-previous:' + tagSafe(svc.host));
        await api('PATCH', '/services/' + enc(d.s), { host: d.u, tags: tags });
        return 'Service ' + d.s + ' now routes to ' + d.u + '.';
      }
    },
    rollback: {
      ask: function (d) { return 'Roll service ' + d.s + ' back to ' + d.p + '?'; },
      run: async function (d) {
        var svc = await api('GET', '/services/' + enc(d.s));
        var previous = tagValue(svc.tags, 'gw-previous:');
        if (previous === undefined) throw new Error('nothing to roll back to: service ' + d.s + ' was never switched');
        if (previous === svc.host) return 'Already rolled back.';
        var tags = (svc.tags || []).filter(function (t) { return t.indexOf('gw-previous:') !== 0 && t !== 'gw-rolled-back:' + tagSafe(previous); });
        tags.push('gw-previous:' + tagSafe(previous));
        var mark = 'gw-rolled-back:' + tagSafe(svc.host);
        if (tags.indexOf(mark) < 0) tags.push(mark);
        await api('PATCH', '/services/' + enc(d.s), { host: previous, tags: tags });
        return 'Service ' + d.s + ' routes to ' + previous + ' again.';
      }
    }
  };

  function notice(text, error) {
    var n = $('notice');
    n.hidden = false;
    n.className = 'notice' + (error ? ' error' : '');
    n.setAttribute('role', error ? 'alert' : 'status');
    n.textContent = text;
  }

  var pending = null;
  function ask(action, data, opener) {
    var a = ACTIONS[action];
    if (!a || model.readOnly) return;
    pending = { a: a, data: data, opener: opener };
    $('confirm-title').textContent = 'Confirm: ' + opener.textContent;
    $('confirm-text').textContent = a.ask(data);
    $('confirm').showModal();
    $('confirm-cancel').focus();
  }

  async function confirmed() {
    var p = pending;
    pending = null;
    $('confirm').close();
    if (!p) return;
    try {
      notice(await p.a.run(p.data), false);
    } catch (e) {
      notice(String(e && e.message ? e.message : e), true);
    }
  }

  function init() {
    $('login-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var v = $('token').value.trim();
      if (!v) return;
      setToken(v);
      $('login-msg').textContent = '';
      connect();
    });
    $('signout').addEventListener('click', function () {
      setToken('');
      stopStream();
      conn.wanted = false;
      model = null;
      $('services-list').innerHTML = '';
      setConn('off', 'Not connected');
      showLogin('');
    });
    $('services-list').addEventListener('click', function (ev) {
      var b = ev.target.closest ? ev.target.closest('button[data-action]') : null;
      if (!b) return;
      var d = {};
      ['u', 't', 'd', 's', 'p'].forEach(function (k) { var v = b.getAttribute('data-' + k); if (v !== null) d[k] = v; });
      ask(b.getAttribute('data-action'), d, b);
    });
    $('confirm-ok').addEventListener('click', confirmed);
    $('confirm-cancel').addEventListener('click', function () { pending = null; $('confirm').close(); });
    $('confirm').addEventListener('close', function () { if (pending && pending.opener) pending.opener.focus(); pending = null; });
    connect();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
`;
