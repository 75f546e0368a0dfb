import assert from 'node:assert/strict';
import { test } from 'node:test';
import { xxhash32 } from '../../../../gateway/src/balancer/hash.js';

// reference values computed with libxxhash 0.8.1 (XXH32)
const vectors: { input: string; seed: number; want: number }[] = [
  { input: '', seed: 0, want: 0x02cc5d05 },
  { input: 'a', seed: 0, want: 0x550d7456 },
  { input: 'abc', seed: 0, want: 0x32d153ff },
  { input: 'Nobody inspects the spammish repetition', seed: 0, want: 0xe2293b2f },
  { input: '', seed: 1, want: 0x0b2cb792 },
  { input: 'abcd', seed: 2654435761, want: 0x0a7e979c },
  { input: '0123456789abcdef', seed: 0, want: 0xc2c45b69 },
  { input: '0123456789abcdefg', seed: 7, want: 0xa861aa9e },
  { input: 'héllo wörld ✓', seed: 0, want: 0xc26dc238 },
  { input: '10.0.0.1:80 1', seed: 0, want: 0xdbeec7de },
];

for (const { input, seed, want } of vectors) {
  test(`xxhash32 of ${JSON.stringify(input)} with seed ${seed} matches libxxhash`, () => {
    assert.equal(xxhash32(input, seed), want);
    assert.equal(xxhash32(Buffer.from(input, 'utf8'), seed), want, 'bytes and strings hash alike');
  });
}

test('xxhash32 of a long string after a short one is not polluted by the reused buffer', () => {
  const long = 'x'.repeat(1000) + 'é';
  const first = xxhash32(long);
  xxhash32('a');
  assert.equal(xxhash32(long), first);
  assert.equal(xxhash32(Buffer.from(long, 'utf8')), first);
});
