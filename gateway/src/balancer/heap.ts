/**
 * Indexed binary min-heap over small integers (target indices), ordered by a
 * caller-supplied `less`. Knows each member's position, so a changed key is
 * re-sifted in O(log n) and a member is removed in O(log n).
 */
export class IndexedHeap {
  readonly #less: (a: number, b: number) => boolean;
  /** heap order: member at each position */
  #items: Int32Array;
  /** position of each member, -1 when absent */
  #pos: Int32Array;
  #size = 0;
  /** scratch for {@link best}: heap positions still to look at */
  readonly #frontier: number[] = [];

  constructor(capacity: number, less: (a: number, b: number) => boolean) {
    this.#less = less;
    this.#items = new Int32Array(capacity);
    this.#pos = new Int32Array(capacity).fill(-1);
  }

  get size(): number {
    return this.#size;
  }

  /** Members may be 0 … capacity-1; grows (doubling, so O(1) amortised per new member), never shrinks. */
  reserve(capacity: number): void {
    if (capacity <= this.#pos.length) return;
    const c = Math.max(capacity, 2 * this.#pos.length);
    const items = new Int32Array(c);
    items.set(this.#items);
    const pos = new Int32Array(c).fill(-1);
    pos.set(this.#pos);
    this.#items = items;
    this.#pos = pos;
  }

  /**
   * Member `from` is now called `to` (an index that is not a member), in
   * place, then re-sifted (`less` may break ties by index). O(log n).
   */
  rename(from: number, to: number): void {
    const p = this.#pos[from]!;
    this.#pos[from] = -1;
    if (p === -1) return;
    this.#items[p] = to;
    this.#pos[to] = p;
    this.update(to);
  }

  has(i: number): boolean {
    return this.#pos[i]! !== -1;
  }

  /** the smallest member, or -1 when empty */
  peek(): number {
    return this.#size === 0 ? -1 : this.#items[0]!;
  }

  push(i: number): void {
    if (this.has(i)) return this.update(i);
    const p = this.#size++;
    this.#items[p] = i;
    this.#pos[i] = p;
    this.#up(p);
  }

  remove(i: number): void {
    const p = this.#pos[i]!;
    if (p === -1) return;
    const last = this.#items[--this.#size]!;
    this.#pos[i] = -1;
    if (p === this.#size) return;
    this.#items[p] = last;
    this.#pos[last] = p;
    this.#up(p);
    this.#down(this.#pos[last]!);
  }

  /** Re-establish order after member `i`'s key changed. */
  update(i: number): void {
    const p = this.#pos[i]!;
    if (p === -1) return;
    this.#up(p);
    this.#down(this.#pos[i]!);
  }

  /**
   * The smallest member that `accept`s, or -1. Best-first walk from the
   * root: costs O(r log r) where r is the number of rejected members (the
   * targets already tried in this request), not O(n).
   */
  best(accept: (i: number) => boolean): number {
    if (this.#size === 0) return -1;
    const root = this.#items[0]!;
    if (accept(root)) return root;
    const f = this.#frontier;
    f.length = 0;
    this.#pushChildren(0);
    while (f.length > 0) {
      let k = 0;
      for (let j = 1; j < f.length; j++) if (this.#less(this.#items[f[j]!]!, this.#items[f[k]!]!)) k = j;
      const p = f[k]!;
      f[k] = f[f.length - 1]!;
      f.pop();
      const m = this.#items[p]!;
      if (accept(m)) return m;
      this.#pushChildren(p);
    }
    return -1;
  }

  #pushChildren(p: number): void {
    const l = 2 * p + 1;
    if (l < this.#size) this.#frontier.push(l);
    if (l + 1 < this.#size) this.#frontier.push(l + 1);
  }

  #up(p: number): void {
    const items = this.#items;
    const m = items[p]!;
    while (p > 0) {
      const parent = (p - 1) >> 1;
      const pm = items[parent]!;
      if (!this.#less(m, pm)) break;
      items[p] = pm;
      this.#pos[pm] = p;
      p = parent;
    }
    items[p] = m;
    this.#pos[m] = p;
  }

  #down(p: number): void {
    const items = this.#items;
    const n = this.#size;
    const m = items[p]!;
    for (;;) {
      let c = 2 * p + 1;
      if (c >= n) break;
      if (c + 1 < n && this.#less(items[c + 1]!, items[c]!)) c++;
      const cm = items[c]!;
      if (!this.#less(cm, m)) break;
      items[p] = cm;
      this.#pos[cm] = p;
      p = c;
    }
    items[p] = m;
    this.#pos[m] = p;
  }
}
