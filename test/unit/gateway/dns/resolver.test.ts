/**
 * The DNS cache (re-resolution at the TTL, dns_stale_ttl, errors) with an
 * injected clock and timers, and the real query (node's Resolver) against
 * the test DNS server on 127.0.0.1: never the system resolver.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDnsQuery, DnsCache, DnsError, parseDnsServers, type DnsRecord, type Timers } from '../../../../gateway/src/dns/resolver.js';
import { startDnsServer, type TestDnsServer } from '../../../helpers/dns-server.js';
import { waitFor } from '../../../helpers/upstream.js';

/** Manual clock and timers: `advance(ms)` runs what is due. */
function fakeTime() {
  let now = 1_000_000;
  let seq = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    set: (fn, ms) => {
      const id = ++seq;
      due.set(id, { at: now + ms, fn });
      return id;
    },
    clear: (h) => due.delete(h as number),
  };
  return {
    now: () => now,
    timers,
    pending: () => [...due.values()].map((d) => d.at - now),
    async advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const next = [...due.entries()].filter(([, d]) => d.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!next) break;
        now = next[1].at;
        due.delete(next[0]);
        next[1].fn();
        await flush();
      }
      now = end;
    },
  };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

const rec = (ips: string[], ttl: number): DnsRecord => ({ type: 'A', ttl, addresses: ips.map((ip) => ({ ip })) });

test('first lookup is pending, then the answer; re-resolved at the TTL; a change is reported', async () => {
  const t = fakeTime();
  let answer = rec(['127.0.0.2', '127.0.0.3'], 5);
  const asked: string[] = [];
  const changes: string[] = [];
  const c = new DnsCache({ query: async (n) => (asked.push(n), answer), now: t.now, timers: t.timers, onChange: (n) => changes.push(n) });
  assert.equal(c.lookup('Users.Prod.Local'), undefined);
  await flush();
  assert.deepEqual(changes, ['users.prod.local']);
  assert.deepEqual(c.lookup('users.prod.local')?.record?.addresses, [{ ip: '127.0.0.2' }, { ip: '127.0.0.3' }]);
  assert.deepEqual(asked, ['users.prod.local']);
  assert.deepEqual(t.pending(), [5000]);
  await t.advance(4999);
  assert.equal(asked.length, 1, 'not before the TTL');
  await t.advance(1);
  assert.equal(asked.length, 2, 're-resolved at the TTL');
  assert.equal(changes.length, 1, 'same answer: no change reported');
  answer = rec(['127.0.0.4'], 5);
  await t.advance(5000);
  assert.equal(changes.length, 2);
  assert.deepEqual(c.lookup('users.prod.local')?.record?.addresses, [{ ip: '127.0.0.4' }]);
  c.close();
  assert.deepEqual(t.pending(), [], 'forgotten names stop re-resolving');
});

test('a TTL of 0 is re-resolved after 1 s (MIN_TTL), not in a busy loop', async () => {
  const t = fakeTime();
  let n = 0;
  const c = new DnsCache({ query: async () => (n++, rec(['127.0.0.2'], 0)), now: t.now, timers: t.timers });
  c.lookup('a.prod.local');
  await flush();
  assert.deepEqual(t.pending(), [1000]);
  await t.advance(3000);
  assert.equal(n, 4);
});

test('dns_stale_ttl: a failing re-resolution keeps the last good answer until TTL + stale_ttl, then DNS error', async () => {
  const t = fakeTime();
  let fail = false;
  const changes: string[] = [];
  const c = new DnsCache({
    query: async () => {
      if (fail) throw new DnsError('dns server error: 2 server failure', false);
      return rec(['127.0.0.2'], 10);
    },
    staleTtl: 20,
    errorTtl: 1,
    now: t.now,
    timers: t.timers,
    onChange: (n) => changes.push(n),
  });
  c.lookup('svc.prod.local');
  await flush();
  fail = true;
  await t.advance(10_000); // TTL out, re-resolution fails
  let s = c.lookup('svc.prod.local');
  assert.deepEqual(s?.record?.addresses, [{ ip: '127.0.0.2' }], 'stale answer kept');
  assert.equal(s?.error, 'dns server error: 2 server failure');
  await t.advance(19_000);
  assert.ok(c.lookup('svc.prod.local')?.record, 'still within TTL + stale_ttl');
  assert.equal(changes.length, 1);
  await t.advance(1_500);
  s = c.lookup('svc.prod.local');
  assert.equal(s?.record, undefined, 'stale time ran out');
  assert.equal(s?.error, 'dns server error: 2 server failure');
  assert.equal(changes.length, 2, 'losing the addresses is reported');
  fail = false;
  await t.advance(1_000);
  assert.deepEqual(c.lookup('svc.prod.local')?.record?.addresses, [{ ip: '127.0.0.2' }], 'recovers at the next retry');
  assert.equal(changes.length, 3);
  c.close();
});

test('an unresolvable name: error state reported once, retried after dns_not_found_ttl', async () => {
  const t = fakeTime();
  let n = 0;
  const changes: string[] = [];
  const c = new DnsCache({
    query: async () => {
      n++;
      throw new DnsError('dns server error: 3 name error', true);
    },
    notFoundTtl: 30,
    now: t.now,
    timers: t.timers,
    onChange: (x) => changes.push(x),
  });
  c.lookup('nope.prod.local');
  await flush();
  assert.deepEqual(c.lookup('nope.prod.local'), { record: undefined, error: 'dns server error: 3 name error' });
  assert.deepEqual(t.pending(), [30_000]);
  await t.advance(60_000);
  assert.equal(n, 3);
  assert.equal(changes.length, 1, 'still failing is not news');
  c.close();
});

test('parseDnsServers: HOST:PORT items, port 53 by default, bad items named', () => {
  assert.deepEqual(parseDnsServers('127.0.0.1:5353, 127.0.10.2,[::1]:53', '--dns-resolver'), [
    '127.0.0.1:5353',
    '127.0.10.2:53',
    '[::1]:53',
  ]);
  assert.throws(() => parseDnsServers('dns.local:53', '--dns-resolver'), /--dns-resolver: 'dns.local:53' is not an IP\[:PORT\]/);
  assert.throws(() => parseDnsServers('127.0.0.1:70000', '--dns-resolver'), /not an IP/);
});

let dns: TestDnsServer;
before(async () => {
  dns = await startDnsServer({
    'users.prod.local': { A: ['127.0.0.3', '127.0.0.2'], ttl: 7 },
    'v6.prod.local': { AAAA: ['::1'], ttl: 9 },
    '_http._tcp.api.prod.local': {
      SRV: [
        { priority: 1, weight: 0, port: 9001, target: 'a.prod.local' },
        { priority: 1, weight: 20, port: 9002, target: 'b.prod.local' },
        { priority: 2, weight: 5, port: 9003, target: 'c.prod.local' },
      ],
      ttl: 60,
    },
    'a.prod.local': { A: ['127.0.0.4'], ttl: 4 },
    'b.prod.local': { A: ['127.0.0.5'], ttl: 8 },
    'c.prod.local': { A: ['127.0.0.6'] },
    'broken.prod.local': { rcode: 2 },
  });
});
after(() => dns.close());

test('createDnsQuery against the test server: A with TTL (sorted), AAAA fallback, SRV top priority with ports and weights', async () => {
  const q = createDnsQuery({ servers: [dns.address], hosts: new Map() });
  assert.deepEqual(await q('users.prod.local'), { type: 'A', ttl: 7, addresses: [{ ip: '127.0.0.2' }, { ip: '127.0.0.3' }] });
  assert.deepEqual(await q('v6.prod.local'), { type: 'AAAA', ttl: 9, addresses: [{ ip: '::1' }] });
  assert.deepEqual(await q('_http._tcp.api.prod.local'), {
    type: 'SRV',
    ttl: 4,
    addresses: [
      { ip: '127.0.0.4', port: 9001, weight: 1 },
      { ip: '127.0.0.5', port: 9002, weight: 20 },
    ],
  });
  assert.ok((dns.queries.get('SRV users.prod.local') ?? 0) >= 1, 'SRV asked first (Kong dns_order LAST,SRV,A)');
});

test('createDnsQuery: NXDOMAIN and SERVFAIL in Kong words; the hosts file is answered locally', async () => {
  const q = createDnsQuery({ servers: [dns.address], hosts: new Map([['gw-hosts-entry.local', ['127.0.0.9']]]) });
  await assert.rejects(q('missing.prod.local'), (e: unknown) => e instanceof DnsError && e.notFound && /3 name error/.test(e.message));
  await assert.rejects(q('broken.prod.local'), (e: unknown) => e instanceof DnsError && !e.notFound && /2 server failure/.test(e.message));
  const before = dns.log.length;
  assert.deepEqual(await q('gw-hosts-entry.local'), { type: 'A', ttl: 3600, addresses: [{ ip: '127.0.0.9' }] });
  assert.equal(dns.log.length, before, 'no query for a hosts-file name');
});

test('DnsCache over the real query follows a zone change at the TTL', async () => {
  dns.zone.set('moving.prod.local', { A: ['127.0.0.2'], ttl: 1 });
  const changes: string[] = [];
  const c = new DnsCache({ query: createDnsQuery({ servers: [dns.address], hosts: new Map() }), onChange: (n) => changes.push(n) });
  c.lookup('moving.prod.local');
  await waitFor(() => c.lookup('moving.prod.local')?.record, 5000, 'first answer');
  dns.zone.set('moving.prod.local', { A: ['127.0.0.7'], ttl: 1 });
  await waitFor(() => c.lookup('moving.prod.local')?.record?.addresses[0]?.ip === '127.0.0.7', 5000, 'new answer');
  assert.deepEqual(changes, ['moving.prod.local', 'moving.prod.local']);
  c.close();
});
