import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IndexedHeap } from '../../../../gateway/src/balancer/heap.js';
import { seededRandom } from '../../../../gateway/src/balancer/options.js';

test('the indexed heap agrees with a linear scan over 20,000 random pushes, removes, key changes and filtered lookups', () => {
  const n = 64;
  const key = new Float64Array(n);
  const heap = new IndexedHeap(n, (a, b) => key[a]! < key[b]! || (key[a] === key[b] && a < b));
  const member = new Set<number>();
  const rand = seededRandom(42);
  const linearMin = (accept: (i: number) => boolean): number => {
    let best = -1;
    for (const i of member) if (accept(i) && (best === -1 || key[i]! < key[best]! || (key[i] === key[best] && i < best))) best = i;
    return best;
  };
  for (let step = 0; step < 20_000; step++) {
    const i = rand() % n;
    const op = rand() % 4;
    if (op === 0) {
      key[i] = rand() % 50;
      heap.push(i);
      member.add(i);
    } else if (op === 1) {
      heap.remove(i);
      member.delete(i);
    } else {
      key[i] = rand() % 50;
      heap.update(i);
    }
    assert.equal(heap.size, member.size);
    assert.equal(
      heap.peek(),
      linearMin(() => true),
      `step ${step}`,
    );
    const odd = (m: number): boolean => m % 2 === 1;
    assert.equal(heap.best(odd), linearMin(odd), `step ${step}, odd members`);
  }
});
