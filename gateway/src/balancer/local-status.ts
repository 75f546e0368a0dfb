/**
 * The state a balancer starts with, before health binds its records (and
 * the whole state of a balancer used without health: unit tests, benches).
 * {@link LocalStatus} is a minimal owner of a {@link TargetStatus}; health's
 * record (health/target-runtime.ts) is the real one.
 */
import type { Balancer, StatusWatcher, TargetStatus } from './balancer.js';

export class LocalStatus implements TargetStatus {
  available = true;
  factor = 1;
  inFlight = 0;
  #watcher: StatusWatcher | undefined;
  #slot = -1;

  watch(watcher: StatusWatcher, slot: number): void {
    this.#watcher = watcher;
    this.#slot = slot;
  }

  /** Throws a RangeError for a factor that is not a number in [0, 1]. */
  set(available: boolean, factor = 1): void {
    checkFactor(factor);
    this.available = available;
    this.factor = factor;
    this.#watcher?.changed(this.#slot);
  }

  start(): void {
    this.inFlight++;
    this.#watcher?.started(this.#slot);
  }

  end(latencyMs: number, ok: boolean): void {
    if (this.inFlight > 0) this.inFlight--;
    this.#watcher?.ended(this.#slot, latencyMs, ok);
  }
}

/** A table of {@link LocalStatus} by target id, bound to a balancer (tests and benches drive a balancer with it). */
export class LocalStatusTable {
  readonly #records = new Map<string, LocalStatus>();

  constructor(balancer?: Balancer) {
    if (balancer) this.bindTo(balancer);
  }

  /** Bind `balancer` to this table (a rebuilt balancer bound to the same table keeps the state). */
  bindTo(balancer: Balancer): void {
    for (const t of balancer.targets) if (!this.#records.has(t.id)) this.#records.set(t.id, new LocalStatus());
    balancer.bind((id) => this.#records.get(id));
  }

  get(id: string): LocalStatus | undefined {
    return this.#records.get(id);
  }

  set(id: string, available: boolean, factor = 1): void {
    checkFactor(factor);
    this.#records.get(id)?.set(available, factor);
  }

  start(id: string): void {
    this.#records.get(id)?.start();
  }

  end(id: string, latencyMs: number, ok: boolean): void {
    this.#records.get(id)?.end(latencyMs, ok);
  }
}

/** Throws a RangeError for a slow-start factor that is not a number in [0, 1]. */
export function checkFactor(factor: number): void {
  if (typeof factor !== 'number' || !(factor >= 0 && factor <= 1))
    throw new RangeError(`availability factor must be a number in [0, 1], got ${factor}`);
}
