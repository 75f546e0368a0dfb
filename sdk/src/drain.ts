/**
 * Draining targets: weight 0 (no new requests), then wait until the gateway
 * reports no request in flight to them (gw), or a fixed delay (Kong, which
 * does not report in-flight counts); optionally delete them afterwards.
 * Used by `register()`'s shutdown and by `gw-agent drain`/`deregister`.
 */
import { enc, type KongAdmin } from './kong-admin.js';

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
  if (!o.skipWeight) {
    const present: string[] = [];
    for (const t of o.targets) {
      const r = await admin.expect([200, 404], 'PATCH', base + enc(t), { weight: 0 });
      if (r.status === 200) present.push(t);
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
      progress = { targetsLeft: busy.length, inFlight: busy.reduce((a, h) => a + (h.gw?.active_requests ?? 0), 0), elapsedMs: Date.now() - started };
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
    for (const t of targets) {
      await admin.expect([204, 404], 'DELETE', base + enc(t));
      deregistered.push(t);
    }
  }
  return { ...progress, elapsedMs: Date.now() - started, drained, targets, deregistered };
}
