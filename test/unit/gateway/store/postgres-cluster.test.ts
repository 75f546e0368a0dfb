/**
 * The PostgreSQL store as several nodes see it: two or three stores on one
 * database (the real server), the change feed between them, leases judged
 * on the database clock by one sweeper, an outage through a TCP relay, a
 * malformed row, a newer schema and a wrong URL.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { AnyEntity, EntityKind, Service, Target, Upstream } from '../../../../gateway/src/entities/types.js';
import { isGwError } from '../../../../gateway/src/errors.js';
import { PostgresStore, type PostgresStoreOptions } from '../../../../gateway/src/store/postgres.js';
import { LOCK_MIGRATE } from '../../../../gateway/src/store/postgres/schema.js';
import type { ChangeEvent } from '../../../../gateway/src/store/store.js';
import { createTestDatabase, pgUrl, sql } from '../../../helpers/postgres.js';
import { startTcpRelay } from '../../../helpers/tcp-relay.js';

let seq = 0;
function entity(kind: EntityKind, input: Record<string, unknown>): AnyEntity {
  const r = parseEntity(kind, input, { mode: 'create', now: Date.now() / 1000 });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return r.value as unknown as AnyEntity;
}
const service = (name = `s${++seq}`) => entity('services', { name, host: `${name}.test` }) as Service;
const upstream = (name = `u${++seq}`) => entity('upstreams', { name }) as Upstream;
const target = (u: Upstream, address: string, extra: Record<string, unknown> = {}) =>
  ({ ...(entity('targets', { target: address, upstream: { id: u.id }, ...extra }) as Target), upstream: { id: u.id } }) as Target;
const put = (kind: EntityKind, e: AnyEntity) => ({ op: 'put' as const, kind, entity: e });

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function nodes(t: { after: (fn: () => Promise<void>) => void }, n: number, opts: Partial<PostgresStoreOptions> = {}, url?: string) {
  const db = url ? undefined : await createTestDatabase();
  const stores: PostgresStore[] = [];
  t.after(async () => {
    for (const s of stores) await s.close();
    await db?.drop();
  });
  for (let i = 0; i < n; i++) stores.push(new PostgresStore({ url: url ?? db!.url, pollMs: 200, backoffMs: [50, 200], ...opts }));
  await Promise.all(stores.map((s) => s.open()));
  return { stores, url: url ?? db!.url, db };
}

test('postgres: three nodes starting at once on an empty database all come up; a write on one reaches the others by NOTIFY', async (t) => {
  const { stores } = await nodes(t, 3, { pollMs: 60_000 }); // no periodic check: only the feed
  const [a, b, c] = stores as [PostgresStore, PostgresStore, PostgresStore];
  const seen: ChangeEvent[] = [];
  c.subscribe((ev) => seen.push(...ev));
  const s = service('users');
  await a.apply([put('services', s)]);
  const ms = await until('node C sees the service', () => c.getByName('services', 'users')?.id === s.id);
  assert.ok(ms < 2000, `propagation took ${ms} ms`);
  // B gets its own NOTIFY, in its own time (C having it says nothing about B)
  const msB = await until('node B sees the service', () => b.getByName('services', 'users')?.id === s.id);
  assert.ok(msB < 2000, `propagation to B took ${msB} ms`);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.op, 'create');
  assert.equal(seen[0]!.revision, a.revision);
  assert.equal(c.revision, a.revision);
  // a write on B after A's: revisions go on, one sequence for the cluster
  const before = a.revision;
  await b.apply([put('services', service('orders'))]);
  assert.equal(b.revision, before + 1); // (A may have had B's NOTIFY already by now: compare with what A had before)
  await until("node A sees B's write", () => a.revision === b.revision);
});

test('postgres: unique keys hold across nodes (two nodes racing for one name: one wins, the other gets UNIQUE)', async (t) => {
  const { stores } = await nodes(t, 2);
  const [a, b] = stores as [PostgresStore, PostgresStore];
  const results = await Promise.allSettled([a.apply([put('services', service('same'))]), b.apply([put('services', service('same'))])]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.ok(isGwError(lost.reason) && lost.reason.code === 'GW_ERR_STORE_UNIQUE', String(lost.reason));
  await until('both agree', () => a.revision === b.revision);
  assert.equal(a.all('services').length, 1);
  assert.equal(b.all('services').length, 1);
  assert.equal(a.all('services')[0]!.id, b.all('services')[0]!.id);
});

test('postgres: a renewal on another node is judged on the database clock: a sweeper with a stale copy cannot expire it', async (t) => {
  const { stores } = await nodes(t, 2, { pollMs: 60_000 }); // no lease polling: the sweeper's copy stays stale
  const [a, b] = stores as [PostgresStore, PostgresStore];
  await until('one sweeper', async () => {
    await Promise.all([a, b].map((s) => s.link.tryLocks()));
    return [a, b].filter((s) => s.sweeper).length === 1;
  });
  const sweeper = a.sweeper ? a : b;
  const other = a.sweeper ? b : a;
  const u = upstream();
  const tg = target(u, '127.0.0.1:80', { ttl: 1 });
  await sweeper.apply([put('upstreams', u), put('targets', tg)]);
  await until('the other node has the target', () => other.get('targets', tg.id) !== undefined);
  const end = await other.touch(tg.id, 60);
  assert.ok(end !== undefined && end > sweeper.now() + 50);
  // wait until the sweeper's own copy says the lease is over (ttl 1 s, plus the one-ttl grace after open)
  await until('the stale copy reports the lease as expired', () => sweeper.expiredLeases().some((x) => x.id === tg.id), 10_000);
  await assert.rejects(
    sweeper.apply([{ op: 'delete', kind: 'targets', id: tg.id, ifLeaseExpired: true }]),
    (err) => isGwError(err) && err.code === 'GW_ERR_STORE_CONFLICT',
  );
  assert.ok(sweeper.get('targets', tg.id), 'the live lease was not expired');
  assert.equal(sweeper.leaseOf(tg.id), end, 'the refused sweep refreshed the lease from the database');
  assert.deepEqual(sweeper.expiredLeases(), []);
  assert.deepEqual(other.expiredLeases(), [], 'a node that does not sweep never reports expiries');
});

test('postgres: an expired lease is reaped once for the whole cluster', async (t) => {
  const { stores } = await nodes(t, 3);
  const u = upstream();
  const tg = target(u, '127.0.0.1:80', { ttl: 1 });
  await stores[0]!.apply([put('upstreams', u), put('targets', tg)]);
  const deletes = [0, 0, 0];
  stores.forEach((s, i) => s.subscribe((ev) => (deletes[i] += ev.filter((e) => e.op === 'delete').length)));
  await until('every node has it', () => stores.every((s) => s.get('targets', tg.id)));
  // every node runs a sweep loop; only the sweeper finds anything
  const swept = [0, 0, 0];
  await until(
    'the lease is reaped',
    async () => {
      for (const [i, s] of stores.entries()) {
        const expired = s.expiredLeases();
        if (expired.length === 0) continue;
        await s.apply(
          expired.map((x) => ({
            op: 'delete',
            kind: 'targets',
            id: x.id,
            ifLeaseExpired: true,
            ifRevision: s.revisionOf('targets', x.id),
          })),
        );
        swept[i]! += expired.length;
      }
      return stores.every((s) => s.get('targets', tg.id) === undefined);
    },
    10_000,
  );
  assert.equal(
    swept.reduce((x, y) => x + y),
    1,
    `swept ${swept.join(',')}`,
  );
  assert.deepEqual(deletes, [1, 1, 1]);
});

test('postgres: during an outage reads keep answering, writes fail fast with 503 "database unavailable"; on return the node catches up', async (t) => {
  const db = await createTestDatabase();
  const relay = await startTcpRelay(5432);
  const viaRelay = new URL(db.url);
  viaRelay.port = String(relay.port);
  const cut = new PostgresStore({ url: viaRelay.toString(), pollMs: 100, backoffMs: [50, 200], queryTimeoutMs: 2000 });
  const direct = new PostgresStore({ url: db.url, pollMs: 100 });
  t.after(async () => {
    await cut.close();
    await direct.close();
    await relay.close();
    await db.drop();
  });
  await Promise.all([cut.open(), direct.open()]);
  const s = service('before');
  await cut.apply([put('services', s)]);
  await relay.cut();
  await until('the node notices', () => !cut.reachable);
  const started = Date.now();
  await assert.rejects(cut.apply([put('services', service('during'))]), (err) => {
    assert.ok(isGwError(err) && err.code === 'GW_ERR_STORE_DB_UNAVAILABLE', String(err));
    assert.match(err.message, /^database unavailable: 127\.0\.0\.1:\d+\/gw_test_/);
    assert.equal(err.status, 503);
    assert.doesNotMatch(err.message, /password/);
    return true;
  });
  assert.ok(Date.now() - started < 1000, 'fails fast');
  await assert.rejects(cut.touch('x', 30), (err) => isGwError(err) && err.code === 'GW_ERR_STORE_DB_UNAVAILABLE');
  assert.equal(cut.getByName('services', 'before')?.id, s.id, 'reads answer from memory');
  assert.deepEqual(cut.expiredLeases(), [], 'no expiry while the database is away');
  // the rest of the cluster goes on writing
  await direct.apply([put('services', service('meanwhile'))]);
  await relay.restore();
  await until('reconnected and caught up', () => cut.reachable && cut.getByName('services', 'meanwhile') !== undefined, 15_000);
  await cut.apply([put('services', service('after'))]);
  await until('the other node sees it', () => direct.getByName('services', 'after') !== undefined);
  assert.equal(cut.revision, direct.revision);
});

test('postgres: a malformed row in the change log is skipped, counted, and never stops the feed', async (t) => {
  const { stores, url } = await nodes(t, 2);
  const [a, b] = stores as [PostgresStore, PostgresStore];
  await a.apply([put('services', service('one'))]);
  await until('B caught up', () => b.revision === a.revision);
  // a row no gw wrote: revision next, body not an entity
  const bad = a.revision + 1;
  await sql(url, `INSERT INTO gw_changes (revision, at, op, kind, id, body) VALUES ($1, 0, 'create', 'services', 'x', '"garbage"')`, [bad]);
  await sql(url, 'UPDATE gw_meta SET revision = $1', [bad]);
  await until('B moved past it', () => b.revision === bad);
  assert.equal(b.malformedRows, 1);
  await a.apply([put('services', service('two'))]);
  await until('B goes on following', () => b.getByName('services', 'two') !== undefined);
  assert.equal(b.all('services').length, 2);
});

test('postgres: a schema newer than the node knows is refused with a clear message; a wrong database names it', async (t) => {
  const db = await createTestDatabase();
  t.after(() => db.drop());
  const first = new PostgresStore({ url: db.url });
  await first.open();
  await first.close();
  await sql(db.url, 'UPDATE gw_meta SET version = 99');
  const newer = new PostgresStore({ url: db.url });
  await assert.rejects(
    newer.open(),
    (err) => isGwError(err) && err.code === 'GW_ERR_STORE_SCHEMA' && /version 99, newer than this gw-gateway knows \(1\)/.test(err.message),
  );
  await newer.close();
  const missing = new PostgresStore({ url: pgUrl('gw_no_such_database'), openTimeoutMs: 5000 });
  await assert.rejects(missing.open(), (err) => {
    assert.ok(isGwError(err) && err.code === 'GW_ERR_STORE_DB_UNAVAILABLE', String(err));
    assert.match(err.message, /127\.0\.0\.1:5432\/gw_no_such_database/);
    assert.match(err.message, /does not exist/);
    return true;
  });
  await missing.close();
  // nothing listens: waited for, then given up with the address named
  const nobody = new PostgresStore({ url: 'postgres://gw:s3cret@127.0.0.1:1/gw', openTimeoutMs: 600, backoffMs: [50, 100] });
  await assert.rejects(
    nobody.open(),
    (err) => isGwError(err) && /127\.0\.0\.1:1\/gw: .*gave up/.test(err.message) && !err.message.includes('s3cret'),
  );
  await nobody.close();
});

test('postgres: a node that starts while another holds the migration lock waits for it, longer than its query timeout, then opens', async (t) => {
  const db = await createTestDatabase();
  const pg = (await import('pg')).default;
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  const store = new PostgresStore({ url: db.url, pollMs: 100, queryTimeoutMs: 300 });
  t.after(async () => {
    await store.close();
    await holder.end().catch(() => undefined);
    await db.drop();
  });
  await holder.query('BEGIN');
  await holder.query('SELECT pg_advisory_xact_lock($1)', [LOCK_MIGRATE]);
  const opening = store.open();
  // held for five query timeouts: a single blocking lock query would have been cut after 300 ms
  await new Promise((r) => setTimeout(r, 1500));
  await holder.query('COMMIT');
  await opening;
  await store.apply([put('services', service('after-wait'))]);
  assert.equal(store.getByName('services', 'after-wait')?.name, 'after-wait');
});
