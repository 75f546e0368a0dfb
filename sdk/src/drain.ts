/**
 * Draining targets: weight 0 (no new requests), then wait until the gateway
 * reports no request in flight to them (gw), or a fixed delay (Kong, which
 * does not report in-flight counts); optionally delete them afterwards.
 * Used by `register()`'s shutdown and by `gw-agent drain`/`deregister`.
 *
 * An operator's drain (`mark: true`) must stick: the running SDK or sidecar
 * of a drained instance must not put it back. So it marks the target
 * (tag `gw-drained`, with weight 0), and when it also deletes a gw-managed
 * target it leaves a note on the upstream (`gw-drained:<target>@<created_at>`,
 * the newest {@link DRAINED_AWAY_KEPT} kept). The SDK's keep-alive reads
 * both (register.ts): a marked target, or a missing one whose note names
 * the target it registered (same address and created_at), is left alone
 * until the process restarts. A new process creates a new target (a new
 * created_at), so old notes never block it.
 */
import { enc, type KongAdmin } from './kong-admin.js';
import { tag, TAG, untagSafe } from '../../contract/src/tags.js';

export type GatewayKind = 'gw' | 'kong';

/** gw answers `GET /` with a `gw` object; Kong does not. */
export async function detectGateway(admin: KongAdmin): Promise<GatewayKind> {
  const root = await admin.expect<{ gw?: unknown }>([200], 'GET', '/');
  return root.body.gw ? 'gw' : 'kong';
}

/** One entry of `GET /upstreams/{u}/health` as far as draining needs it. */
export interface TargetHealth {
  target: string;
  weight: number;
  tags?: string[] | null;
  health?: string;
  gw?: { state: string; active_requests: number; ejected_until: number | null; lease_expires_at: number | null };
}

/** `GET /upstreams/{u}/health` entries (Kong's shape, plus `gw` on gw). */
export async function upstreamHealth(admin: KongAdmin, upstream: string): Promise<TargetHealth[]> {
  const h = await admin.expect<{ data?: TargetHealth[] }>([200], 'GET', `/upstreams/${enc(upstream)}/health`);
  return h.body.data ?? [];
}

export interface DrainProgress {
  /** targets that still have requests in flight (all of them while a Kong drain delay runs) */
  targetsLeft: number;
  /** requests in flight over all drained targets (0 on Kong: unknown) */
  inFlight: number;
  elapsedMs: number;
}

export interface DrainResult extends DrainProgress {
  drained: boolean;
  /** targets set to weight 0 (those that no longer existed are left out) */
  targets: string[];
  /** targets deleted at the end (`deregister: true`) */
  deregistered: string[];
}

export interface DrainOptions {
  upstream: string;
  /** `host:port` of each target */
  targets: string[];
  gateway: GatewayKind;
  /** gw: longest wait for in-flight requests to reach 0 */
  timeoutMs: number;
  /** Kong: fixed wait after weight 0 (capped by timeoutMs) */
  delayMs: number;
  /** delete the targets once drained (also after a timeout when `deregisterOnTimeout`) */
  deregister?: boolean;
  deregisterOnTimeout?: boolean;
  /** an operator's drain: tag the targets `gw-drained` and leave a note on the upstream for those deleted (module comment) */
  mark?: boolean;
  /** skip the weight-0 step (already done) */
  skipWeight?: boolean;
  pollMs?: number;
  onProgress?: (p: DrainProgress) => void;
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Set every target to weight 0, then wait (see the module comment).
 * Resolves with `drained: false` on timeout or abort; throws only on an
 * Admin API error.
 */
export async function drainTargets(admin: KongAdmin, o: DrainOptions): Promise<DrainResult> {
  const started = Date.now();
  const base = `/upstreams/${enc(o.upstream)}/targets/`;
  let targets = o.targets;
  /** target → its entity as drained (mark: for the upstream note) */
  const entities = new Map<string, TargetEntity>();
  if (!o.skipWeight) {
    const present: string[] = [];
    for (const t of o.targets) {
      const r = o.mark
        ? await markDrained(admin, o.upstream, t)
        : await admin.expect<TargetEntity>([200, 404], 'PATCH', base + enc(t), { weight: 0 });
      if (r.status === 200) {
        present.push(t);
        entities.set(t, r.body);
      }
    }
    targets = present;
  }
  let progress: DrainProgress = { targetsLeft: targets.length, inFlight: 0, elapsedMs: 0 };
  let drained = true;
  if (targets.length > 0 && o.gateway === 'gw') {
    const end = started + o.timeoutMs;
    for (;;) {
      const health = await upstreamHealth(admin, o.upstream);
      const mine = health.filter((h) => targets.includes(h.target));
      const busy = mine.filter((h) => (h.gw?.active_requests ?? 0) > 0);
      progress = {
        targetsLeft: busy.length,
        inFlight: busy.reduce((a, h) => a + (h.gw?.active_requests ?? 0), 0),
        elapsedMs: Date.now() - started,
      };
      o.onProgress?.(progress);
      if (busy.length === 0) break;
      if (Date.now() >= end || o.signal?.aborted) {
        drained = false;
        break;
      }
      await sleep(Math.min(o.pollMs ?? 100, Math.max(1, end - Date.now())), o.signal);
    }
  } else if (targets.length > 0) {
    const end = started + Math.min(o.delayMs, o.timeoutMs);
    while (Date.now() < end && !o.signal?.aborted) {
      o.onProgress?.({ targetsLeft: targets.length, inFlight: 0, elapsedMs: Date.now() - started });
      await sleep(Math.min(1000, end - Date.now()), o.signal);
    }
    drained = o.delayMs <= o.timeoutMs && !o.signal?.aborted;
    progress = { targetsLeft: drained ? 0 : targets.length, inFlight: 0, elapsedMs: Date.now() - started };
    o.onProgress?.(progress);
  } else {
    o.onProgress?.(progress);
  }
  const deregistered: string[] = [];
  if (o.deregister && (drained || o.deregisterOnTimeout)) {
    // the note first: a keep-alive that finds the target gone must already find it
    if (o.mark)
      await noteDrainedAway(
        admin,
        o.upstream,
        targets.map((t) => entities.get(t)).filter((e): e is TargetEntity => e !== undefined),
      );
    for (const t of targets) {
      await admin.expect([204, 404], 'DELETE', base + enc(t));
      deregistered.push(t);
    }
  }
  return { ...progress, elapsedMs: Date.now() - started, drained, targets, deregistered };
}

/** A target entity as far as the drain mark needs it. */
export interface TargetEntity {
  target: string;
  weight: number;
  tags?: string[] | null;
  created_at?: number;
}

/** Notes kept on an upstream (`gw-drained:<target>@<created_at>`), newest first. */
export const DRAINED_AWAY_KEPT = 50;

/** True when an operator drained this target (weight 0 and tag `gw-drained`). */
export function isMarkedDrained(t: { weight?: number; tags?: readonly string[] | null }): boolean {
  return t.weight === 0 && (t.tags ?? []).includes(TAG.drained);
}

/** Weight 0 and tag `gw-drained` (the tags are read first: a PATCH replaces them). 404 when the target does not exist. */
export async function markDrained(admin: KongAdmin, upstream: string, target: string): Promise<{ status: number; body: TargetEntity }> {
  const path = `/upstreams/${enc(upstream)}/targets/${enc(target)}`;
  const cur = await admin.expect<TargetEntity>([200, 404], 'GET', path);
  if (cur.status === 404) return cur;
  const tags = cur.body.tags ?? [];
  return admin.expect<TargetEntity>([200, 404], 'PATCH', path, {
    weight: 0,
    tags: tags.includes(TAG.drained) ? tags : [...tags, TAG.drained],
  });
}

function noteOf(t: TargetEntity): string {
  return `${tag(TAG.drainedAway, t.target)}@${String(t.created_at)}`;
}

/** The notes on an upstream: target and the created_at of the target that was deleted. */
export function drainedAway(tags: readonly string[] | null | undefined): { target: string; createdAt: string }[] {
  const out: { target: string; createdAt: string }[] = [];
  for (const t of tags ?? []) {
    if (!t.startsWith(TAG.drainedAway)) continue;
    const v = t.slice(TAG.drainedAway.length);
    const at = v.lastIndexOf('@');
    if (at > 0) out.push({ target: untagSafe(v.slice(0, at)), createdAt: v.slice(at + 1) });
  }
  return out;
}

/** Did an operator drain and delete exactly this target (the one created at `createdAt`)? */
export function wasDrainedAway(upstreamTags: readonly string[] | null | undefined, target: string, createdAt: number | undefined): boolean {
  if (createdAt === undefined) return false;
  return drainedAway(upstreamTags).some((n) => n.target === target && n.createdAt === String(createdAt));
}

/** Record on the upstream that these gw-managed targets were drained and deleted by an operator (other tags kept). */
export async function noteDrainedAway(admin: KongAdmin, upstream: string, targets: TargetEntity[]): Promise<void> {
  const managed = targets.filter((t) => (t.tags ?? []).includes(TAG.gw) && t.created_at !== undefined);
  if (managed.length === 0) return;
  const path = `/upstreams/${enc(upstream)}`;
  const u = await admin.expect<{ tags?: string[] | null }>([200, 404], 'GET', path);
  if (u.status === 404) return;
  const tags = u.body.tags ?? [];
  const fresh = managed.map(noteOf);
  const old = tags.filter((t) => t.startsWith(TAG.drainedAway) && !fresh.includes(t));
  // newest first by the deleted target's created_at
  const at = (t: string): number => Number(t.slice(t.lastIndexOf('@') + 1)) || 0;
  const kept = [...fresh, ...old.sort((a, b) => at(b) - at(a))].slice(0, DRAINED_AWAY_KEPT);
  await admin.expect([200], 'PATCH', path, { tags: [...tags.filter((t) => !t.startsWith(TAG.drainedAway)), ...kept] });
}
