import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncomingMessage } from 'node:http';
import { downstreamHeaders, realIp, upstreamHost } from '../../../../gateway/src/proxy/headers.js';

const add = { via: '1.1 gw/x', server: 'gw/x', requestId: 'rid', upstreamLatency: 1.6, proxyLatency: 0.2 };
/** The flat list as [name, value] pairs. */
const pairs = (l: (string | string[])[]) => Array.from({ length: l.length / 2 }, (_, i) => [l[2 * i], l[2 * i + 1]]);

test('response headers: hop-by-hop and Connection-named ones dropped, Via appended, Kong headers added once', () => {
  const out = downstreamHeaders(
    {
      'content-type': 'text/plain',
      connection: 'keep-alive, x-secret',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'x-secret': 'no',
      via: '1.0 upstream-proxy',
      server: 'app/1',
      'set-cookie': ['a=1', 'b=2'],
    },
    add,
  );
  assert.deepEqual(pairs(out), [
    ['content-type', 'text/plain'],
    ['server', 'app/1'],
    ['set-cookie', ['a=1', 'b=2']],
    ['via', '1.0 upstream-proxy, 1.1 gw/x'],
    ['x-gw-request-id', 'rid'],
    ['x-kong-request-id', 'rid'],
    ['x-kong-upstream-latency', '2'],
    ['x-kong-proxy-latency', '0'],
  ]);
});

test('response headers: Server when the upstream sent none, and the sticky cookie after the upstream cookies', () => {
  const out = downstreamHeaders({ 'set-cookie': 'a=1' }, { ...add, setCookie: 'gw=h; Path=/' });
  const p = pairs(out);
  assert.deepEqual(
    p.filter(([n]) => n === 'set-cookie'),
    [
      ['set-cookie', 'a=1'],
      ['set-cookie', 'gw=h; Path=/'],
    ],
  );
  assert.deepEqual(
    p.find(([n]) => n === 'server'),
    ['server', 'gw/x'],
  );
  assert.equal(p.filter(([n]) => n === 'via').length, 1);
});

test("upstream Host (Kong's set_host_header): host_header or the target, with the port unless it is the scheme's default", () => {
  const cases: [
    preserve: boolean,
    incoming: string | undefined,
    target: string,
    port: number,
    hostHeader: string | null,
    scheme: string,
    want: string,
  ][] = [
    [false, 'client.test', 'app.internal', 8080, null, 'http', 'app.internal:8080'],
    [false, undefined, 'app.internal', 80, null, 'http', 'app.internal'],
    [false, undefined, 'app.internal', 443, null, 'https', 'app.internal'],
    [false, undefined, 'app.internal', 443, null, 'http', 'app.internal:443'],
    [false, undefined, 'app.internal', 80, null, 'https', 'app.internal:80'],
    [false, undefined, '::1', 8080, null, 'http', '[::1]:8080'],
    [false, undefined, '10.0.0.1', 8080, 'hh.test', 'http', 'hh.test:8080'],
    [false, undefined, '10.0.0.1', 80, 'hh.test', 'http', 'hh.test'],
    [false, undefined, '10.0.0.1', 443, 'hh.test', 'https', 'hh.test'],
    [false, undefined, '10.0.0.1', 8443, 'hh.test', 'https', 'hh.test:8443'],
    // the same target again (the memo) with and without host_header
    [false, undefined, '10.0.0.1', 8443, null, 'https', '10.0.0.1:8443'],
    [false, undefined, '10.0.0.1', 8443, 'hh.test', 'https', 'hh.test:8443'],
    [true, 'client.test:8000', 'app.internal', 8080, 'hh.test', 'http', 'client.test:8000'],
  ];
  for (const [preserve, incoming, target, port, hostHeader, scheme, want] of cases)
    assert.equal(upstreamHost(preserve, incoming, target, port, hostHeader, scheme), want, `${target}:${port} ${hostHeader} ${scheme}`);
});

test("a trusted peer's X-Real-IP, read as nginx's realip module does (real_ip_header X-Real-IP, not recursive)", () => {
  /** a request as node parses it: repeated X-Real-IP lines joined with ", " */
  const req = (...values: string[]) =>
    ({
      headers: values.length === 0 ? {} : { 'x-real-ip': values.join(', ') },
      rawHeaders: values.flatMap((v) => ['X-Real-IP', v]),
    }) as unknown as IncomingMessage;
  const cases: [values: string[], want: string][] = [
    [[], '192.0.2.1'],
    [['10.0.0.1'], '10.0.0.1'],
    [['10.0.0.1:8080'], '10.0.0.1'],
    [['2001:DB8::1'], '2001:db8::1'],
    [['[2001:db8::1]:443'], '2001:db8::1'],
    // the last entry of one header, trailing separators skipped
    [['10.0.0.1, 10.0.0.2'], '10.0.0.2'],
    [['10.0.0.1 10.0.0.2 ,'], '10.0.0.2'],
    // of several headers, the first
    [['10.0.0.1', '10.0.0.2'], '10.0.0.1'],
    // no address: the peer's stays
    [['unknown'], '192.0.2.1'],
    [['10.0.0.1:0'], '192.0.2.1'],
    [['10.0.0.1:99999'], '192.0.2.1'],
    [['[2001:db8::1]'], '192.0.2.1'],
    [['fe80::1%eth0'], '192.0.2.1'],
    [[''], '192.0.2.1'],
  ];
  for (const [values, want] of cases) assert.equal(realIp(req(...values), '192.0.2.1'), want, JSON.stringify(values));
});
