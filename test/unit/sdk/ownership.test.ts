import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deploymentSlug, deploymentUpstream, isHealthy } from '../../../sdk/src/blue-green.js';
import { resolveOptions } from '../../../sdk/src/options.js';
import { compareStamps, decide, LEDGER_SIZE, ledger, resolveStamp, stampOf, stampTags, withLedger } from '../../../sdk/src/ownership.js';
import { tag, TAG, tagValue } from '../../../contract/src/tags.js';

const KONG_TAG = /^[\x21-\x2B\x2D\x2E\x30-\x7E]+$/;

test('tag values are encoded so Kong accepts them (an ECS task ARN has slashes) and decode back', () => {
  const arn = 'arn:aws:ecs:eu-west-1:123456789012:task/prod cluster/1f2e,3%';
  const t = tag(TAG.instance, arn);
  assert.match(t, KONG_TAG);
  assert.equal(tagValue([t], TAG.instance), arn);
  assert.equal(tagValue(['gw-instance:100%'], TAG.instance), '100%', 'a stray % written by hand is kept as is');
});

test('decide: missing → create, no stamp → update, same deployment → keep, older owner → update, newer owner → keep', () => {
  const me = { deployment: 'v2', at: 2000 };
  const stamped = (d: string, at: number) => ({ tags: stampTags(['gw'], { deployment: d, at }) });
  assert.equal(decide(undefined, me), 'create');
  assert.equal(decide({ tags: ['gw'] }, me), 'update');
  assert.equal(decide({ tags: null }, me), 'update');
  assert.equal(decide(stamped('v2', 1999), me), 'keep', 'same deployment never rewrites, whatever the times say');
  assert.equal(decide(stamped('v1', 1000), me), 'update');
  assert.equal(decide(stamped('v3', 3000), me), 'keep');
  // equal times: the name breaks the tie, in the same direction for both sides
  assert.equal(decide(stamped('v1', 2000), me), 'update');
  assert.equal(decide(stamped('v2', 2000), { deployment: 'v1', at: 2000 }), 'keep');
  assert.ok(compareStamps({ deployment: 'a', at: 5 }, { deployment: 'b', at: 4 }) > 0);
});

test('resolveStamp: a known deployment keeps its time; a new one is newer than everything known, even with a slow clock', () => {
  let tags = withLedger(stampTags([], { deployment: 'v1', at: 1000 }), { deployment: 'v1', at: 1000 });
  tags = withLedger(stampTags(tags, { deployment: 'v2', at: 5000 }), { deployment: 'v2', at: 5000 });
  assert.deepEqual(stampOf(tags), { deployment: 'v2', at: 5000 });
  assert.deepEqual(resolveStamp(tags, 'v1', [], 9999), { deployment: 'v1', at: 1000 });
  assert.deepEqual(resolveStamp(tags, 'v2', [], 9999), { deployment: 'v2', at: 5000 });
  assert.deepEqual(resolveStamp(tags, 'v3', [], 9999), { deployment: 'v3', at: 9999 });
  assert.deepEqual(resolveStamp(tags, 'v3', [], 10), { deployment: 'v3', at: 5001 }, 'clock behind the newest known deployment');
  assert.deepEqual(
    resolveStamp(undefined, 'v9', [{ deployment: 'v9', at: 42 }], 9999),
    { deployment: 'v9', at: 42 },
    'found on its own upstream',
  );
});

test('the ledger keeps the newest deployments, one entry each, and other tags untouched', () => {
  let tags: string[] = ['gw', 'team-a'];
  for (let i = 0; i < LEDGER_SIZE + 5; i++) tags = withLedger(tags, { deployment: `fam:${i}`, at: 1000 + i });
  tags = withLedger(tags, { deployment: `fam:${LEDGER_SIZE + 4}`, at: 1000 + LEDGER_SIZE + 4 });
  const l = ledger(tags);
  assert.equal(l.length, LEDGER_SIZE);
  assert.equal(l[0]!.deployment, `fam:${LEDGER_SIZE + 4}`);
  assert.ok(!l.some((e) => e.deployment === 'fam:0'));
  assert.ok(tags.includes('team-a'));
  assert.ok(tags.every((x) => KONG_TAG.test(x)));
});

test('blue-green upstream names are valid hostnames derived from the deployment', () => {
  assert.equal(deploymentUpstream('users', 'users-api:42'), 'users.users-api-42.upstream');
  assert.equal(deploymentSlug('  '), 'default');
  assert.equal(deploymentSlug('A'.repeat(100)).length, 63);
});

test('healthy means routable: weight > 0 and gw state healthy, or Kong HEALTHY / HEALTHCHECKS_OFF', () => {
  assert.equal(isHealthy({ target: 'a', weight: 100, health: 'HEALTHCHECKS_OFF', gw: { state: 'healthy' } }), true);
  assert.equal(isHealthy({ target: 'a', weight: 100, health: 'HEALTHY', gw: { state: 'warming' } }), false);
  assert.equal(isHealthy({ target: 'a', weight: 0, health: 'HEALTHY' }), false);
  assert.equal(isHealthy({ target: 'a', weight: 10, health: 'UNHEALTHY' }), false);
  assert.equal(isHealthy({ target: 'a', weight: 10, health: 'HEALTHY' }), true);
});

test('mode and promoteWhen come from GW_MODE and GW_PROMOTE_WHEN; bad settings are named', () => {
  const o = resolveOptions({ service: 's', port: 1 }, { GW_ADMIN_URL: 'http://gw:8001', GW_MODE: 'blue-green', GW_PROMOTE_WHEN: '3' });
  assert.equal(o.mode, 'blue-green');
  assert.deepEqual(o.promoteWhen, { healthyTargets: 3 });
  assert.equal(
    resolveOptions({ service: 's', port: 1 }, { GW_ADMIN_URL: 'http://gw:8001', GW_PROMOTE_WHEN: 'manual' }).promoteWhen,
    'manual',
  );
  assert.deepEqual(resolveOptions({ adminUrl: 'http://gw', service: 's', port: 1 }, {}).promoteWhen, { healthyTargets: 1 });
  assert.throws(() => resolveOptions({ service: 's', port: 1 }, { GW_ADMIN_URL: 'http://gw:8001', GW_MODE: 'canary' }), /mode/);
  assert.deepEqual(resolveOptions({ adminUrl: 'http://gw', service: 's', port: 1, minHealthy: 4 }, {}).promoteWhen, { healthyTargets: 4 });
  assert.deepEqual(resolveOptions({ service: 's', port: 1 }, { GW_ADMIN_URL: 'http://gw:8001', GW_MIN_HEALTHY: '2' }).promoteWhen, {
    healthyTargets: 2,
  });
  assert.throws(
    () => resolveOptions({ adminUrl: 'http://gw', service: 's', port: 1, minHealthy: 2, promoteWhen: 'manual' }, {}),
    /minHealthy: give either minHealthy or promoteWhen/,
  );
  assert.throws(
    () => resolveOptions({ adminUrl: 'http://gw', service: 's', port: 1, upstreamSettings: { name: 'x' } }, {}),
    /upstreamSettings\.name: set by register\(\) itself/,
  );
  assert.throws(
    () => resolveOptions({ adminUrl: 'http://gw', service: 's', port: 1, serviceSettings: { host: 'x' } }, {}),
    /serviceSettings\.host/,
  );
});
