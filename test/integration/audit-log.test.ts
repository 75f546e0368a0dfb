import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startGateway } from '../../gateway/src/gateway.js';
import { isGwError } from '../../gateway/src/errors.js';
import { AdminClient } from '../helpers/gateway.js';

const ADMIN = 'admin-token-0123456789';
const USERS = 'users-registration-token-01';

const lines = async (file: string): Promise<Record<string, unknown>[]> =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('audit log: one JSON line per Admin API write (refused ones too), caller and entity named, never a token or a body', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-audit-'));
  const file = join(dir, 'audit.log');
  const gw = await startGateway({ store: 'memory', adminToken: ADMIN, registrationTokens: { users: USERS }, auditLog: file });
  t.after(async () => {
    await gw.close(0);
    await rm(dir, { recursive: true, force: true });
  });
  const admin = new AdminClient(gw.adminUrl, ADMIN);
  const users = new AdminClient(gw.adminUrl, USERS);
  const secretTag = 'body-secret-value-xyz';
  const up = await admin.call<{ id: string }>('PUT', '/upstreams/users.upstream', { tags: [secretTag] });
  assert.equal(up.status, 200);
  assert.equal((await admin.call('GET', '/upstreams/users.upstream')).status, 200); // reads are not audited
  const target = await users.call<{ id: string }>('PUT', '/upstreams/users.upstream/targets/127.0.0.1:80?x=1', {
    tags: ['gw', 'gw-instance:a'],
  });
  assert.equal(target.status, 200);
  assert.equal((await users.call('DELETE', '/services/billing')).status, 403);
  assert.equal((await new AdminClient(gw.adminUrl).call('POST', '/services', { name: 'x', host: 'x' })).status, 401);
  assert.equal((await users.call('DELETE', '/upstreams/users.upstream/targets/127.0.0.1:80')).status, 204);

  const got = await lines(file);
  assert.equal(got.length, 5, JSON.stringify(got));
  for (const l of got) {
    assert.match(String(l.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(l.client, '127.0.0.1');
    assert.equal(l.log, 'audit');
  }
  const pick = (l: Record<string, unknown>) => [l.caller, l.method, l.path, l.status, l.entity];
  assert.deepEqual(pick(got[0]!), [
    'admin',
    'PUT',
    '/upstreams/users.upstream',
    200,
    { kind: 'upstreams', key: 'users.upstream', id: up.body.id },
  ]);
  assert.deepEqual(pick(got[1]!), [
    'registration:users',
    'PUT',
    '/upstreams/users.upstream/targets/127.0.0.1:80',
    200,
    { kind: 'targets', key: '127.0.0.1:80', id: target.body.id },
  ]);
  assert.deepEqual(pick(got[2]!), ['registration:users', 'DELETE', '/services/billing', 403, { kind: 'services', key: 'billing' }]);
  assert.deepEqual(pick(got[3]!), ['anonymous', 'POST', '/services', 401, { kind: 'services' }]);
  assert.deepEqual(pick(got[4]!), [
    'registration:users',
    'DELETE',
    '/upstreams/users.upstream/targets/127.0.0.1:80',
    204,
    { kind: 'targets', key: '127.0.0.1:80' },
  ]);
  const text = await readFile(file, 'utf8');
  for (const secret of [ADMIN, USERS, secretTag, 'gw-instance']) assert.ok(!text.includes(secret), `${secret} leaked into the audit log`);
});

test('audit log: an unwritable --audit-log path fails start-up with a clear message', async () => {
  const missing = join(tmpdir(), `gw-no-such-dir-${process.pid}`, 'audit.log');
  await assert.rejects(
    startGateway({ store: 'memory', auditLog: missing }),
    (err: unknown) => isGwError(err) && err.message.includes(`--audit-log ${missing}: cannot open it for appending (ENOENT)`),
  );
});
