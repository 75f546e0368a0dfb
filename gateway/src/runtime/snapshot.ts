/**
 * An immutable view of the configuration the proxy routes with. The proxy
 * reads `runtime.snapshot` once per request and uses only that object.
 */
import type { Service, Upstream } from '../entities/types.js';
import type { Balancer } from '../balancer/balancer.js';
import type { Router } from '../router/router.js';

export interface UpstreamEntry {
  readonly upstream: Upstream;
  readonly balancer: Balancer;
}

export interface Snapshot {
  readonly version: number;
  readonly router: Router;
  readonly servicesById: ReadonlyMap<string, Service>;
  /** by upstream name (a service whose host equals it is balanced) */
  readonly upstreams: ReadonlyMap<string, UpstreamEntry>;
}
