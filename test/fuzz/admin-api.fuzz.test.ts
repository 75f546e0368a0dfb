/**
 * Property-based fuzz of the Admin API (issue 12): bodies generated from the
 * zod entity schemas, near them (right fields, plausible values) and off them
 * (wrong types, nulls, extra keys, huge values, nested junk), sent to a real
 * in-process gateway on a file store. Properties: no 5xx, every answer is
 * JSON, the store's invariants hold, and the state survives a restart.
 *
 * GW_FUZZ_RUNS (default 2500) and GW_FUZZ_SEED (default: time-based) tune a
 * run; the seed is printed on failure, so `GW_FUZZ_SEED=<seed>` replays it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { Pool } from 'undici';
import { z } from 'zod';
import { routeSchema } from '../../gateway/src/entities/routes.js';
import { serviceSchema } from '../../gateway/src/entities/services.js';
import { targetSchema } from '../../gateway/src/entities/targets.js';
import { upstreamSchema } from '../../gateway/src/entities/upstreams.js';
import { startGateway } from '../../gateway/src/gateway.js';
import { NO_DNS } from '../helpers/gateway.js';
import { FileStore } from '../../gateway/src/store/file.js';
import type { Store } from '../../gateway/src/store/store.js';

const RUNS = Number(process.env.GW_FUZZ_RUNS ?? 2500);
const SEED = Number(process.env.GW_FUZZ_SEED ?? Date.now() % 2 ** 31);

/** Values of no particular type: what a careless or hostile client sends. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -0, 65536, 4294967296),
  fc.string({ maxLength: 30 }),
  fc.constantFrom('x'.repeat(70_000), '\u0000', '__proto__', '../../etc', '%00', '🦄'.repeat(300), ' '),
  fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.constant(null)), { maxLength: 5 }),
  fc.array(fc.constant('t'), { minLength: 1000, maxLength: 1200 }),
  fc.object({ maxDepth: 3, maxKeys: 4 }),
);

function unwrap(s: z.ZodTypeAny): z.ZodTypeAny {
  let cur = s;
  for (let i = 0; i < 16; i++) {
    if (cur instanceof z.ZodDefault) cur = cur._def.innerType as z.ZodTypeAny;
    else if (cur instanceof z.ZodOptional || cur instanceof z.ZodNullable) cur = cur.unwrap() as z.ZodTypeAny;
    else if (cur instanceof z.ZodEffects) cur = cur.innerType() as z.ZodTypeAny;
    else if (cur instanceof z.ZodPipeline) cur = cur._def.in as z.ZodTypeAny;
    else if (cur instanceof z.ZodLazy) cur = cur.schema as z.ZodTypeAny;
    else break;
  }
  return cur;
}

const names = fc.constantFrom('s0', 's1', 's2', 'u0', 'u1', 'r0', 'r1', 'a.b', 'x');
const plainString = fc.oneof(
  names,
  fc.constantFrom('127.0.0.1:80', '127.0.0.2', 'localhost:0', '[::1]:8080', 'host.test', '/api', 'http', 'https', 'GET', '*.example.com'),
  fc.string({ maxLength: 12 }),
);

/** A value shaped like `schema` (often valid, sometimes not: constraints are not modelled), or junk. */
function near(schema: z.ZodTypeAny, depth = 0): fc.Arbitrary<unknown> {
  const t = unwrap(schema);
  const shaped = ((): fc.Arbitrary<unknown> => {
    if (t instanceof z.ZodString) return plainString;
    if (t instanceof z.ZodNumber)
      return fc.oneof(fc.integer({ min: -2, max: 70_000 }), fc.constantFrom(0, 1, 5, 10, 30, 100, 1000, 65535, 86400, 0.5));
    if (t instanceof z.ZodBoolean) return fc.boolean();
    if (t instanceof z.ZodEnum) return fc.constantFrom(...(t.options as string[]));
    if (t instanceof z.ZodLiteral) return fc.constant(t.value as unknown);
    if (t instanceof z.ZodUnion) return fc.oneof(...(t.options as z.ZodTypeAny[]).map((o) => near(o, depth + 1)));
    if (depth > 4) return junk;
    if (t instanceof z.ZodArray) return fc.array(near(t.element as z.ZodTypeAny, depth + 1), { maxLength: 4 });
    if (t instanceof z.ZodSet) return fc.array(near(t._def.valueType as z.ZodTypeAny, depth + 1), { maxLength: 4 });
    if (t instanceof z.ZodRecord)
      return fc.dictionary(fc.string({ maxLength: 6 }), near(t.valueSchema as z.ZodTypeAny, depth + 1), { maxKeys: 3 });
    if (t instanceof z.ZodObject) return body(t as z.ZodObject<z.ZodRawShape>, depth + 1);
    return junk;
  })();
  return fc.oneof({ weight: 12, arbitrary: shaped }, { weight: 1, arbitrary: junk });
}

/** An object with some of the schema's keys (near or junk) and maybe extra keys. */
function body(schema: z.ZodObject<z.ZodRawShape>, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const shape = schema.shape as Record<string, z.ZodTypeAny>;
  // a few of the schema's keys at a time (all of them at once almost never validates)
  const keys = Object.keys(shape).filter((k) => k !== 'id' && k !== 'created_at' && k !== 'updated_at');
  const fields = fc
    .subarray([...keys, 'id', 'created_at'], { maxLength: depth === 0 ? 3 : 2 })
    .chain((ks) => fc.record(Object.fromEntries(ks.map((k) => [k, near(shape[k]!, depth)]))) as fc.Arbitrary<Record<string, unknown>>);
  const extra = fc.option(
    fc.dictionary(fc.constantFrom('extra', '__proto__', 'constructor', 'gw', 'ttl', 'upstream', 'service', 'url', 'plugins'), junk, {
      maxKeys: 2,
    }),
    { freq: 4 },
  );
  return fc.tuple(fields, extra).map(([f, e]) => (e ? { ...f, ...JSON.parse(JSON.stringify(e)) } : f) as Record<string, unknown>);
}

const objectOf = (s: z.ZodTypeAny) => unwrap(s) as z.ZodObject<z.ZodRawShape>;
const svc = fc.constantFrom('s0', 's1', 's2');
const ups = fc.constantFrom('u0', 'u1', 'u2');
const rt = fc.constantFrom('r0', 'r1', 'r2');
const tgt = fc.constantFrom('127.0.0.1:80', '127.0.0.2:80', '127.0.0.3:8080');

interface Req {
  method: string;
  path: string;
  body?: unknown;
  raw?: string;
  type?: string;
}

/** most bodies carry what the entity requires, so writes also succeed and the state grows */
const withRequired = <T extends Record<string, unknown>>(a: fc.Arbitrary<T>, required: Record<string, fc.Arbitrary<unknown>>) =>
  fc.tuple(a, fc.record(required), fc.integer({ min: 0, max: 3 })).map(([b, r, n]) => (n === 0 ? b : { ...r, ...b }));
const serviceBody = withRequired(body(objectOf(serviceSchema)), { host: fc.constantFrom('s.test', 'u0', 'u1', '127.0.0.9') });
const routeBody = fc
  .tuple(withRequired(body(objectOf(routeSchema)), { paths: fc.constantFrom(['/a'], ['/b', '/c'], ['/r0']) }), fc.option(svc))
  .map(([b, s]) => (s ? { ...b, service: { name: s } } : b));
const upstreamBody = body(objectOf(upstreamSchema));
const targetBody = body(objectOf(targetSchema));
/** a body that is not an object, or not JSON, or of another type */
const rawBody = fc.oneof(
  fc
    .constantFrom('123', 'true', 'null', '"x"', '[]', '[{}]', '{', '{"a":', '', ' ', '{"__proto__":{"x":1}}')
    .map((raw) => ({ raw, type: 'application/json' })),
  fc
    .tuple(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=b',
        'multipart/form-data',
        'application/xml',
        'invalid',
      ),
    )
    .map(([raw, type]) => ({ raw, type })),
);

const request: fc.Arbitrary<Req> = fc.oneof(
  serviceBody.map((b) => ({ method: 'POST', path: '/services', body: b })),
  fc.tuple(fc.constantFrom('PUT', 'PATCH'), svc, serviceBody).map(([m, s, b]) => ({ method: m, path: `/services/${s}`, body: b })),
  fc.tuple(svc, rt, routeBody).map(([s, r, b]) => ({ method: 'PUT', path: `/services/${s}/routes/${r}`, body: b })),
  routeBody.map((b) => ({ method: 'POST', path: '/routes', body: b })),
  fc.tuple(fc.constantFrom('PUT', 'PATCH'), rt, routeBody).map(([m, r, b]) => ({ method: m, path: `/routes/${r}`, body: b })),
  fc.tuple(fc.constantFrom('PUT', 'PATCH'), ups, upstreamBody).map(([m, u, b]) => ({ method: m, path: `/upstreams/${u}`, body: b })),
  upstreamBody.map((b) => ({ method: 'POST', path: '/upstreams', body: b })),
  fc
    .tuple(fc.constantFrom('PUT', 'PATCH'), ups, tgt, targetBody)
    .map(([m, u, t, b]) => ({ method: m, path: `/upstreams/${u}/targets/${t}`, body: b })),
  fc.tuple(ups, targetBody).map(([u, b]) => ({ method: 'POST', path: `/upstreams/${u}/targets`, body: b })),
  fc
    .tuple(
      fc.constantFrom('PUT', 'PATCH', 'POST'),
      fc.constantFrom('/services/s0', '/upstreams/u0', '/upstreams/u0/targets/127.0.0.1:80', '/services'),
      rawBody,
    )
    .map(([m, p, r]) => ({ method: m, path: p, ...r })),
  fc
    .tuple(fc.constantFrom('/services/', '/routes/', '/upstreams/'), fc.constantFrom('s0', 'r0', 'u1', 'u2'))
    .map(([p, k]) => ({ method: 'DELETE', path: p + k })),
  fc.tuple(ups, tgt).map(([u, t]) => ({ method: 'DELETE', path: `/upstreams/${u}/targets/${t}` })),
);

function invariants(store: Store): void {
  for (const t of store.all('targets')) assert.ok(store.get('upstreams', t.upstream.id), `target ${t.target} points at a missing upstream`);
  for (const r of store.all('routes'))
    if (r.service) assert.ok(store.get('services', r.service.id), `route ${r.id} points at a missing service`);
  for (const kind of ['services', 'routes', 'upstreams'] as const) {
    const seen = new Set<string>();
    for (const e of store.all(kind)) {
      if (e.name === null || e.name === undefined) continue;
      assert.ok(!seen.has(e.name), `two ${kind} named ${e.name}`);
      seen.add(e.name);
    }
  }
  const addresses = new Set<string>();
  for (const t of store.all('targets')) {
    const k = `${t.upstream.id} ${t.target}`;
    assert.ok(!addresses.has(k), `two targets ${t.target} in one upstream`);
    addresses.add(k);
  }
}

const dump = (store: Store) =>
  Object.fromEntries(
    (['services', 'routes', 'upstreams', 'targets'] as const).map((k) => [k, [...store.all(k)].sort((a, b) => a.id.localeCompare(b.id))]),
  );

test(`Admin API fuzz: ${RUNS} generated requests, no 5xx, invariants hold, state survives a restart`, { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-fuzz-'));
  const gw = await startGateway({ store: 'file', dataDir: dir, leaseSweepMs: 3_600_000, dnsResolver: NO_DNS });
  const pool = new Pool(gw.adminUrl, { connections: 1, pipelining: 1 });
  t.after(async () => {
    await pool.close().catch(() => undefined);
    await gw.close(0).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  let sent = 0;
  const statuses = new Map<number, number>();
  const started = Date.now();
  try {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const payload = r.raw ?? (r.body === undefined ? undefined : JSON.stringify(r.body));
        const headers: Record<string, string> = {};
        if (payload !== undefined) headers['content-type'] = r.type ?? 'application/json';
        const res = await pool.request({ method: r.method as 'GET', path: r.path, headers, body: payload });
        const text = await res.body.text();
        sent++;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        assert.ok(res.statusCode < 500, `${r.method} ${r.path} ${String(payload).slice(0, 300)} → ${res.statusCode} ${text.slice(0, 300)}`);
        if (text !== '') JSON.parse(text);
        if (sent % 250 === 0) invariants(gw.store);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  } catch (err) {
    throw new Error(`Admin API fuzz failed with GW_FUZZ_SEED=${SEED} after ${sent} requests: ${(err as Error).message}`);
  }
  invariants(gw.store);
  const status = await pool.request({ method: 'GET', path: '/status' });
  assert.equal(status.statusCode, 200, 'still serving');
  await status.body.dump();
  t.diagnostic(
    `seed ${SEED}: ${sent} requests in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; entities ${JSON.stringify(Object.fromEntries(Object.entries(dump(gw.store)).map(([k, v]) => [k, v.length])))}`,
  );
  assert.ok(sent >= RUNS, `${sent} requests`);
  await pool.close();
  await gw.close(0);
  const before = dump(gw.store);
  const reopened = new FileStore(dir);
  await reopened.open();
  assert.deepEqual(dump(reopened), before, 'the state survives a restart');
  invariants(reopened);
  await reopened.close();
});
