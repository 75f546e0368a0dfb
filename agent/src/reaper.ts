/**
 * Kong hygiene: on a real Kong a crashed task leaves its target behind (no
 * leases). The reaper removes targets of one upstream that carry the `gw`
 * tag and have been unhealthy for longer than `reapAfterMs`. Kong keeps no
 * history of health, so "unhealthy since" is when this reaper first saw it
 * unhealthy; a target seen healthy again starts over.
 */
import type { Logger } from 'pino';
import { enc, type KongAdmin } from '../../sdk/src/kong-admin.js';
import { isUnhealthy, step, targetsWithHealth } from './admin.js';

export interface ReapSweep {
  /** targets removed in this sweep */
  reaped: string[];
  /** gw-tagged targets unhealthy now, and for how long this reaper has seen them so */
  unhealthy: { target: string; forMs: number }[];
  /** gw-tagged targets in the upstream */
  checked: number;
}

export interface ReaperOptions {
  admin: KongAdmin;
  upstream: string;
  reapAfterMs: number;
  /** a target never to reap (the sidecar's own) */
  exclude?: () => string | undefined;
  logger?: Logger;
  now?: () => number;
}

export class Reaper {
  readonly #o: ReaperOptions;
  readonly #firstSeen = new Map<string, number>();
  readonly #now: () => number;
  /** every target removed so far */
  readonly reaped: string[] = [];

  constructor(o: ReaperOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  /** Look once; remove what has been unhealthy long enough. */
  async sweep(): Promise<ReapSweep> {
    const { admin, upstream } = this.#o;
    const all = await targetsWithHealth(admin, upstream);
    const now = this.#now();
    const own = this.#o.exclude?.();
    const out: ReapSweep = { reaped: [], unhealthy: [], checked: 0 };
    const stillUnhealthy = new Set<string>();
    for (const h of all) {
      if (!(h.tags ?? []).includes('gw') || h.target === own) continue;
      out.checked++;
      if (!isUnhealthy(h)) continue;
      stillUnhealthy.add(h.target);
      const since = this.#firstSeen.get(h.target) ?? now;
      this.#firstSeen.set(h.target, since);
      const forMs = now - since;
      if (forMs >= this.#o.reapAfterMs) {
        await step(admin, `DELETE /upstreams/${upstream}/targets/${h.target}`, () =>
          admin.expect([204, 404], 'DELETE', `/upstreams/${enc(upstream)}/targets/${enc(h.target)}`),
        );
        this.#o.logger?.warn({ upstream, target: h.target, unhealthy_ms: forMs }, 'reaped a target unhealthy for longer than --reap-after');
        out.reaped.push(h.target);
        this.reaped.push(h.target);
        this.#firstSeen.delete(h.target);
      } else {
        out.unhealthy.push({ target: h.target, forMs });
      }
    }
    for (const t of [...this.#firstSeen.keys()]) if (!stillUnhealthy.has(t)) this.#firstSeen.delete(t);
    return out;
  }
}
