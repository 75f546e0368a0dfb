/**
 * Algorithm name → balancer factory (Kong's `algorithm_types` table).
 */
import type { Target, Upstream } from '../entities/types.js';
import type { Balancer } from './balancer.js';
import { ConsistentHashingBalancer } from './algorithms/consistent-hashing.js';
import { LatencyBalancer } from './algorithms/latency.js';
import { LeastConnectionsBalancer } from './algorithms/least-connections.js';
import { RoundRobinBalancer } from './algorithms/round-robin.js';
import type { BalancerOptions } from './options.js';

export type { BalancerOptions } from './options.js';

type Factory = (upstream: Upstream, targets: readonly Target[], options?: BalancerOptions) => Balancer;

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
export function createBalancer(upstream: Upstream, targets: readonly Target[], options?: BalancerOptions): Balancer {
  const factory = Object.hasOwn(factories, upstream.algorithm) ? factories[upstream.algorithm] : undefined;
  if (!factory) throw new RangeError(`unknown balancer algorithm '${String(upstream.algorithm)}'`);
  return factory(upstream, targets, options);
}
