import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMultipart } from '../../../../gateway/src/admin/body.js';
import { createAdminServer } from '../../../../gateway/src/admin/server.js';
import { silentLogger } from '../../../../gateway/src/observability/log.js';
import { MemoryStore } from '../../../../gateway/src/store/memory.js';

async function admin() {
  const store = new MemoryStore();
  await store.open();
  const app = await createAdminServer({
    store,
    logger: silentLogger(),
    isReady: () => true,
    nodeId: '00000000-0000-4000-8000-000000000000',
  });
  const call = async (method: string, url: string, payload?: string, headers: Record<string, string> = {}) => {
    const r = await app.inject({ method: method as 'GET', url, payload, headers });
    return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as Record<string, unknown>) : {} };
  };
  return { app, store, call };
}

const json = { 'content-type': 'application/json' };

test('a write whose JSON body is not an object is 400 and changes nothing (issue 12, point 8)', async (t) => {
  const { app, store, call } = await admin();
  t.after(() => app.close());
  assert.equal((await call('PUT', '/services/s', '{"host":"s.test","retries":2}', json)).status, 200);
  assert.equal((await call('PUT', '/upstreams/u', '{"slots":100}', json)).status, 200);
  assert.equal((await call('PUT', '/upstreams/u/targets/127.0.0.1:80', '{"weight":7}', json)).status, 200);
  const before = JSON.stringify([store.all('services'), store.all('upstreams'), store.all('targets')]);
  const cases: [string, string][] = [
    ['123', 'a number'],
    ['true', 'a boolean'],
    ['null', 'null'],
    ['"x"', 'a string'],
    ['[]', 'an array'],
    ['[{"host":"x"}]', 'an array'],
  ];
  for (const [body, got] of cases) {
    for (const [method, url] of [
      ['PUT', '/services/s'],
      ['PATCH', '/services/s'],
      ['POST', '/services'],
      ['PUT', '/upstreams/u'],
      ['PATCH', '/upstreams/u/targets/127.0.0.1:80'],
      ['PUT', '/upstreams/u/targets/127.0.0.1:80'],
      ['POST', '/upstreams/u/targets'],
    ] as const) {
      const r = await call(method, url, body, json);
      assert.equal(r.status, 400, `${method} ${url} ${body}`);
      assert.equal(r.body.message, `Cannot parse JSON body: expected a JSON object, got ${got}`);
    }
  }
  assert.equal(JSON.stringify([store.all('services'), store.all('upstreams'), store.all('targets')]), before);
  assert.equal(store.get('services', store.getByName('services', 's')!.id)!.retries, 2);
});

test('a write with an unsupported or missing content type is 415 and changes nothing; reads ignore bodies', async (t) => {
  const { app, store, call } = await admin();
  t.after(() => app.close());
  assert.equal((await call('PUT', '/services/s', '{"host":"s.test","retries":2}', json)).status, 200);
  for (const type of ['text/plain', 'application/xml', 'invalid', 'application/octet-stream']) {
    const r = await call('PUT', '/services/s', '{"host":"other.test"}', { 'content-type': type });
    assert.equal(r.status, 415, type);
    assert.match(String(r.body.message), new RegExp(`^Unsupported Media Type '${type}'`));
  }
  const none = await app.inject({ method: 'PATCH', url: '/services/s', payload: Buffer.from('retries=9') });
  assert.equal(none.statusCode, 415);
  assert.match(none.body, /no Content-Type/);
  assert.equal(store.getByName('services', 's')!.host, 's.test');
  assert.equal(store.getByName('services', 's')!.retries, 2);
  // a body on GET or DELETE is ignored, whatever it is
  assert.equal((await call('GET', '/services/s', '123', json)).status, 200);
  assert.equal((await call('GET', '/services/s', 'x', { 'content-type': 'text/plain' })).status, 200);
  // an empty JSON body stays "no fields" (heartbeats and Kong clients send those)
  assert.equal((await call('PATCH', '/services/s', '', json)).status, 200);
  assert.equal(store.getByName('services', 's')!.retries, 2);
});

test('multipart/form-data bodies are read as form fields (Kong: curl -F)', async (t) => {
  const { app, store, call } = await admin();
  t.after(() => app.close());
  const body = [
    '--b0undary',
    'Content-Disposition: form-data; name="name"',
    '',
    'm',
    '--b0undary',
    'Content-Disposition: form-data; name="host"',
    '',
    'm.test',
    '--b0undary',
    'Content-Disposition: form-data; name="tags[]"',
    '',
    'a',
    '--b0undary',
    'Content-Disposition: form-data; name="tags[]"',
    '',
    'b',
    '--b0undary',
    'Content-Disposition: form-data; name="retries"',
    '',
    '4',
    '--b0undary--',
    '',
  ].join('\r\n');
  const r = await call('POST', '/services', body, { 'content-type': 'multipart/form-data; boundary=b0undary' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual([r.body.host, r.body.retries, r.body.tags], ['m.test', 4, ['a', 'b']]);
  const bad = await call('PATCH', '/services/m', '--b0undary\r\nno headers here', {
    'content-type': 'multipart/form-data; boundary=b0undary',
  });
  assert.equal(bad.status, 400);
  assert.equal((await call('PATCH', '/services/m', 'x', { 'content-type': 'multipart/form-data' })).status, 400);
  assert.equal(store.getByName('services', 'm')!.retries, 4);
});

test('parseMultipart: fields, repeated names, file parts as text, malformed input', () => {
  const mk = (...parts: string[]) => parts.map((p) => `--B\r\n${p}`).join('\r\n') + '\r\n--B--\r\n';
  assert.deepEqual(
    {
      ...parseMultipart(mk('Content-Disposition: form-data; name="a"\r\n\r\n1', 'Content-Disposition: form-data; name="a"\r\n\r\n2'), 'B'),
    },
    { a: ['1', '2'] },
  );
  assert.deepEqual(
    {
      ...parseMultipart(
        mk('Content-Disposition: form-data; name="f"; filename="x.txt"\r\nContent-Type: text/plain\r\n\r\nline1\r\nline2'),
        'B',
      ),
    },
    { f: 'line1\r\nline2' },
  );
  assert.equal(parseMultipart(mk('Content-Type: text/plain\r\n\r\nno name'), 'B'), undefined);
  assert.equal(parseMultipart('--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n1', 'B'), undefined);
  assert.deepEqual({ ...parseMultipart('', 'B') }, {});
});
