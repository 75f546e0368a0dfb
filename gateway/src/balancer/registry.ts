/**
 * Algorithm name → balancer factory.
 */
import type { Target, Upstream } from '../entities/types.js';
import type { Balancer } from './balancer.js';
import { ConsistentHashingBalancer } from './algorithms/consistent-hashing.js';
import { LatencyBalancer } from './algorithms/latency.js';
import { LeastConnectionsBalancer } from './algorithms/least-connections.js';
import { RoundRobinBalancer } from './algorithms/round-robin.js';

type Factory = (upstream: Upstream, targets: readonly Target[]) => Balancer;

const factories: Record<Upstream['algorithm'], Factory> = {
  'round-robin': (_u, t) => new RoundRobinBalancer(t),
  'least-connections': (_u, t) => new LeastConnectionsBalancer(t),
  'consistent-hashing': (u, t) => new ConsistentHashingBalancer(u, t),
  latency: (_u, t) => new LatencyBalancer(t),
};

/** Build the balancer of one upstream over its targets (weight-0 targets included but never picked). */
export function createBalancer(upstream: Upstream, targets: readonly Target[]): Balancer {
  return factories[upstream.algorithm](upstream, targets);
}
