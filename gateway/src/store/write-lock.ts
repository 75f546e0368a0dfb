/**
 * One lock for read-check-write sequences against the store (admin upserts,
 * lease expiry), so they never interleave.
 */
export class WriteLock {
  #chain: Promise<unknown> = Promise.resolve();

  /** Run `fn` with the lock held. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(fn, fn);
    this.#chain = result.catch(() => undefined);
    return result;
  }
}
