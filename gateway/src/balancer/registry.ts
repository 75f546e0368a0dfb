/**
 * Algorithm name → balancer factory (Kong's `algorithm_types` table).
 */
import type { Upstream } from '../entities/types.js';
import type { TargetInput } from './target-set.js';
import type { Balancer, BalancerDerivation, BalancerTarget, PickContext, PickResult, TargetStatus } from './balancer.js';
import { ConsistentHashingBalancer } from './algorithms/consistent-hashing.js';
import { LatencyBalancer } from './algorithms/latency.js';
import { LeastConnectionsBalancer } from './algorithms/least-connections.js';
import { RoundRobinBalancer } from './algorithms/round-robin.js';
import type { BalancerOptions } from './options.js';
import { TargetSetBalancer } from './target-set-balancer.js';

export type { BalancerOptions } from './options.js';

type Factory = (upstream: Upstream, targets: readonly TargetInput[], options?: BalancerOptions) => Balancer;

const factories: Record<Upstream['algorithm'], Factory> = {
  'round-robin': (_u, t, o) => new RoundRobinBalancer(t, o),
  'least-connections': (_u, t, o) => new LeastConnectionsBalancer(t, o),
  'consistent-hashing': (u, t, o) => new ConsistentHashingBalancer(u, t, o),
  latency: (_u, t, o) => new LatencyBalancer(t, o),
};

/**
 * Build the balancer of one upstream over its targets (weight-0 targets
 * included but never picked). `options` (an extension of the contract) injects
 * a clock and a seed, and takes the balancer being replaced so that health
 * state survives a rebuild. Throws a RangeError for an unknown algorithm or a
 * target that is not `host:port`.
 */
export function createBalancer(upstream: Upstream, targets: readonly TargetInput[], options?: BalancerOptions): Balancer {
  const factory = Object.hasOwn(factories, upstream.algorithm) ? factories[upstream.algorithm] : undefined;
  if (!factory) throw new RangeError(`unknown balancer algorithm '${String(upstream.algorithm)}'`);
  const previous = options?.previous;
  return factory(upstream, targets, previous instanceof DerivedBalancer ? { ...options, previous: previous.core } : options);
}

/**
 * The next balancer of `previous`'s upstream after these target changes
 * (`removed` ids left; each of `upserts` is new or changed), derived in
 * place at a cost proportional to the change, or undefined when the
 * algorithm (or a different one now) needs {@link createBalancer} instead.
 * Throws a RangeError, changing nothing, for a target that is not
 * `host:port`.
 *
 * In place: `previous` and the result share one state, which now holds the
 * new targets, so a request still holding the previous snapshot picks from
 * the new target set (as if it had read the new snapshot; every target it
 * can get is a current one). The result is a new object, with its
 * {@link Balancer.derivation}, so that health (and `--workers` proxies)
 * see a new balancer and bind it.
 */
export function updateBalancer(
  previous: Balancer,
  upstream: Upstream,
  upserts: readonly TargetInput[],
  removed: readonly string[],
): Balancer | undefined {
  const core = previous instanceof DerivedBalancer ? previous.core : previous;
  if (!(core instanceof TargetSetBalancer) || core.algorithm !== upstream.algorithm) return undefined;
  const r = core.applyChanges(upserts, removed);
  if (!r) return undefined;
  // the chain stops here: only the newest derivation is ever asked for
  if (previous instanceof DerivedBalancer) previous.derivation = undefined;
  return new DerivedBalancer(core, { from: previous, changed: r.changed, removed: [...removed], left: r.left });
}

/** A balancer derived in place ({@link updateBalancer}): a new identity over the shared state. */
class DerivedBalancer implements Balancer {
  readonly core: TargetSetBalancer;
  derivation: BalancerDerivation | undefined;

  constructor(core: TargetSetBalancer, derivation: BalancerDerivation) {
    this.core = core;
    this.derivation = derivation;
  }

  get algorithm(): string {
    return this.core.algorithm;
  }

  get targets(): readonly BalancerTarget[] {
    return this.core.targets;
  }

  pick(ctx: PickContext): PickResult | undefined {
    return this.core.pick(ctx);
  }

  bind(statusOf: (targetId: string) => TargetStatus | undefined, only?: readonly string[]): void {
    this.core.bind(statusOf, only);
  }

  availableCount(): number {
    return this.core.availableCount();
  }
}
