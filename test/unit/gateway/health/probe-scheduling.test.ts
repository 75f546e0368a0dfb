/**
 * Active probe scheduling (HealthManager): `active.concurrency` bounds the
 * probes in flight per upstream, and a probe that ends starts the next due
 * one at once, as Kong's concurrency work packages run their checks back to
 * back. Before, at most `concurrency` probes started per 100 ms tick, so an
 * upstream of 10,000 targets with a 5 s interval had each target probed
 * about every 100 s.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEntity } from '../../../../gateway/src/entities/index.js';
import type { AnyEntity, Upstream } from '../../../../gateway/src/entities/types.js';
import type { ProbeSpec } from '../../../../gateway/src/health/active-prober.js';
import { HealthManager } from '../../../../gateway/src/health/health-manager.js';
import { silentLogger } from '../../../../gateway/src/observability/log.js';
import { Runtime } from '../../../../gateway/src/runtime/runtime.js';
import { MemoryStore } from '../../../../gateway/src/store/memory.js';

const entity = (kind: 'upstreams' | 'targets', input: Record<string, unknown>): AnyEntity => {
  const r = parseEntity(kind, input, { mode: 'create', now: 1 });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return r.value as unknown as AnyEntity;
};

async function setup(targets: number, concurrency: number) {
  const store = new MemoryStore();
  const u = entity('upstreams', {
    name: 'big',
    healthchecks: { active: { concurrency, healthy: { interval: 5, successes: 1 }, unhealthy: { interval: 5, tcp_failures: 1 } } },
  }) as Upstream;
  await store.apply([
    { op: 'put', kind: 'upstreams', entity: u },
    ...Array.from({ length: targets }, (_, i) => ({
      op: 'put' as const,
      kind: 'targets' as const,
      entity: entity('targets', { target: `127.2.${i >> 8}.${i & 255}:8080`, upstream: { id: u.id } }),
    })),
  ]);
  const runtime = new Runtime({ store, logger: silentLogger() });
  runtime.start();
  let now = 1_000_000;
  let running = 0;
  let most = 0;
  const probed: string[] = [];
  // a probe that takes a few event-loop turns, like a real one
  const probe = async (spec: ProbeSpec) => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    probed.push(spec.address);
    running--;
    return 'success' as const;
  };
  // random() = 0: every target's first probe is due at once
  const hm = new HealthManager({ runtime, logger: silentLogger(), now: () => now, probe, tickMs: 0, random: () => 0 });
  hm.start();
  return {
    hm,
    probed,
    most: () => most,
    running: () => running,
    advance: (ms: number) => (now += ms),
    stop: () => {
      hm.stop();
      runtime.stop();
    },
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

test('one tick probes every due target, back to back, never more than active.concurrency at once', async () => {
  const s = await setup(300, 4);
  try {
    s.hm.tick();
    await until(() => s.probed.length === 300, 'all 300 due targets probed after one tick');
    assert.equal(new Set(s.probed).size, 300, 'each target once');
    assert.equal(s.most(), 4, 'concurrency reached and never exceeded');
    assert.equal(s.running(), 0);
    // nothing is due again before the interval: another tick probes nothing
    s.advance(1000);
    s.hm.tick();
    await new Promise((r) => setImmediate(r));
    assert.equal(s.probed.length, 300);
    // after the interval (±10 % jitter: the 0 random gives 0.9×) every target is due again
    s.advance(5000);
    s.hm.tick();
    await until(() => s.probed.length === 600, 'the second round');
    assert.equal(s.most(), 4);
  } finally {
    s.stop();
  }
});
