// Requests node's HTTP parser refuses, sent over a real socket: Kong (nginx) accepts raw UTF-8
// bytes in the path (spec/02-integration/04-admin_api/09-routes_routes_spec.lua "retrieves by utf-8
// name and percent-escaped utf-8 name", unescaped form) and answers an unknown method with 405.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { admin } from './helpers.js';

function raw(port: number, bytes: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0), body });
    });
    s.on('error', reject);
    s.write(bytes);
  });
}

test('09-routes "retrieves by utf-8 name": raw UTF-8 bytes in the request line find the route; a body with them works too', async (t) => {
  const { app, call } = await admin();
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const created = (await call('POST', '/routes', { methods: ['GET'], name: '円' })).body;
  const get = await raw(port, Buffer.from('GET /routes/円 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'utf8'));
  assert.equal(get.status, 200);
  assert.deepEqual(JSON.parse(get.body), created);
  const body = JSON.stringify({ paths: ['/yen'] });
  const patch = await raw(
    port,
    Buffer.from(
      `PATCH /routes/円 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      'utf8',
    ),
  );
  assert.equal(patch.status, 200);
  assert.deepEqual((JSON.parse(patch.body) as { paths: string[] }).paths, ['/yen']);
  const missing = await raw(port, Buffer.from('GET /routes/円円 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'utf8'));
  assert.equal(missing.status, 404);
});

test('an unknown method token is 405 Method not allowed (Kong), not a parser 400', async (t) => {
  const { app } = await admin();
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const r = await raw(port, Buffer.from('FOO /routes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  assert.deepEqual([r.status, JSON.parse(r.body)], [405, { message: 'Method not allowed' }]);
  const garbage = await raw(port, Buffer.from('GET /routes HTTP/9.9\r\n\r\n'));
  assert.equal(garbage.status, 400, "other parser errors keep fastify's 400");
});
