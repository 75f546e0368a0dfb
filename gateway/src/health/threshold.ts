/**
 * Kong's `healthchecks.threshold`, written once for the proxy (the
 * all-unhealthy policy, upstream-health.ts) and the Admin API
 * (`GET /upstreams/{u}/health?balancer_health=1`).
 *
 * Kong (kong/runloop/balancer/balancers.lua, `balancer_mt:updateStatus`):
 * total weight 0 is unhealthy, else healthy when
 * `(total - unavailable) / total * 100 > threshold`; an unhealthy balancer
 * gives no peer (`getPeer`: "Balancer is unhealthy"). Strictly greater: at
 * exactly the threshold the upstream is unhealthy (and at 100 it never is
 * healthy, as in Kong).
 */
export function balancerHealthy(totalWeight: number, availableWeight: number, threshold: number): boolean {
  if (!(totalWeight > 0)) return false;
  return (availableWeight / totalWeight) * 100 > threshold;
}
