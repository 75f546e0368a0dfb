import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextRequestId } from '../../../../gateway/src/proxy/forward.js';

test("request ids are Kong's: 32 lower-case hex digits (nginx's $request_id), all different across many refills of the entropy pool", () => {
  const seen = new Set<string>();
  const KONG = /^[0-9a-f]{32}$/;
  const digits = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const id = nextRequestId();
    assert.match(id, KONG);
    seen.add(id);
    for (const c of id) digits.set(c, (digits.get(c) ?? 0) + 1);
  }
  assert.equal(seen.size, 20_000);
  // every hex digit, evenly (640,000 digits: about 40,000 each)
  assert.equal(digits.size, 16);
  for (const [c, n] of digits) assert.ok(n > 36_000 && n < 44_000, `${c}: ${n}`);
});
