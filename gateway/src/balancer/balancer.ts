/**
 * The balancer seam: one balancer per upstream, one file per algorithm under
 * `algorithms/`, chosen by `upstream.algorithm` in `registry.ts`.
 * CONTRACT: the proxy and health code use only what is declared here.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** One target as the balancer sees it (weight-0 targets are kept but never picked). */
export interface BalancerTarget {
  /** target entity id */
  readonly id: string;
  /** normalised `host:port` */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
}

/** What a pick may look at; built once per request by the proxy. */
export interface PickContext {
  readonly clientIp: string;
  readonly headers: IncomingHttpHeaders;
  /** request path without query */
  readonly path: string;
  /** raw query string without `?` (may be '') */
  readonly query: string;
  /** regex captures of the matched route path, by name and by index ("1", "2"...) */
  readonly uriCaptures?: Readonly<Record<string, string>>;
  /** ids of targets already tried (and failed) in this request */
  readonly tried: ReadonlySet<string>;
}

export interface PickResult {
  readonly target: BalancerTarget;
  /** consistent-hashing on a cookie that was absent: a Set-Cookie value to add to the response */
  readonly setCookie?: string;
}

export interface Balancer {
  readonly algorithm: string;
  /** Pick a target, or undefined when none is available. O(1)/O(log n). */
  pick(ctx: PickContext): PickResult | undefined;
  /** A request started on `targetId` (least-connections counts these). */
  onRequestStart(targetId: string): void;
  /** A request finished; `latencyMs` feeds the latency algorithm. */
  onRequestEnd(targetId: string, latencyMs: number, ok: boolean): void;
  /**
   * Health seam (the one narrow method health code calls): whether a target
   * may receive new requests. `factor` in (0,1] scales its weight (slow start).
   */
  setAvailability(targetId: string, available: boolean, factor?: number): void;
  /** Targets with weight > 0 that are available. */
  availableCount(): number;
  readonly targets: readonly BalancerTarget[];
}
