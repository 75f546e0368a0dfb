/**
 * How AWS Cloud Map instances become gw entities (docs/cloudmap.md,
 * "Mapping"), as pure functions the provider (cloudmap.ts) and the unit
 * tests share:
 *
 * - Cloud Map service `S` in namespace `N` → upstream `S.N` (the name a DNS
 *   client would have used), tagged `gw`, `gw-source:cloudmap`.
 * - one target per instance: `AWS_INSTANCE_IPV4:AWS_INSTANCE_PORT` (or the
 *   configured default port), weight `GW_WEIGHT` (default 100), 0 while Cloud
 *   Map reports the instance UNHEALTHY (no new requests; gw's own health
 *   checks apply on top).
 * - instances written by gw's SDK (`GW_SERVICE`, `GW_ROUTES`) also declare a
 *   service (host `S.N`) and one route per path, named as the SDK names them.
 *
 * Also the poller's backoff: exponential with jitter, the random source
 * injected.
 */
import { isIPv4 } from 'node:net';
import { CLOUD_MAP_ATTR, routeName } from '../../../contract/src/registration.js';
import { tagSafe } from '../../../contract/src/tags.js';

/** The tag every entity the provider writes carries (besides `gw`, so reloads keep them and exports leave them out). */
export const CLOUDMAP_SOURCE_TAG = 'gw-source:cloudmap';
export const CLOUDMAP_TAG = {
  /** targets: the Cloud Map InstanceId */
  instance: 'gw-cloudmap-instance:',
  /** upstreams: the namespace name */
  namespace: 'gw-cloudmap-namespace:',
  /** targets: Cloud Map reports the instance UNHEALTHY (its weight is 0 meanwhile) */
  unhealthy: 'gw-cloudmap-unhealthy',
  /** targets: gone from Cloud Map, draining before removal */
  gone: 'gw-cloudmap-gone',
  deployment: 'gw-deployment:',
} as const;

/** The custom attributes gw's SDK writes (the shared contract). */
const GW_ATTR = CLOUD_MAP_ATTR;

export const DEFAULT_WEIGHT = 100;

export interface DiscoveredInstance {
  id: string;
  /** DiscoverInstances' HealthStatus: UNKNOWN when the service has no health check */
  health: 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';
  attributes: Readonly<Record<string, string>>;
}

export interface DesiredTarget {
  /** normalised `host:port` */
  target: string;
  weight: number;
  tags: string[];
  instanceId: string;
}

export interface DesiredRoute {
  name: string;
  paths: string[];
}

export interface DesiredRegistration {
  service: string;
  routes: DesiredRoute[];
}

export interface MappedService {
  upstream: string;
  targets: DesiredTarget[];
  /** the service and routes gw's SDK declared through attributes (none for ECS-registered instances) */
  registration: DesiredRegistration | undefined;
  /** instances that could not be mapped, with why (logged once by the provider) */
  skipped: { id: string; reason: string }[];
}

/** Upstream name for Cloud Map service `service` in namespace `namespace`. */
export function upstreamNameOf(service: string, namespace: string): string {
  return `${service}.${namespace}`;
}

export { routeName, tagSafe };

const PORT = /^\d{1,5}$/;
/** a valid Kong tag (entities/fields.ts): printable ASCII but `,` and `/`, or UTF-8 */
const TAG = /^[\x20-\x2B\x2D\x2E\x30-\x7E\u{80}-\u{10FFFF}]{1,128}$/u;
const WEIGHT = /^\d{1,5}$/;

/** Map one Cloud Map service's instances to its upstream's targets and (SDK instances) its service and routes. */
export function mapService(
  service: string,
  namespace: string,
  instances: readonly DiscoveredInstance[],
  opts: { defaultPort?: number | undefined } = {},
): MappedService {
  const upstream = upstreamNameOf(service, namespace);
  const byTarget = new Map<string, DesiredTarget>();
  const skipped: { id: string; reason: string }[] = [];
  // sorted: the same input in any order maps to the same output (one instance per address wins, deterministically)
  const sorted = [...instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const i of sorted) {
    const a = i.attributes;
    const ip = a.AWS_INSTANCE_IPV4;
    if (ip === undefined || !isIPv4(ip)) {
      skipped.push({
        id: i.id,
        reason: ip === undefined ? 'no AWS_INSTANCE_IPV4 attribute' : `AWS_INSTANCE_IPV4 is not an IPv4 address: ${ip}`,
      });
      continue;
    }
    const rawPort = a.AWS_INSTANCE_PORT;
    const port = rawPort !== undefined && PORT.test(rawPort) ? Number(rawPort) : rawPort === undefined ? opts.defaultPort : undefined;
    if (port === undefined || port < 1 || port > 65535) {
      skipped.push({
        id: i.id,
        reason:
          rawPort === undefined
            ? 'no AWS_INSTANCE_PORT attribute and no --cloudmap-default-port'
            : `AWS_INSTANCE_PORT is not a port: ${rawPort}`,
      });
      continue;
    }
    const rawWeight = a[GW_ATTR.weight];
    let weight = DEFAULT_WEIGHT;
    if (rawWeight !== undefined) {
      if (!WEIGHT.test(rawWeight) || Number(rawWeight) > 65535) {
        skipped.push({ id: i.id, reason: `${GW_ATTR.weight} is not a weight (0 to 65535): ${rawWeight}` });
        continue;
      }
      weight = Number(rawWeight);
    }
    const unhealthy = i.health === 'UNHEALTHY';
    const target = `${ip}:${port}`;
    if (byTarget.has(target)) {
      skipped.push({ id: i.id, reason: `another instance (${byTarget.get(target)!.instanceId}) has the same address ${target}` });
      continue;
    }
    const tags = ['gw', CLOUDMAP_SOURCE_TAG, CLOUDMAP_TAG.instance + tagSafe(i.id)];
    const deployment = a[GW_ATTR.deployment];
    if (deployment) tags.push(CLOUDMAP_TAG.deployment + tagSafe(deployment));
    if (unhealthy) tags.push(CLOUDMAP_TAG.unhealthy);
    // the SDK's extra tags (its `tags` option), as its Admin API registration would write them; an invalid one is dropped
    for (const x of (a[GW_ATTR.tags] ?? '').split(',')) if (x !== '' && TAG.test(x) && !tags.includes(x)) tags.push(x);
    byTarget.set(target, { target, weight: unhealthy ? 0 : weight, tags, instanceId: i.id });
  }
  return { upstream, targets: [...byTarget.values()], registration: registrationOf(sorted), skipped };
}

/**
 * The service and routes SDK instances declare: the service named by
 * `GW_SERVICE` (the first instance's, in id order, when they disagree), one
 * route per path of the union of their `GW_ROUTES`. Undefined when no
 * instance carries GW_SERVICE (ECS-registered instances).
 */
function registrationOf(sorted: readonly DiscoveredInstance[]): DesiredRegistration | undefined {
  const service = sorted.map((i) => i.attributes[GW_ATTR.service]).find((s) => s !== undefined && s !== '');
  if (service === undefined) return undefined;
  const paths = new Set<string>();
  for (const i of sorted) {
    if (i.attributes[GW_ATTR.service] !== service) continue;
    for (const p of (i.attributes[GW_ATTR.routes] ?? '').split(',')) if (p.trim() !== '') paths.add(p.trim());
  }
  return { service, routes: [...paths].sort().map((p) => ({ name: routeName(service, p), paths: [p] })) };
}

export interface BackoffOptions {
  /** the poll interval: the first delay after a failure (ms) */
  baseMs: number;
  /** the longest delay (ms) */
  maxMs: number;
  /** [0, 1); Math.random by default */
  random?: () => number;
}

/**
 * The delay before the next poll after `failures` consecutive failed polls
 * (0: the interval): base × 2^failures, capped at max, with "equal jitter"
 * (half fixed, half random), so nodes and restarts spread out but a delay
 * never drops below half its step.
 */
export function backoffDelay(failures: number, o: BackoffOptions): number {
  if (failures <= 0) return o.baseMs;
  const step = Math.min(o.maxMs, o.baseMs * 2 ** Math.min(failures, 30));
  const r = (o.random ?? Math.random)();
  return Math.round(step / 2 + (step / 2) * r);
}
