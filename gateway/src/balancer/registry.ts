/**
 * Algorithm name → balancer factory.
 * CONTRACT: `createBalancer` signature is fixed; the balancer work implements it.
 */
import type { Target, Upstream } from '../entities/types.js';
import type { Balancer } from './balancer.js';

/** Build the balancer of one upstream over its targets (weight-0 targets included but never picked). */
export function createBalancer(upstream: Upstream, targets: readonly Target[]): Balancer {
  void upstream; void targets;
  throw new Error('not implemented');
}
