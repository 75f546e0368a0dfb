// Declarative-file cases translated from Kong 3.x
// spec/01-unit/01-db/01-schema/11-declarative_config/03-flatten_spec.lua and
// spec/02-integration/02-cmd/02-start_stop_spec.lua (test titles cite the Kong `it`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { declarativeToOps } from '../../../../../gateway/src/config/declarative.js';

const opts = { now: 1_700_000_000 };

test('03-flatten_spec "fixes #7696 - incorrect foreign reference type produce useful error message": a nested route naming an unknown service.id', () => {
  const doc = parseYaml(`
_format_version: "2.1"
services:
- name: my-service-1
  url: http://localhost:8001/status
  routes:
  - name: my-route-1
    service:
      id: "769bdf51-16df-5476-9830-ef26800b5448"
    paths:
    - /status
`) as unknown;
  assert.throws(
    () => declarativeToOps(doc, 'kong.yml', opts),
    (err: Error) =>
      err.message.includes(`invalid reference 'service: {"id":"769bdf51-16df-5476-9830-ef26800b5448"}' (no such entry in 'services')`),
  );
});

test('03-flatten_spec "fails with missing foreign relationships" (route and target form): invalid reference ... (no such entry in ...)', () => {
  assert.throws(
    () => declarativeToOps({ _format_version: '1.1', routes: [{ service: 'svc1', paths: ['/'] }] }, 'kong.yml', opts),
    /invalid reference 'service: svc1' \(no such entry in 'services'\)/,
  );
  assert.throws(
    () => declarativeToOps({ _format_version: '3.0', targets: [{ upstream: 'u1', target: '127.0.0.1:80' }] }, 'kong.yml', opts),
    /invalid reference 'upstream: u1' \(no such entry in 'upstreams'\)/,
  );
});

test('03-flatten_spec "succeeds with present foreign relationships": a nested route may name its own service', () => {
  const ops = declarativeToOps(
    { _format_version: '3.0', services: [{ name: 'svc1', host: 'example.com', routes: [{ name: 'r1', service: 'svc1', paths: ['/'] }] }] },
    'kong.yml',
    opts,
  );
  assert.equal(ops.filter((o) => o.op === 'put' && o.kind === 'routes').length, 1);
});

test('02-start_stop_spec "does not start with an invalid declarative config file": Kong\'s pretty_print_error words', () => {
  const doc = parseYaml(String.raw`
_format_version: "1.1"
services:
- name: "@gobo"
  protocol: foo
  host: mockbin.org
- name: my-service
  url: http://mockbin.org
  routes:
  - name: example-route
    hosts:
    - example.test
    - \\99
`) as unknown;
  assert.throws(
    () => declarativeToOps(doc, 'kong.yml', opts),
    (err: Error) =>
      err.message.includes("in 'protocol': expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp") &&
      err.message.includes("in 'name': invalid value '@gobo': the only accepted ascii characters are alphanumerics or ., -, _, and ~") &&
      err.message.includes(String.raw`in entry 2 of 'hosts': invalid hostname: \\99`),
  );
});

test('01-validate_spec "requires version 1.1 or 2.1 or 3.0", "_comment accepts a string", "_ignore accepts an array of anything"', () => {
  const fails = (yaml: string, re: RegExp) => assert.throws(() => declarativeToOps(parseYaml(yaml) as unknown, 'kong.yml', opts), re);
  const loads = (yaml: string) => assert.ok(Array.isArray(declarativeToOps(parseYaml(yaml) as unknown, 'kong.yml', opts)));
  fails('_format_version: 1.1', /_format_version: expected a string/);
  fails('_format_version: "foobar"', /_format_version: expected one of: 1\.1, 2\.1, 3\.0/);
  loads('_format_version: "1.1"');
  loads('_format_version: "2.1"');
  fails('_format_version: "1.1"\n_comment: 1234', /_comment: expected a string/);
  fails('_format_version: "1.1"\n_comment:\n  foo: bar', /_comment: expected a string/);
  loads('_format_version: "1.1"\n_comment: "1234"');
  loads('_format_version: "1.1"\n_comment: I am a happy comment!');
  fails('_format_version: "1.1"\n_ignore: 1234', /_ignore: expected an array/);
  fails('_format_version: "1.1"\n_ignore:\n  foo: bar\n  bla: 123', /_ignore: expected an array/);
  loads('_format_version: "1.1"\n_ignore:\n- 1234');
  loads('_format_version: "1.1"\n_ignore:\n- foo: bar\n  bla: 123\n- "Hello, world"\n- 1234');
  // on an entity too ("services: accepts entities" with _comment and _ignore lists; plugins: [] is an empty list)
  loads(
    '_format_version: "1.1"\nservices:\n- name: foo\n  host: example.com\n  plugins: []\n  _comment: my comment\n  _ignore:\n  - foo: bar',
  );
  fails('_format_version: "1.1"\nservices:\n- name: foo\n  host: example.com\n  _ignore: 1', /services\[0\]\._ignore: expected an array/);
});
