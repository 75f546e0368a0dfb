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
  /**
   * One address of a hostname target (dns/targets.ts): the target entity's
   * id (`id` is then `<target id>@<ip>:<port>`) and its host name, which the
   * proxy sends as Host and TLS SNI (Kong's preserve_host: false). Absent
   * for an IP target (it is its own only address).
   */
  readonly targetId?: string | undefined;
  readonly name?: string | undefined;
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

/**
 * A target's runtime state as the balancer reads it (STYLE §2.3-2.4). The
 * record is owned by health (health/target-runtime.ts, one per target,
 * surviving rebuilds); the balancer never writes it. `available` is derived
 * by health from the per-source flags and the upstream's all-unhealthy
 * policy; `inFlight` is the node's one in-flight count of the target.
 */
export interface TargetStatus {
  /** may take new requests */
  readonly available: boolean;
  /** slow start: scales the target's weight, in [0, 1] (0 is raised to a trickle) */
  readonly factor: number;
  /** tries in flight to the target */
  readonly inFlight: number;
  /** Report changes to `watcher` from now on (the record has one watcher: the balancer that routes now). */
  watch(watcher: StatusWatcher, slot: number): void;
}

/** What a balancer is told when a record changed; `slot` is the index it gave in {@link TargetStatus.watch}. */
export interface StatusWatcher {
  /** availability or factor changed */
  changed(slot: number): void;
  /** a try started */
  started(slot: number): void;
  /** a try ended after `latencyMs` */
  ended(slot: number, latencyMs: number, ok: boolean): void;
}

/**
 * How a balancer was derived in place from the one it replaces
 * (registry.ts `updateBalancer`): only these targets changed, so health
 * re-syncs and re-binds only them. Absent on a balancer built from scratch.
 */
export interface BalancerDerivation {
  /** the balancer this one replaces */
  readonly from: Balancer;
  /** targets added or changed (weight, address), as they are now */
  readonly changed: readonly BalancerTarget[];
  /** ids of targets that left */
  readonly removed: readonly string[];
  /** targets whose address is no longer theirs: the removed ones, and the old versions of those whose address changed */
  readonly left: readonly BalancerTarget[];
}

export interface Balancer {
  readonly algorithm: string;
  /** Set when this balancer was derived from the previous one in place (see {@link BalancerDerivation}). */
  readonly derivation?: BalancerDerivation | undefined;
  /** Pick a target, or undefined when none is available. O(1)/O(log n). */
  pick(ctx: PickContext): PickResult | undefined;
  /**
   * The health seam (the one narrow method health code calls): read each
   * target's state from `statusOf` from now on and watch it. Targets it has
   * no record for keep the balancer's own (available, factor 1, nothing in
   * flight). Called by health once per new balancer, before it routes.
   * With `only` (a derived balancer, {@link derivation}), just those target
   * ids are re-read; the others keep the records they are bound to.
   */
  bind(statusOf: (targetId: string) => TargetStatus | undefined, only?: readonly string[]): void;
  /** Targets with weight > 0 that are available. */
  availableCount(): number;
  readonly targets: readonly BalancerTarget[];
}
