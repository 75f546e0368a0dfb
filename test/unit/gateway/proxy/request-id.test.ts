import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextRequestId } from '../../../../gateway/src/proxy/forward.js';

test('request ids are version 4 UUIDs, all different across many refills of the entropy pool', () => {
  const seen = new Set<string>();
  const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const digits = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const id = nextRequestId();
    assert.match(id, V4);
    seen.add(id);
    for (const c of id.slice(0, 8)) digits.set(c, (digits.get(c) ?? 0) + 1);
  }
  assert.equal(seen.size, 20_000);
  // every hex digit shows up in the random part (160,000 digits: about 10,000 each)
  assert.equal(digits.size, 16);
  for (const [c, n] of digits) assert.ok(n > 8_000 && n < 12_000, `${c}: ${n}`);
});
