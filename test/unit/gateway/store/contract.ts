/**
 * The Store contract (store/store.ts), one set of tests for every
 * implementation: `storeContract(name, factory)` registers them for a store
 * made by `factory`. memory.test.ts and file.test.ts run it; a PostgreSQL
 * store will too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { AnyEntity, EntityKind, Route, Service, Target, Upstream } from '../../../../gateway/src/entities/types.js';
import { isGwError } from '../../../../gateway/src/errors.js';
import type { ChangeEvent, Store, StoreReset } from '../../../../gateway/src/store/store.js';

export interface StoreFactoryOptions {
  /** the store clock, Unix seconds */
  now: () => number;
  /** changes kept for replay */
  history?: number;
}

export interface StoreHandle {
  store: Store;
  /** close and open the same store again (persistent stores only) */
  reopen?: () => Promise<Store>;
}

export type StoreFactory = (t: { after: (fn: () => Promise<void> | void) => void }, opts: StoreFactoryOptions) => Promise<StoreHandle>;

let seq = 0;
function entity<K extends EntityKind>(kind: K, input: Record<string, unknown>, now = 1_700_000_000): AnyEntity {
  const r = parseEntity(kind, input, { mode: 'create', now });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return r.value as unknown as AnyEntity;
}
const service = (name = `s${++seq}`) => entity('services', { name, host: `${name}.test` }) as Service;
const upstream = (name = `u${++seq}`) => entity('upstreams', { name }) as Upstream;
const target = (u: Upstream, address: string, extra: Record<string, unknown> = {}) =>
  ({ ...(entity('targets', { target: address, upstream: { id: u.id }, ...extra }) as Target), upstream: { id: u.id } }) as Target;
const route = (s: Service | null, name = `r${++seq}`) =>
  entity('routes', { name, paths: [`/${name}`], service: s ? { id: s.id } : null }) as Route;

const put = (kind: EntityKind, e: AnyEntity, extra: Record<string, unknown> = {}) => ({ op: 'put' as const, kind, entity: e, ...extra });
const del = (kind: EntityKind, id: string, extra: Record<string, unknown> = {}) => ({ op: 'delete' as const, kind, id, ...extra });

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err) => isGwError(err) && err.code === code);
}

export function storeContract(name: string, factory: StoreFactory): void {
  const make = async (t: Parameters<StoreFactory>[0], opts: Partial<StoreFactoryOptions> = {}) => {
    let now = 1_000;
    const h = await factory(t, { now: () => now, ...opts });
    return { ...h, at: (s: number) => (now = s) };
  };

  test(`${name}: names and upstream+target are unique; a failed batch changes nothing`, async (t) => {
    const { store } = await make(t);
    const u = upstream('u');
    await store.apply([put('services', service('a')), put('upstreams', u), put('targets', target(u, '127.0.0.1:80'))]);
    const rev = store.revision;
    await rejectsWith(store.apply([put('services', service('b')), put('services', service('a'))]), 'GW_ERR_STORE_UNIQUE');
    await rejectsWith(store.apply([put('targets', target(u, '127.0.0.1:80'))]), 'GW_ERR_STORE_UNIQUE');
    assert.equal(store.getByName('services', 'b'), undefined, 'the first op of the failed batch was rolled back');
    assert.deepEqual(
      store.all('services').map((s) => s.name),
      ['a'],
    );
    assert.equal(store.revision, rev);
    // a rename frees the old name
    const a = store.getByName('services', 'a')!;
    await store.apply([put('services', { ...a, name: 'a2' })]);
    assert.equal(store.getByName('services', 'a'), undefined);
    assert.equal(store.getByName('services', 'a2')?.id, a.id);
    await store.apply([put('services', service('a'))]);
    assert.equal(store.all('services').length, 2);
  });

  test(`${name}: foreign keys are enforced, deleting an upstream cascades to its targets`, async (t) => {
    const { store } = await make(t);
    const s = service();
    const u = upstream();
    await rejectsWith(store.apply([put('routes', route(s))]), 'GW_ERR_STORE_FOREIGN_KEY');
    await rejectsWith(store.apply([put('targets', target(u, '127.0.0.1:80'))]), 'GW_ERR_STORE_FOREIGN_KEY');
    const r = route(s);
    await store.apply([
      put('services', s),
      put('routes', r),
      put('upstreams', u),
      put('targets', target(u, '127.0.0.1:80')),
      put('targets', target(u, '127.0.0.2:80')),
    ]);
    assert.deepEqual(
      store.routesOf(s.id).map((x) => x.id),
      [r.id],
    );
    assert.deepEqual(
      store.targetsOf(u.id).map((x) => x.target),
      ['127.0.0.1:80', '127.0.0.2:80'],
    );
    assert.equal(store.getTarget(u.id, '127.0.0.2:80')?.target, '127.0.0.2:80');
    await assert.rejects(
      store.apply([del('services', s.id)]),
      (err) => isGwError(err) && err.code === 'GW_ERR_STORE_FOREIGN_KEY' && err.details?.referencedBy === 'routes',
    );
    const seen: string[] = [];
    store.subscribe((events) => seen.push(...events.map((e) => `${e.op}:${e.kind}`)));
    await store.apply([del('upstreams', u.id)]);
    assert.deepEqual(seen, ['delete:targets', 'delete:targets', 'delete:upstreams']);
    assert.deepEqual(store.all('targets'), []);
    assert.deepEqual(store.targetsOf(u.id), []);
    assert.equal(store.getTarget(u.id, '127.0.0.1:80'), undefined);
    await store.apply([del('routes', r.id), del('services', s.id)]);
    assert.deepEqual(store.routesOf(s.id), []);
  });

  test(`${name}: every change gets a strictly increasing revision, emitted after the write resolved its durability`, async (t) => {
    const { store } = await make(t);
    const start = store.revision;
    const events: ChangeEvent[] = [];
    store.subscribe((ev) => {
      // emitted only once committed: the store's revision already covers it
      assert.ok(store.revision >= ev[ev.length - 1]!.revision);
      events.push(...ev);
    });
    const writes = Array.from({ length: 20 }, () => store.apply([put('services', service())]));
    const results = await Promise.all(writes);
    const u = upstream();
    await store.apply([put('upstreams', u), put('targets', target(u, '127.0.0.1:80'))]);
    const revs = events.map((e) => e.revision);
    assert.equal(revs.length, 22);
    for (let i = 1; i < revs.length; i++) assert.ok(revs[i]! > revs[i - 1]!, `revisions increase: ${revs.join(',')}`);
    assert.ok(revs[0]! > start);
    assert.equal(store.revision, revs[revs.length - 1]);
    for (const r of results) {
      const e = r[0]!;
      assert.equal(store.revisionOf('services', e.entity.id), e.revision);
    }
  });

  test(`${name}: subscribe({ fromRevision }) replays what was missed`, async (t) => {
    const { store } = await make(t);
    await store.apply([put('services', service('one'))]);
    const from = store.revision;
    await store.apply([put('services', service('two'))]);
    await store.apply([put('services', service('three'))]);
    const replayed: string[] = [];
    store.subscribe((ev) => replayed.push(...ev.map((e) => (e.entity as Service).name!)), {
      fromRevision: from,
      onReset: () => assert.fail('no reset expected'),
    });
    assert.deepEqual(replayed, ['two', 'three'], 'replayed before subscribe returned');
    await store.apply([put('services', service('four'))]);
    assert.deepEqual(replayed, ['two', 'three', 'four']);
    // up to date: nothing replayed
    const none: ChangeEvent[] = [];
    store.subscribe((ev) => none.push(...ev), { fromRevision: store.revision });
    assert.deepEqual(none, []);
  });

  test(`${name}: a subscriber behind the bounded history gets a reset with the full state`, async (t) => {
    const { store } = await make(t, { history: 5 });
    await store.apply([put('services', service('old'))]);
    const from = store.revision;
    for (let i = 0; i < 12; i++) await store.apply([put('services', service())]);
    const resets: StoreReset[] = [];
    const changes: ChangeEvent[] = [];
    store.subscribe((ev) => changes.push(...ev), { fromRevision: from, onReset: (r) => resets.push(r) });
    assert.equal(resets.length, 1);
    assert.equal(changes.length, 0);
    assert.equal(resets[0]!.revision, store.revision);
    assert.equal(resets[0]!.state.services.length, 13);
    assert.throws(() => store.subscribe(() => undefined, { fromRevision: from }), /onReset/);
    // after the reset, changes flow as usual
    await store.apply([put('services', service('new'))]);
    assert.deepEqual(
      changes.map((e) => (e.entity as Service).name),
      ['new'],
    );
  });

  test(`${name}: preconditions ifRevision and ifAbsent make read-check-write safe`, async (t) => {
    const { store } = await make(t);
    const s = service('svc');
    await store.apply([put('services', s, { ifAbsent: true })]);
    const r1 = store.revisionOf('services', s.id)!;
    // a second create of the same name, by another id: conflict, not a second entity
    await rejectsWith(store.apply([put('services', service('svc'), { ifAbsent: true })]), 'GW_ERR_STORE_CONFLICT');
    await rejectsWith(store.apply([put('services', { ...s, retries: 1 }, { ifAbsent: true })]), 'GW_ERR_STORE_CONFLICT');
    // two writers read r1; the first wins, the second conflicts and changes nothing
    await store.apply([put('services', { ...s, retries: 1 }, { ifRevision: r1 })]);
    await rejectsWith(store.apply([put('services', { ...s, retries: 2 }, { ifRevision: r1 })]), 'GW_ERR_STORE_CONFLICT');
    assert.equal(store.get('services', s.id)?.retries, 1);
    const r2 = store.revisionOf('services', s.id)!;
    assert.ok(r2 > r1);
    await rejectsWith(store.apply([del('services', s.id, { ifRevision: r1 })]), 'GW_ERR_STORE_CONFLICT');
    assert.ok(store.get('services', s.id));
    await store.apply([del('services', s.id, { ifRevision: r2 })]);
    assert.equal(store.get('services', s.id), undefined);
    await rejectsWith(store.apply([put('services', s, { ifRevision: r2 })]), 'GW_ERR_STORE_CONFLICT');
    assert.equal(store.all('services').length, 0);
  });

  test(`${name}: touch renews a lease without an entity write; expiry is on the store clock`, async (t) => {
    const { store, at } = await make(t);
    const u = upstream();
    at(1000);
    await store.apply([
      put('upstreams', u),
      put('targets', target(u, '127.0.0.1:80', { ttl: 30 })),
      put('targets', target(u, '127.0.0.2:80')),
    ]);
    const leased = store.getTarget(u.id, '127.0.0.1:80')!;
    const plain = store.getTarget(u.id, '127.0.0.2:80')!;
    assert.equal(store.leaseOf(leased.id), 1030);
    assert.equal(store.leaseOf(plain.id), null);
    const rev = store.revision;
    const entityRev = store.revisionOf('targets', leased.id);
    const events: ChangeEvent[] = [];
    store.subscribe((ev) => events.push(...ev));
    at(1020);
    assert.equal(await store.touch(leased.id, 30), 1050);
    assert.equal(await store.touch('00000000-0000-4000-8000-000000000000', 30), undefined);
    assert.equal(store.revision, rev, 'a touch is not a change');
    assert.equal(store.revisionOf('targets', leased.id), entityRev);
    assert.deepEqual(events, []);
    assert.equal(store.get('targets', leased.id), leased, 'the entity is not rewritten');
    at(1049.9);
    assert.deepEqual(store.expiredLeases(), []);
    await rejectsWith(store.apply([del('targets', leased.id, { ifLeaseExpired: true })]), 'GW_ERR_STORE_CONFLICT');
    at(1050);
    assert.deepEqual(
      store.expiredLeases().map((x) => x.id),
      [leased.id],
    );
    await store.apply([del('targets', leased.id, { ifLeaseExpired: true })]);
    assert.equal(store.leaseOf(leased.id), null);
    assert.deepEqual(store.expiredLeases(), []);
    assert.equal(store.now(), 1050);
  });

  test(`${name}: reads are indexed and in insertion order`, async (t) => {
    const { store } = await make(t);
    const u1 = upstream();
    const u2 = upstream();
    const s = service();
    await store.apply([put('upstreams', u1), put('upstreams', u2), put('services', s)]);
    const ops = [];
    for (let i = 0; i < 50; i++) ops.push(put('targets', target(i % 2 ? u1 : u2, `10.0.${i}.1:80`)));
    for (let i = 0; i < 10; i++) ops.push(put('routes', route(i % 2 ? s : null, `route${i}`)));
    await store.apply(ops);
    assert.equal(store.targetsOf(u1.id).length, 25);
    assert.deepEqual(
      store.targetsOf(u2.id).map((x) => x.target),
      Array.from({ length: 25 }, (_, i) => `10.0.${i * 2}.1:80`),
    );
    assert.deepEqual(
      store.routesOf(s.id).map((r) => r.name),
      ['route1', 'route3', 'route5', 'route7', 'route9'],
    );
    assert.equal(store.getByName('routes', 'route4')?.service, null);
    // an update keeps its place
    const first = store.targetsOf(u2.id)[0]!;
    await store.apply([put('targets', { ...first, weight: 5 })]);
    assert.equal(store.targetsOf(u2.id)[0]!.weight, 5);
    assert.equal(store.all('targets').length, 50);
  });

  test(`${name}: timestamps come from the store clock`, async (t) => {
    const { store, at } = await make(t);
    at(1234.5);
    assert.equal(store.now(), 1234.5);
  });
}

/** Durability across reopen, for persistent stores. */
export function persistentStoreContract(name: string, factory: StoreFactory): void {
  test(`${name}: entities, revisions and leases survive a close and reopen`, async (t) => {
    let now = 1000;
    const h = await factory(t, { now: () => now });
    const store = h.store;
    const u = upstream();
    const s = service('kept');
    await store.apply([put('services', s), put('upstreams', u), put('targets', target(u, '127.0.0.1:80', { ttl: 30 }))]);
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.apply([put('services', service(`c${i}`))])));
    await store.apply([del('services', store.getByName('services', 'c3')!.id)]);
    const tg = store.getTarget(u.id, '127.0.0.1:80')!;
    now = 1010;
    await store.touch(tg.id, 30);
    const rev = store.revision;
    const sRev = store.revisionOf('services', s.id);
    const b = await h.reopen!();
    assert.equal(b.revision, rev);
    assert.equal(b.revisionOf('services', s.id), sRev);
    assert.equal(b.all('services').length, 30);
    assert.equal(b.getByName('services', 'c3'), undefined);
    assert.equal(b.getTarget(u.id, '127.0.0.1:80')?.id, tg.id);
    assert.equal(b.leaseOf(tg.id), 1040, 'the renewal was flushed on close');
    // revisions go on from where they were
    const [e] = await b.apply([put('services', service('next'))]);
    assert.ok(e!.revision > rev);
  });
}
