// Cases translated from Kong 3.x spec/02-integration/04-admin_api/07-upstreams_routes_spec.lua,
// 08-targets_routes_spec.lua, 10-services_routes_spec.lua and 14-tags_spec.lua (titles cite the Kong `it`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admin, CONTENT_TYPES } from './helpers.js';

const COOKIE_ERR =
  'contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\"/?={}[] are not allowed.';

test('07-upstreams POST "errors handles invalid input" (json, form and multipart)', async (t) => {
  const { app, send } = await admin();
  t.after(() => app.close());
  const cases: [Record<string, unknown>, Record<string, unknown>][] = [
    [{ slots: 50 }, { name: 'required field missing' }],
    [{ name: 'some invalid host name' }, { name: "Invalid name ('some invalid host name'); must be a valid hostname" }],
    [{ name: 'my.upstream', slots: 2 ** 16 + 1 }, { slots: 'value should be between 10 and 65536' }],
    [
      { name: 'my.upstream', hash_on: 'something that is invalid' },
      { hash_on: 'expected one of: none, consumer, ip, header, cookie, path, query_arg, uri_capture' },
    ],
    [
      { name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'something that is invalid' },
      {
        '@entity': ["failed conditional validation given value of field 'hash_on'"],
        hash_fallback: 'expected one of: none, ip, header, cookie, path, query_arg, uri_capture',
      },
    ],
    [
      { name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'consumer' },
      {
        '@entity': ["failed conditional validation given value of field 'hash_on'"],
        hash_fallback: 'expected one of: none, ip, header, cookie, path, query_arg, uri_capture',
      },
    ],
    [
      { name: 'my.upstream', hash_on: 'header', hash_fallback: 'header', hash_on_header: 'headername', hash_fallback_header: 'headername' },
      { '@entity': ["values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'"] },
    ],
    [
      {
        name: 'my.upstream',
        hash_on: 'cookie',
        hash_on_cookie: 'cookiename',
        hash_fallback: 'header',
        hash_fallback_header: 'Cool-Header',
      },
      { '@entity': ["failed conditional validation given value of field 'hash_on'"], hash_fallback: 'expected one of: none' },
    ],
    [
      { name: 'my.upstream', hash_on: 'header', hash_fallback: 'header', hash_fallback_header: 'HeaderName' },
      { '@entity': ["failed conditional validation given value of field 'hash_on'"], hash_on_header: 'required field missing' },
    ],
    [
      { name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'header' },
      { '@entity': ["failed conditional validation given value of field 'hash_fallback'"], hash_fallback_header: 'required field missing' },
    ],
    [{ name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'not a <> valid <> cookie name' }, { hash_on_cookie: COOKIE_ERR }],
    [
      { name: 'my.upstream', hash_on: 'cookie', hash_on_cookie: 'hashme', hash_on_cookie_path: 'not a path' },
      { hash_on_cookie_path: 'should start with: /' },
    ],
    [
      { name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'cookie', hash_on_cookie: 'not a <> valid <> cookie name' },
      { hash_on_cookie: COOKIE_ERR },
    ],
    [
      { name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'cookie', hash_on_cookie: 'my-cookie', hash_on_cookie_path: 'not a path' },
      { hash_on_cookie_path: 'should start with: /' },
    ],
  ];
  for (const type of CONTENT_TYPES) {
    for (const [body, fields] of cases) {
      const r = await send('POST', '/upstreams', body, type);
      assert.equal(r.status, 400, `${type} ${JSON.stringify(body)}`);
      assert.equal(r.body.name, 'schema violation');
      assert.deepEqual(r.body.fields, fields, `${type} ${JSON.stringify(body)}`);
    }
    const header = await send(
      'POST',
      '/upstreams',
      { name: 'my.upstream', hash_on: 'header', hash_fallback: 'consumer', hash_on_header: 'not a <> valid <> header name' },
      type,
    );
    assert.equal(
      (header.body.fields as Record<string, string>).hash_on_header,
      "bad header name 'not a <> valid <> header name', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
    );
  }
});

test('07-upstreams PUT "errors handles invalid input": name required; PUT /upstreams/1.2.3.4 answers the name message unwrapped', async (t) => {
  const { app, send } = await admin();
  t.after(() => app.close());
  for (const type of CONTENT_TYPES) {
    const missing = await send('PUT', '/upstreams/00000000-0000-0000-0000-000000000001', {}, type);
    assert.deepEqual([missing.status, missing.body.message], [400, 'schema violation (name: required field missing)']);
    const ip = await send('PUT', '/upstreams/1.2.3.4', { created_at: 1461276890000 }, type);
    assert.deepEqual([ip.status, ip.body.message], [400, "Invalid name ('1.2.3.4'); no ip addresses allowed"]);
  }
});

test('07-upstreams PUT "creates if not exists" and "replaces if exists"', async (t) => {
  const { app, send } = await admin();
  t.after(() => app.close());
  for (const type of CONTENT_TYPES) {
    const c = await send('PUT', `/upstreams/my-upstream-${type.length}`, { created_at: 1461276890000 }, type);
    assert.equal(c.status, 200, c.raw);
    assert.equal(typeof c.body.slots, 'number');
    const made = await send('POST', '/upstreams', { name: `my-upstream-r${type.length}`, slots: 100 }, type);
    const r = await send(
      'PUT',
      `/upstreams/${String(made.body.id)}`,
      { name: `my-new-upstream-${type.length}`, slots: 123, created_at: made.body.created_at },
      type,
    );
    assert.deepEqual([r.status, r.body.name, r.body.slots, r.body.id], [200, `my-new-upstream-${type.length}`, 123, made.body.id]);
  }
});

test('07-upstreams GET "returns bad request for empty tags", "ignores filters", "data property is an empty array"', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  assert.deepEqual((await call('GET', '/upstreams')).body, { data: [], next: null });
  assert.equal((await call('GET', '/upstreams?tags=')).body.message, 'invalid option (tags: cannot be null)');
  assert.equal((await call('GET', '/upstreams?foo=bar')).status, 200);
});

test('08-targets PUT "updates target (by id)" keeps the weight; "updates target (by target)" moves it', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('POST', '/upstreams', { name: 'u' });
  await call('POST', '/upstreams/u/targets', { target: 'api-1:80', weight: 10 });
  const target = (await call('POST', '/upstreams/u/targets', { target: 'api-2:80', weight: 10 })).body;
  const byId = await call('PUT', `/upstreams/u/targets/${String(target.id)}`, { target: 'api-2:801' });
  assert.equal(byId.status, 200);
  const got = (await call('GET', `/upstreams/u/targets/${String(target.id)}`)).body;
  assert.deepEqual([got.target, got.weight, got.created_at, got.upstream], ['api-2:801', 10, target.created_at, target.upstream]);
  const byTarget = await call('PUT', '/upstreams/u/targets/api-1:80', { target: 'api-1:801' });
  assert.equal(byTarget.status, 200);
  assert.equal((await call('GET', '/upstreams/u/targets/api-1:80')).status, 404);
  const moved = await call('GET', '/upstreams/u/targets/api-1:801');
  assert.deepEqual([moved.status, moved.body.weight], [200, 10]);
});

test('08-targets /targets/all "offset is a string", "next url ends with /targets/all", "paginates a set", "data property is an empty array"', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('POST', '/upstreams', { name: 'u' });
  await call('POST', '/upstreams', { name: 'empty' });
  for (let i = 1; i <= 10; i++) await call('POST', '/upstreams/u/targets', { target: `api-${i}:80`, weight: 100 });
  const first = await call('GET', '/upstreams/u/targets/all?size=3');
  assert.equal(typeof first.body.offset, 'string');
  assert.equal(first.body.next, `/upstreams/u/targets/all?offset=${encodeURIComponent(String(first.body.offset))}`);
  let offset: string | undefined;
  const sizes: number[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await call('GET', `/upstreams/u/targets/all?size=3${offset ? `&offset=${encodeURIComponent(offset)}` : ''}`);
    sizes.push((r.body.data as unknown[]).length);
    offset = r.body.offset as string | undefined;
  }
  assert.deepEqual(sizes, [3, 3, 3, 1]);
  const empty = await call('GET', '/upstreams/empty/targets/all');
  assert.deepEqual(empty.body, { data: [], next: null });
  assert.match(empty.raw, /"data":\[\]/);
});

test('08-targets /upstreams/{u}/health "with healthchecks off": HEALTHCHECKS_OFF, newest first; the list paginates (next: /upstreams/{u}/health?offset=)', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await call('POST', '/upstreams', { name: 'hu' });
  const made: Record<string, unknown>[] = [];
  for (let i = 1; i <= 4; i++) made.push((await call('POST', '/upstreams/hu/targets', { target: `127.0.0.1:8${i}`, weight: 10 })).body);
  for (const suffix of ['', '/']) {
    const r = await call('GET', `/upstreams/hu/health${suffix}`);
    const data = r.body.data as { id: string; target: string; health: string; data: { addresses: { health: string }[] } }[];
    assert.equal(r.body.node_id, '00000000-0000-4000-8000-000000000000');
    assert.equal(data.length, 4);
    assert.equal(data[0]!.id, made[3]!.id);
    assert.deepEqual([data[1]!.target, data[2]!.target], [made[2]!.target, made[1]!.target]);
    for (const d of data) {
      assert.equal(d.health, 'HEALTHCHECKS_OFF');
      assert.deepEqual(
        d.data.addresses.map((a) => a.health),
        ['HEALTHCHECKS_OFF'],
      );
    }
  }
  const page = await call('GET', '/upstreams/hu/health?size=3');
  assert.equal((page.body.data as unknown[]).length, 3);
  assert.equal(page.body.next, `/upstreams/hu/health?offset=${encodeURIComponent(String(page.body.offset))}`);
  const rest = await call('GET', `/upstreams/hu/health?size=3&offset=${encodeURIComponent(String(page.body.offset))}`);
  assert.deepEqual([(rest.body.data as { id: string }[]).map((d) => d.id), rest.body.next], [[made[0]!.id], null]);
});

test('10-services "GET /services/{s}/routes" next link carries the offset only; 14-tags "ignores tags when filtering by multiple filters #6779"', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  const s = (await call('POST', '/services', { name: 's', host: 'a.test' })).body;
  for (let i = 1; i <= 3; i++) await call('POST', '/routes', { paths: [`/r${i}`], service: { id: s.id }, tags: [`route_ ${i}`] });
  const page = await call('GET', '/services/s/routes?size=2&tags=route_%202');
  assert.equal((page.body.data as unknown[]).length, 2, 'the tag filter is ignored on a nested list');
  assert.equal(page.body.next, `/services/s/routes?offset=${encodeURIComponent(String(page.body.offset))}`);
});

test('14-tags "/entities?tags=": single, unicode, AND, OR, empty, mixed and non-UTF-8 filters, "returns the correct \'next\' arg"', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  for (let i = 1; i <= 2; i++)
    await call('POST', '/services', { name: `adminapi-filter-by-tag-${i}`, host: 'a.test', tags: ['corp_ a', `service_ ${i}`, '🦍'] });
  const n = async (q: string) => {
    const r = await call('GET', `/services?${q}`);
    return r.status === 200 ? (r.body.data as unknown[]).length : (r.body.message as string);
  };
  assert.equal(await n('tags=corp_%20a'), 2);
  assert.equal(await n(`tags=${encodeURIComponent('🦍')}`), 2);
  assert.equal(await n('tags='), 'invalid option (tags: cannot be null)');
  assert.equal(await n("tags=''"), 0);
  assert.equal(await n('tags=corp_%20a,service_%201'), 1);
  assert.equal(await n('tags=service_%202/service_%201'), 2);
  assert.equal(await n('tags=service_%203,service_%202/service_%201'), 'invalid option (tags: invalid filter syntax)');
  assert.equal(await n('tags=service_%203/service_%202,service_%201'), 'invalid option (tags: invalid filter syntax)');
  assert.equal(await n('tags=%FF'), 'invalid option (tags: invalid filter syntax)');
  const next = (await call('GET', '/services?tags=corp_%20a&size=1')).body.next as string;
  assert.ok(next.includes('tags=corp_%20a'), next);
  assert.ok(next.endsWith('&tags=corp_%20a&size=1'), next);
});

test('14-tags "/tags", "/tags/:tags", "with a not exist tag", "with invalid :tags value", "ignores ?tags= query"', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  for (let i = 1; i <= 2; i++) await call('POST', '/services', { name: `tagged-${i}`, host: 'a.test', tags: ['corp_ a', `service_ ${i}`] });
  assert.equal(((await call('GET', '/tags')).body.data as unknown[]).length, 4);
  assert.equal(((await call('GET', '/tags/corp_%20a')).body.data as unknown[]).length, 2);
  assert.equal(((await call('GET', '/tags/does-not-exist')).body.data as unknown[]).length, 0);
  const bad = await call('GET', '/tags/%FF');
  assert.equal(bad.status, 400);
  assert.match(String(bad.body.message), /invalid utf-8/);
  assert.equal(((await call('GET', '/tags?tags=not_a_tag')).body.data as unknown[]).length, 4);
  assert.equal(((await call('GET', '/tags?tags=invalid@tag')).body.data as unknown[]).length, 4);
  assert.equal(((await call('GET', '/tags/corp_%20a?tags=not_a_tag')).body.data as unknown[]).length, 2);
});

test('08-targets POST "creates a target with defaults", "without defaults", "with weight = 0" (trailing slash), "fails to create duplicated targets"', async (t) => {
  const { app, call, send } = await admin();
  t.after(() => app.close());
  for (const type of CONTENT_TYPES) {
    const u = `u${type.length}`;
    await call('POST', '/upstreams', { name: u, slots: 10 });
    const d = await send('POST', `/upstreams/${u}/targets/`, { target: 'konghq.test' }, type);
    assert.deepEqual([d.status, d.body.target, d.body.weight], [201, 'konghq.test:8000', 100], type);
    const w = await send('POST', `/upstreams/${u}/targets/`, { target: 'konghq.test:123', weight: 99 }, type);
    assert.deepEqual([w.status, w.body.target, w.body.weight], [201, 'konghq.test:123', 99]);
    const z = await send('POST', `/upstreams/${u}/targets/`, { target: 'zero.weight.test:8080', weight: 0 }, type);
    assert.deepEqual([z.status, z.body.weight], [201, 0]);
    assert.deepEqual((await call('GET', `/upstreams/${u}/targets/zero.weight.test:8080`)).body, z.body);
    assert.equal((await send('POST', `/upstreams/${u}/targets/`, { target: 'single-target.test:8080', weight: 1 }, type)).status, 201);
    assert.equal((await send('POST', `/upstreams/${u}/targets/`, { target: 'single-target.test:8080', weight: 100 }, type)).status, 409);
  }
});

test('08-targets POST "errors handles invalid input", "returns 405 on PUT/PATCH/DELETE", "/targets returns a 404"', async (t) => {
  const { app, call, send } = await admin();
  t.after(() => app.close());
  await call('POST', '/upstreams', { name: 'u', slots: 10 });
  for (const type of CONTENT_TYPES) {
    assert.deepEqual((await send('POST', '/upstreams/u/targets/', { weight: 0 }, type)).body.fields, { target: 'required field missing' });
    const bad = await send('POST', '/upstreams/u/targets/', { target: 'some invalid host name' }, type);
    assert.equal(bad.body.name, 'schema violation');
    assert.deepEqual(bad.body.fields, { target: 'Invalid target; not a valid hostname or ip address' });
    assert.deepEqual((await send('POST', '/upstreams/u/targets/', { target: 'konghq.test', weight: 65536 }, type)).body.fields, {
      weight: 'value should be between 0 and 65535',
    });
    for (const m of ['PUT', 'PATCH', 'DELETE'])
      assert.equal((await send(m, '/upstreams/u/targets/', { target: 'konghq.test' }, type)).status, 405);
  }
  assert.equal(
    (await call('POST', '/upstreams/u/targets/', '{"hello": "world"', { 'content-type': 'application/json' })).raw,
    '{"message":"Cannot parse JSON body"}',
  );
  const none = await call('GET', '/targets');
  assert.deepEqual([none.status, none.body.message], [404, 'Not found']);
});
