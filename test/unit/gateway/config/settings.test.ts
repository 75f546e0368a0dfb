import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopback, parseListen, readSettingsFile, resolveSettings } from '../../../../gateway/src/config/settings.js';
import { isGwError } from '../../../../gateway/src/errors.js';

test('defaults follow DESIGN §4', () => {
  const s = resolveSettings({}, {});
  assert.deepEqual(s.proxy, { host: '0.0.0.0', port: 8000 });
  assert.deepEqual(s.admin, { host: '127.0.0.1', port: 8001 });
  assert.equal(s.store, 'file');
  assert.equal(s.dataDir, './gw-data');
  assert.equal(s.logLevel, 'info');
  assert.equal(s.workers, 1);
  assert.equal(s.kongOnly, false);
  assert.ok(Object.isFrozen(s));
});

test('flags win over env, env over the settings file, the file over defaults', () => {
  const file = { proxyListen: '127.0.0.1:7000', logLevel: 'warn', dataDir: '/file' };
  const env = { GW_PROXY_LISTEN: '127.0.0.1:7100', GW_LOG_LEVEL: 'debug' };
  const s = resolveSettings({ proxyListen: '127.0.0.1:7200' }, env, file);
  assert.equal(s.proxy.port, 7200);
  assert.equal(s.logLevel, 'debug');
  assert.equal(s.dataDir, '/file');
});

test('bad values name the flag or env variable at fault', () => {
  const cases: [Parameters<typeof resolveSettings>[0], NodeJS.ProcessEnv, RegExp][] = [
    [{ store: 'mysql' }, {}, /--store: 'mysql' is invalid/],
    [{}, { GW_LOG_LEVEL: 'loud' }, /GW_LOG_LEVEL: 'loud' is invalid/],
    [{ proxyListen: 'nope' }, {}, /--proxy-listen: 'nope' is not HOST:PORT/],
    [{ workers: 'two' }, {}, /--workers: 'two' is invalid/],
    [{ store: 'postgres' }, {}, /--pg-url/],
  ];
  for (const [flags, env, re] of cases) {
    assert.throws(
      () => resolveSettings(flags, env),
      (err) => isGwError(err) && re.test(err.message),
      String(re),
    );
  }
});

test('admin on a non-loopback address needs a token', () => {
  assert.throws(
    () => resolveSettings({ adminListen: '0.0.0.0:8001' }, {}),
    (err) => isGwError(err) && err.code === 'GW_ERR_CONFIG_ADMIN_UNPROTECTED',
  );
  assert.equal(resolveSettings({ adminListen: '0.0.0.0:8001', adminToken: 'a-token-of-16-ch' }, {}).admin.host, '0.0.0.0');
  assert.equal(resolveSettings({ adminListen: '[::1]:8001' }, {}).admin.host, '::1');
});

test('listen addresses parse IPv4, IPv6 and names; loopback is recognised', () => {
  assert.deepEqual(parseListen('[::1]:9000', 'x'), { host: '::1', port: 9000 });
  assert.deepEqual(parseListen('localhost:0', 'x'), { host: 'localhost', port: 0 });
  assert.throws(() => parseListen('1.2.3.4:70000', 'x'));
  assert.equal(isLoopback('127.0.0.2'), true);
  assert.equal(isLoopback('192.0.2.1'), false); // TEST-NET-1, never contacted
});

test('the admin token must be 16 visible characters or more, and is never echoed', () => {
  for (const bad of ['a', ' ', 'fifteen-chars-x', 'sixteen chars ok']) {
    assert.throws(
      () => resolveSettings({ adminToken: bad }, {}),
      (err) =>
        isGwError(err) &&
        /--admin-token: \(not shown\) is invalid \(the admin token must be at least 16 visible characters/.test(err.message) &&
        !err.message.includes(`'${bad}'`),
      JSON.stringify(bad),
    );
  }
  assert.throws(
    () => resolveSettings({}, { GW_ADMIN_TOKEN: 'short' }),
    (err) => isGwError(err) && err.message.startsWith('invalid setting: GW_ADMIN_TOKEN'),
  );
  assert.equal(resolveSettings({ adminToken: 'x'.repeat(16) }, {}).adminToken, 'x'.repeat(16));
});

test('proxy limits: defaults, units, env twins and bad values', () => {
  assert.deepEqual(resolveSettings({}, {}).proxyLimits, {
    bodyBufferSize: 16384,
    clientBodyTimeoutMs: 60_000,
    clientHeaderTimeoutMs: 60_000,
    maxRequestHeaders: 100,
  });
  const s = resolveSettings(
    { clientBodyBufferSize: '1m', clientBodyTimeout: '500ms' },
    { GW_MAX_REQUEST_HEADERS: '250', GW_CLIENT_BODY_TIMEOUT: '9s' },
  );
  assert.deepEqual(s.proxyLimits, {
    bodyBufferSize: 1048576,
    clientBodyTimeoutMs: 500,
    clientHeaderTimeoutMs: 60_000,
    maxRequestHeaders: 250,
  });
  assert.equal(resolveSettings({}, { GW_CLIENT_BODY_BUFFER_SIZE: '4096', GW_CLIENT_BODY_TIMEOUT: '2m' }).proxyLimits.bodyBufferSize, 4096);
  assert.equal(resolveSettings({}, { GW_CLIENT_BODY_TIMEOUT: '2m' }).proxyLimits.clientBodyTimeoutMs, 120_000);
  assert.equal(resolveSettings({}, { GW_CLIENT_BODY_TIMEOUT: '250' }).proxyLimits.clientBodyTimeoutMs, 250);
  const cases: [Parameters<typeof resolveSettings>[0], NodeJS.ProcessEnv, RegExp][] = [
    [{ clientBodyBufferSize: '16kb' }, {}, /--client-body-buffer-size: '16kb' is invalid/],
    [{ clientBodyBufferSize: '65m' }, {}, /--client-body-buffer-size: '65m' is invalid \(at most 64m\)/],
    [{}, { GW_CLIENT_BODY_TIMEOUT: '0' }, /GW_CLIENT_BODY_TIMEOUT: '0' is invalid \(must be positive\)/],
    [{ clientBodyTimeout: '1h' }, {}, /--client-body-timeout: '1h' is invalid/],
    [{ maxRequestHeaders: '0' }, {}, /--max-request-headers: '0' is invalid/],
    [{ clientHeaderTimeout: '6m' }, {}, /--client-header-timeout: '6m' is invalid \(at most 300s\)/],
  ];
  for (const [flags, env, re] of cases) {
    assert.throws(
      () => resolveSettings(flags, env),
      (err) => isGwError(err) && re.test(err.message),
      String(re),
    );
  }
});
test('registration tokens: --registration-token repeatable, GW_REGISTRATION_TOKENS list, file mapping; errors never show a token', () => {
  const tok = 'abcdefghijklmnop1234';
  assert.deepEqual(
    { ...resolveSettings({ registrationTokens: [`users=${tok}`, `billing=${tok}x`] }, {}).registrationTokens },
    { users: tok, billing: `${tok}x` },
  );
  assert.deepEqual(
    { ...resolveSettings({}, { GW_REGISTRATION_TOKENS: `users=${tok}, search.v2=${tok}y` }).registrationTokens },
    { users: tok, 'search.v2': `${tok}y` },
  );
  assert.deepEqual({ ...resolveSettings({}, {}, { registrationTokens: { users: tok } }).registrationTokens }, { users: tok });
  assert.deepEqual({ ...resolveSettings({}, {}).registrationTokens }, {});
  const bad: [Parameters<typeof resolveSettings>[0], NodeJS.ProcessEnv, RegExp][] = [
    [{ registrationTokens: ['users'] }, {}, /--registration-token: expected SERVICE=TOKEN items/],
    [
      { registrationTokens: ['users=short-secret'] },
      {},
      /--registration-token: the token of service 'users' must be 16 or more visible characters/,
    ],
    [{}, { GW_REGISTRATION_TOKENS: `users=${tok},users=${tok}z` }, /GW_REGISTRATION_TOKENS: service 'users' has two tokens/],
    [{}, { GW_REGISTRATION_TOKENS: `a=${tok},b=${tok}` }, /two services share one token/],
    [{ registrationTokens: [`a b=${tok}`] }, {}, /got an item with service 'a b'/],
    [{ adminToken: tok, registrationTokens: [`a=${tok}`] }, {}, /may not equal the admin token/],
  ];
  for (const [flags, env, re] of bad) {
    assert.throws(
      () => resolveSettings(flags, env),
      (err) => isGwError(err) && re.test(err.message) && !err.message.includes(tok) && !err.message.includes('short-secret'),
      String(re),
    );
  }
});

test('audit log: stdout by default, --audit-log / GW_AUDIT_LOG', () => {
  assert.equal(resolveSettings({}, {}).auditLog, 'stdout');
  assert.equal(resolveSettings({}, { GW_AUDIT_LOG: '/var/log/gw-audit.log' }).auditLog, '/var/log/gw-audit.log');
  assert.equal(resolveSettings({ auditLog: 'off' }, { GW_AUDIT_LOG: '/x' }).auditLog, 'off');
});

test('--dns-resolver (repeatable flag, comma-separated env, file list) and --dns-stale-ttl; bad values named', () => {
  const d = resolveSettings({}, {});
  assert.equal(d.dnsResolver, undefined, 'default: the system resolver');
  assert.equal(d.dnsStaleTtl, 3600, "Kong's dns_stale_ttl default");
  assert.deepEqual(resolveSettings({ dnsResolver: ['127.0.0.1:5353', '[::1]:53'] }, {}).dnsResolver, ['127.0.0.1:5353', '[::1]:53']);
  assert.deepEqual(resolveSettings({}, { GW_DNS_RESOLVER: '127.0.0.1:5353,127.0.10.2' }).dnsResolver, ['127.0.0.1:5353', '127.0.10.2:53']);
  assert.deepEqual(resolveSettings({}, {}, { dnsResolver: ['127.0.0.1:5300'], dnsStaleTtl: 10 }).dnsResolver, ['127.0.0.1:5300']);
  assert.equal(resolveSettings({ dnsStaleTtl: '0' }, {}).dnsStaleTtl, 0);
  assert.throws(() => resolveSettings({ dnsResolver: ['dns.local'] }, {}), /--dns-resolver: 'dns.local' is not an IP\[:PORT\]/);
  assert.throws(() => resolveSettings({}, { GW_DNS_STALE_TTL: 'soon' }), /GW_DNS_STALE_TTL: 'soon' is invalid/);
});

test('Cloud Map: off by default; --cloudmap-namespace repeatable, GW_CLOUDMAP_NAMESPACES list; region required; errors name the flag', () => {
  assert.equal(resolveSettings({}, {}).cloudMap, undefined);
  assert.deepEqual(resolveSettings({ cloudmapNamespaces: ['a.local', 'b.local', 'a.local'], awsRegion: 'eu-west-1' }, {}).cloudMap, {
    namespaces: ['a.local', 'b.local'],
    region: 'eu-west-1',
    endpoint: undefined,
    intervalMs: 5000,
    defaultPort: undefined,
  });
  const env = {
    GW_CLOUDMAP_NAMESPACES: 'internal.local, batch.local',
    AWS_REGION: 'us-east-2',
    GW_CLOUDMAP_ENDPOINT: 'http://127.0.0.1:4566',
    GW_CLOUDMAP_INTERVAL: '250ms',
    GW_CLOUDMAP_DEFAULT_PORT: '8080',
  };
  assert.deepEqual(resolveSettings({}, env).cloudMap, {
    namespaces: ['internal.local', 'batch.local'],
    region: 'us-east-2',
    endpoint: 'http://127.0.0.1:4566',
    intervalMs: 250,
    defaultPort: 8080,
  });
  assert.deepEqual(resolveSettings({}, {}, { cloudmapNamespaces: ['x.local'], awsRegion: 'eu-west-1' }).cloudMap?.namespaces, ['x.local']);
  const bad: [Parameters<typeof resolveSettings>[0], NodeJS.ProcessEnv, RegExp][] = [
    [{ cloudmapNamespaces: ['a.local'] }, {}, /--cloudmap-namespace: Cloud Map discovery needs a region \(--aws-region or AWS_REGION\)/],
    [{ cloudmapNamespaces: ['bad_name!'], awsRegion: 'eu-west-1' }, {}, /--cloudmap-namespace: 'bad_name!' is not a namespace name/],
    [{ awsRegion: 'Europe' }, {}, /--aws-region: 'Europe' is invalid \(expected an AWS region/],
    [{}, { GW_CLOUDMAP_ENDPOINT: 'ftp://x' }, /GW_CLOUDMAP_ENDPOINT: 'ftp:\/\/x' is invalid/],
    [{ cloudmapInterval: '50ms' }, {}, /--cloudmap-interval: '50ms' is invalid \(at least 100ms\)/],
    [{ cloudmapDefaultPort: '70000' }, {}, /--cloudmap-default-port: '70000' is invalid/],
  ];
  for (const [flags, e, re] of bad) {
    assert.throws(
      () => resolveSettings(flags, e),
      (err) => isGwError(err) && re.test(err.message),
      String(re),
    );
  }
});

test('a listen HOST is an IP address or a host name: anything else is refused without asking a resolver', () => {
  assert.deepEqual(parseListen('gw-1.internal.:8000', 'x'), { host: 'gw-1.internal.', port: 8000 });
  for (const bad of ['a b:8000', '-x:8000', 'under_score.test:80', '[1::2::3]:80', '[1.2.3.4]:80', `${'a'.repeat(64)}.test:80`]) {
    assert.throws(
      () => parseListen(bad, 'GW_PROXY_LISTEN'),
      (err) => isGwError(err) && err.message.startsWith(`invalid setting: GW_PROXY_LISTEN: '${bad}' is invalid (`),
      bad,
    );
  }
});

test('origins name where each value came from: flag, env variable, settings file key; the flag for a default', () => {
  const s = resolveSettings({ proxyListen: '127.0.0.1:1' }, { GW_DATA_DIR: '/env' }, { accessLog: 'off' });
  assert.equal(s.origins.proxyListen, '--proxy-listen');
  assert.equal(s.origins.dataDir, 'GW_DATA_DIR');
  assert.equal(s.origins.accessLog, 'settings file key accessLog');
  assert.equal(s.origins.auditLog, '--audit-log');
  assert.throws(
    () => resolveSettings({}, { GW_STORE: 'postgres' }),
    (err) => isGwError(err) && err.message === "invalid setting: GW_STORE: 'postgres' needs --pg-url (GW_PG_URL)",
  );
});

test('a settings file that cannot be read is named as it was given', () => {
  assert.throws(
    () => readSettingsFile('/nonexistent/gw.yaml', 'GW_SETTINGS'),
    (err) => isGwError(err) && err.message === 'invalid setting: GW_SETTINGS /nonexistent/gw.yaml: cannot read it (ENOENT)',
  );
});
