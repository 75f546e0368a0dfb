/**
 * Blue-green deploy mode: one upstream per deployment
 * (`<service>.<deployment slug>.upstream`, see {@link deploymentUpstream});
 * the service's `host` names the live one. A new deployment's instances
 * register into their own upstream, and the service is switched to it
 * automatically once it has enough healthy targets (`promoteWhen`), or by
 * {@link promote}. {@link rollback} switches back to the upstream that was
 * live before. The SDK is stateless across processes, so what it must
 * remember lives in the service's tags:
 *
 * - `gw-previous:<upstream>`: what was live before the last switch;
 * - `gw-rolled-back:<upstream>`: a deployment taken out by rollback; its
 *   instances do not promote it again on their own (an explicit promote
 *   clears it).
 *
 * `gw-agent promote` and `gw-agent rollback` call these two functions.
 */
import type { Logger } from 'pino';
import { GwSdkError } from './errors.js';
import { AdminApiError, enc, KongAdmin } from './kong-admin.js';
import { compareStamps, stampOf, type Stamp } from './ownership.js';
import { tag, TAG, tagValue, withoutTags } from '../../contract/src/tags.js';

/** Where promote/rollback find the gateway. */
export interface AdminTarget {
  adminUrl: string;
  adminToken?: string | undefined;
}

export interface PromoteOptions extends AdminTarget {
  service: string;
  deployment: string;
  /** switch even when the deployment's upstream has no healthy target (default false) */
  force?: boolean;
}

export interface RollbackOptions extends AdminTarget {
  service: string;
}

/** What a switch did. */
export interface SwitchResult {
  service: string;
  /** the upstream live now */
  upstream: string;
  /** the upstream live before this call */
  previous: string;
  /** false when it was already so (the call changed nothing) */
  changed: boolean;
}

interface ServiceBody {
  host: string;
  tags?: string[] | null;
}

interface HealthEntry {
  target: string;
  weight: number;
  health?: string;
  gw?: { state?: string };
}

/** DNS-label-safe form of a deployment name (`users:7` → `users-7`). */
export function deploymentSlug(deployment: string): string {
  const s = deployment
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return s || 'default';
}

/** The upstream of one deployment in blue-green mode: `<service>.<deployment slug>.upstream`. */
export function deploymentUpstream(service: string, deployment: string): string {
  return `${service}.${deploymentSlug(deployment)}.upstream`;
}

/**
 * Healthy = routable now: weight > 0 and, on gw, `gw.state` `healthy`; on
 * Kong, `HEALTHY` or `HEALTHCHECKS_OFF`.
 */
export function isHealthy(e: HealthEntry): boolean {
  if (e.weight <= 0) return false;
  if (e.gw?.state !== undefined) return e.gw.state === 'healthy';
  return e.health === 'HEALTHY' || e.health === 'HEALTHCHECKS_OFF';
}

export async function healthyTargets(admin: KongAdmin, upstream: string): Promise<number> {
  const r = await admin.expect<{ data?: HealthEntry[] }>([200], 'GET', `/upstreams/${enc(upstream)}/health`);
  return (r.body.data ?? []).filter(isHealthy).length;
}

async function getService(admin: KongAdmin, service: string): Promise<ServiceBody> {
  const r = await admin.call<ServiceBody>('GET', `/services/${enc(service)}`);
  if (r.status === 404) throw new GwSdkError('GW_ERR_SDK_UNKNOWN_SERVICE', `unknown service "${service}"`);
  if (r.status !== 200) throw new AdminApiError(r.status, r.body, `GET /services/${service}`);
  return r.body;
}

async function getUpstream(admin: KongAdmin, name: string): Promise<{ tags?: string[] | null } | undefined> {
  const r = await admin.call<{ tags?: string[] | null }>('GET', `/upstreams/${enc(name)}`);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new AdminApiError(r.status, r.body, `GET /upstreams/${name}`);
  return r.body;
}

/** Point the service at `to`, remembering `from` as previous. */
async function switchTo(
  admin: KongAdmin,
  service: string,
  svc: ServiceBody,
  to: string,
  extraTags: { previous: string; rolledBack?: string },
): Promise<void> {
  let tags = withoutTags(svc.tags, TAG.previous);
  tags = tags.filter((t) => t !== tag(TAG.rolledBack, to));
  tags.push(tag(TAG.previous, extraTags.previous));
  if (extraTags.rolledBack !== undefined && !tags.includes(tag(TAG.rolledBack, extraTags.rolledBack)))
    tags.push(tag(TAG.rolledBack, extraTags.rolledBack));
  await admin.expect([200], 'PATCH', `/services/${enc(service)}`, { host: to, tags });
}

/**
 * Make `deployment` live: point the service at its upstream. Idempotent
 * (already live → `changed: false`).
 *
 * @throws {@link GwSdkError} `GW_ERR_SDK_UNKNOWN_SERVICE`, `GW_ERR_SDK_UNKNOWN_DEPLOYMENT` (names the deployment and the upstream looked for), `GW_ERR_SDK_NOT_READY` (no healthy target; `force: true` switches anyway)
 * @throws AdminApiError when the gateway answers otherwise than expected
 */
export async function promote(o: PromoteOptions): Promise<SwitchResult> {
  const admin = new KongAdmin(o.adminUrl, o.adminToken);
  const svc = await getService(admin, o.service);
  const upstream = deploymentUpstream(o.service, o.deployment);
  const up = await getUpstream(admin, upstream);
  const owner = tagValue(up?.tags, TAG.deployment);
  if (!up || (owner !== undefined && deploymentSlug(owner) !== deploymentSlug(o.deployment))) {
    throw new GwSdkError(
      'GW_ERR_SDK_UNKNOWN_DEPLOYMENT',
      `unknown deployment "${o.deployment}" of service "${o.service}": no upstream "${upstream}" (has an instance of it registered with mode blue-green?)`,
    );
  }
  if (svc.host === upstream) {
    // already live; an explicit promote still lifts a rollback mark
    if ((svc.tags ?? []).includes(tag(TAG.rolledBack, upstream))) {
      await admin.expect([200], 'PATCH', `/services/${enc(o.service)}`, {
        tags: (svc.tags ?? []).filter((t) => t !== tag(TAG.rolledBack, upstream)),
      });
    }
    return { service: o.service, upstream, previous: upstream, changed: false };
  }
  if (!o.force && (await healthyTargets(admin, upstream)) === 0) {
    throw new GwSdkError(
      'GW_ERR_SDK_NOT_READY',
      `deployment "${o.deployment}" of service "${o.service}" has no healthy target in "${upstream}"; not switching (force: true to switch anyway)`,
    );
  }
  await switchTo(admin, o.service, svc, upstream, { previous: svc.host });
  return { service: o.service, upstream, previous: svc.host, changed: true };
}

/**
 * Switch the service back to the upstream that was live before the last
 * promotion, and mark the one taken out so its instances do not promote it
 * again by themselves. Idempotent (already rolled back → `changed: false`).
 *
 * @throws {@link GwSdkError} `GW_ERR_SDK_UNKNOWN_SERVICE`, `GW_ERR_SDK_NOTHING_TO_ROLL_BACK` (never switched), `GW_ERR_SDK_PREVIOUS_GONE` (the previous upstream was deleted)
 * @throws AdminApiError when the gateway answers otherwise than expected
 */
export async function rollback(o: RollbackOptions): Promise<SwitchResult> {
  const admin = new KongAdmin(o.adminUrl, o.adminToken);
  const svc = await getService(admin, o.service);
  const previous = tagValue(svc.tags, TAG.previous);
  if (previous === undefined) {
    throw new GwSdkError(
      'GW_ERR_SDK_NOTHING_TO_ROLL_BACK',
      `nothing to roll back to: service "${o.service}" was never switched between deployments (no ${TAG.previous} tag)`,
    );
  }
  if (previous === svc.host) return { service: o.service, upstream: previous, previous, changed: false };
  if (!(await getUpstream(admin, previous))) {
    throw new GwSdkError(
      'GW_ERR_SDK_PREVIOUS_GONE',
      `cannot roll back service "${o.service}": its previous upstream "${previous}" no longer exists`,
    );
  }
  // previous stays as it is, so a second rollback is a no-op rather than a switch forward
  await switchTo(admin, o.service, svc, previous, { previous, rolledBack: svc.host });
  return { service: o.service, upstream: previous, previous: svc.host, changed: true };
}

export type AutoPromoteOutcome =
  /** this deployment's upstream is live */
  | 'live'
  /** switched now */
  | 'promoted'
  /** not enough healthy targets yet */
  | 'waiting'
  /** never by itself: the live deployment is newer, or this one was rolled back */
  | 'not-eligible';

/**
 * One check of automatic promotion, run by a registered blue-green
 * instance: switch the service to `upstream` when it has at least
 * `healthyTargets` healthy targets, this deployment was not rolled back,
 * and it is newer than the live one (an old deployment's instance that
 * restarts never takes traffic back).
 */
export async function autoPromote(
  admin: KongAdmin,
  o: { service: string; upstream: string; stamp: Stamp; healthyTargets: number; log?: Logger },
): Promise<AutoPromoteOutcome> {
  const svc = await getService(admin, o.service);
  if (svc.host === o.upstream) return 'live';
  if ((svc.tags ?? []).includes(tag(TAG.rolledBack, o.upstream))) return 'not-eligible';
  const live = await getUpstream(admin, svc.host);
  const liveStamp = stampOf(live?.tags);
  // a dangling host, or an upstream no deployment stamped (made by hand, or the rolling one), counts as older
  if (liveStamp && liveStamp.deployment !== o.stamp.deployment && compareStamps(o.stamp, liveStamp) <= 0) return 'not-eligible';
  const healthy = await healthyTargets(admin, o.upstream);
  if (healthy < o.healthyTargets) return 'waiting';
  await switchTo(admin, o.service, svc, o.upstream, { previous: svc.host });
  o.log?.info({ upstream: o.upstream, previous: svc.host, healthy }, 'blue-green: promoted this deployment');
  return 'promoted';
}
