/**
 * The identity guard (DESIGN §7): ECS reuses IP addresses, so when an
 * instance registers `host:port`, a target at that address owned by a
 * different instance (another `gw-instance` tag), in ANY upstream, belongs
 * to a task that is gone: this instance is the one listening there now. It
 * is removed first, so traffic for one service can never reach another
 * service's new task (Kong issue 7546).
 *
 * On gw, one `GET /targets?target=host:port` (a gw extension) finds every
 * holder at once. On Kong the work is bounded: the upstreams searched are this instance's own plus those
 * tagged `gw` (every upstream the SDK creates is), listed with Kong's
 * pagination, at most {@link MAX_UPSTREAMS}; then one
 * `GET /upstreams/{u}/targets/{host:port}` per upstream, {@link PARALLEL}
 * at a time. Targets without a `gw-instance` tag (made by hand) are left
 * alone.
 */
import type { Logger } from 'pino';
import { AdminApiError, enc, type KongAdmin } from './kong-admin.js';
import { TAG, tagValue } from '../../contract/src/tags.js';

export const MAX_UPSTREAMS = 10_000;
const PAGE = 1000;
const PARALLEL = 16;

export interface StaleHolder {
  upstream: string;
  target: string;
  instanceId: string;
}

interface Page<T> {
  data?: T[];
  next?: string | null;
}

/** Names of upstreams tagged `gw`, following `next`, at most `max`. */
export async function gwUpstreams(
  admin: KongAdmin,
  max = MAX_UPSTREAMS,
  pageSize = PAGE,
): Promise<{ names: string[]; truncated: boolean }> {
  const names: string[] = [];
  let path: string | null = `/upstreams?tags=${TAG.gw}&size=${pageSize}`;
  while (path && names.length < max) {
    const r: { body: Page<{ name: string }> } = await admin.expect<Page<{ name: string }>>([200], 'GET', path);
    for (const u of r.body.data ?? []) names.push(u.name);
    // Kong's `next` is a path (or a URL): keep only path and query, the admin URL is ours
    const next = r.body.next ? new URL(r.body.next, 'http://admin') : undefined;
    path = next ? next.pathname + next.search : null;
  }
  return { names: names.slice(0, max), truncated: path !== null || names.length > max };
}

/**
 * Remove every target at `target` owned by an instance other than
 * `instanceId` (tag value as written), in `ownUpstream` or any gw upstream.
 * Returns what was removed.
 */
export async function removeStaleHolders(
  admin: KongAdmin,
  o: { target: string; instanceId: string; ownUpstream: string; log?: Logger; maxUpstreams?: number; pageSize?: number; gw?: boolean },
): Promise<StaleHolder[]> {
  if (o.gw) return removeStaleHoldersGw(admin, o);
  const { names, truncated } = await gwUpstreams(admin, o.maxUpstreams, o.pageSize);
  if (truncated)
    o.log?.warn({ max: o.maxUpstreams ?? MAX_UPSTREAMS }, 'identity guard: more gw upstreams than it searches; the rest are not checked');
  const upstreams = [o.ownUpstream, ...names.filter((n) => n !== o.ownUpstream)];
  const removed: StaleHolder[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < upstreams.length) {
      const u = upstreams[next++]!;
      const path = `/upstreams/${enc(u)}/targets/${enc(o.target)}`;
      const r = await admin.call<{ tags?: string[] | null }>('GET', path);
      if (r.status === 404) continue;
      if (r.status !== 200) throw new AdminApiError(r.status, r.body, `GET ${path}`);
      const owner = tagValue(r.body.tags, TAG.instance);
      if (owner === undefined || owner === o.instanceId) continue;
      o.log?.warn(
        { upstream: u, target: o.target, stale_owner: owner },
        'removing a stale target left at this address by another instance',
      );
      await admin.expect([204, 404], 'DELETE', path);
      removed.push({ upstream: u, target: o.target, instanceId: owner });
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, upstreams.length) }, worker));
  return removed;
}

/** On gw, one `GET /targets?target=host:port` finds every holder (any upstream, gw-tagged or not). */
async function removeStaleHoldersGw(admin: KongAdmin, o: { target: string; instanceId: string; log?: Logger }): Promise<StaleHolder[]> {
  const r = await admin.expect<{ data?: { id: string; target: string; tags?: string[] | null; upstream: { id: string } }[] }>(
    [200],
    'GET',
    `/targets?target=${enc(o.target)}`,
  );
  const removed: StaleHolder[] = [];
  for (const t of r.body.data ?? []) {
    const owner = tagValue(t.tags, TAG.instance);
    if (owner === undefined || owner === o.instanceId) continue;
    o.log?.warn(
      { upstream: t.upstream.id, target: o.target, stale_owner: owner },
      'removing a stale target left at this address by another instance',
    );
    await admin.expect([204, 404], 'DELETE', `/upstreams/${enc(t.upstream.id)}/targets/${enc(t.id)}`);
    removed.push({ upstream: t.upstream.id, target: o.target, instanceId: owner });
  }
  return removed;
}
