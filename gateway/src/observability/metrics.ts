/**
 * Prometheus metrics for `GET /metrics` on the admin listener (prom-client).
 *
 * The hot path never touches prom-client: the proxy adds to plain per-route
 * arrays ({@link RequestMetrics}), health events bump plain counters, and
 * everything is turned into Prometheus samples when scraped.
 *
 * Declared names (STYLE §19):
 *   gw_http_requests_total{service,route,status}             counter
 *   gw_http_request_duration_seconds{service,route}           histogram
 *   gw_upstream_target_state{upstream,target,state}           gauge (1 = current state)
 *   gw_upstream_target_circuit{upstream,target,state}         gauge (1 = current breaker state)
 *   gw_upstream_target_active_requests{upstream,target}       gauge
 *   gw_upstream_all_unhealthy{upstream}                        gauge
 *   gw_health_transitions_total{upstream,from,to}              counter
 *   gw_circuit_transitions_total{upstream,to}                  counter
 *   gw_ejections_capped_total{upstream}                        counter
 *   gw_health_probes_total{result}                             counter
 *   gw_upstream_limit_rejections_total                         counter
 *   gw_hedged_requests_total, gw_hedge_wins_total              counter
 *   gw_target_registrations_total, gw_lease_expiries_total     counter
 *   gw_identity_guard_removals_total                           counter
 *   plus prom-client's default process metrics, prefixed gw_
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { HealthManager } from '../health/health-manager.js';
import type { Runtime } from '../runtime/runtime.js';

/** Latency buckets, seconds. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export interface RouteSeries {
  service: string;
  route: string;
  statuses: Map<number, number>;
  buckets: Float64Array;
  sum: number;
  count: number;
}

/** Per-route request counts and latency, kept in plain arrays for the proxy's hot path. */
export class RequestMetrics {
  readonly #series = new Map<string, RouteSeries>();

  /** One finished request (`key` = route id, or '' when nothing matched). */
  observe(key: string, service: string, route: string, status: number, seconds: number): void {
    let s = this.#series.get(key);
    if (!s) {
      s = { service, route, statuses: new Map(), buckets: new Float64Array(DURATION_BUCKETS.length), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    if (i < DURATION_BUCKETS.length) s.buckets[i]!++;
    s.sum += seconds;
    s.count++;
  }

  series(): Iterable<RouteSeries> {
    return this.#series.values();
  }

  /** Plain data for another process (`--workers`). */
  export(): ExportedSeries[] {
    return [...this.#series].map(([key, s]) => ({ key, service: s.service, route: s.route, statuses: [...s.statuses], buckets: [...s.buckets], sum: s.sum, count: s.count }));
  }

  /** Add another process's series to these. */
  merge(series: readonly ExportedSeries[]): void {
    for (const e of series) {
      let s = this.#series.get(e.key);
      if (!s) {
        s = { service: e.service, route: e.route, statuses: new Map(), buckets: new Float64Array(DURATION_BUCKETS.length), sum: 0, count: 0 };
        this.#series.set(e.key, s);
      }
      for (const [status, n] of e.statuses) s.statuses.set(status, (s.statuses.get(status) ?? 0) + n);
      e.buckets.forEach((n, i) => (s.buckets[i]! += n));
      s.sum += e.sum;
      s.count += e.count;
    }
  }
}

export interface ExportedSeries {
  key: string;
  service: string;
  route: string;
  statuses: [number, number][];
  buckets: number[];
  sum: number;
  count: number;
}

export interface ProxyStats {
  hedged: number;
  hedgeWins: number;
}

export interface MetricsSources {
  requests: { series(): Iterable<RouteSeries> };
  proxy: ProxyStats;
  /** called before each scrape (workers: gather their figures) */
  beforeScrape?: () => Promise<void>;
  health: HealthManager;
  runtime: Runtime;
  /** requests in flight per target over the node's processes (default: this process's health records) */
  activeRequests?: (upstreamId: string, targetId: string) => number;
  leaseExpiries: () => number;
  registrations: () => number;
  /** stale targets removed by the identity guard (admin/identity-guard.ts) */
  identityGuardRemovals?: () => number;
}

type Labels = Record<string, string | number>;
interface Sample { value: number; labels?: Labels; metricName?: string }

/** A metric computed at scrape time, in the shape prom-client's Registry renders. */
function computed(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: () => Sample[]) {
  return {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    get: () => ({ name, help, type, values: values(), aggregator: 'sum' as const }),
    reset: () => undefined,
  };
}

export interface Metrics {
  readonly registry: Registry;
  /** an arrow (no `this`): safe to hand on detached, as `metrics: m.render` */
  readonly render: () => Promise<{ contentType: string; body: string }>;
}

export function createMetrics(src: MetricsSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gw_' });
  const transitions = new Map<string, { labels: Labels; n: number }>();
  const bump = (key: string, labels: Labels) => {
    const e = transitions.get(key);
    if (e) e.n++;
    else transitions.set(key, { labels, n: 1 });
  };
  src.health.onEvent((e) => {
    switch (e.kind) {
      case 'state':
        bump(`s\0${e.upstream}\0${e.from}\0${e.to}`, { kind: 'state', upstream: e.upstream, from: e.from, to: e.to });
        break;
      case 'breaker':
        bump(`b\0${e.upstream}\0${e.to}`, { kind: 'breaker', upstream: e.upstream, to: e.to });
        break;
      case 'ejection-capped':
        bump(`c\0${e.upstream}`, { kind: 'capped', upstream: e.upstream });
        break;
      default:
        break;
    }
  });
  const ofKind = (kind: string): Sample[] =>
    [...transitions.values()].filter((t) => t.labels.kind === kind).map((t) => {
      const { kind: _k, ...labels } = t.labels;
      return { value: t.n, labels };
    });

  const perTarget = (fn: (upstream: string, target: string, id: string, upstreamId: string) => Sample[]): Sample[] => {
    const out: Sample[] = [];
    for (const e of src.runtime.snapshot.upstreams.values()) {
      for (const t of e.balancer.targets) out.push(...fn(e.upstream.name, t.address, t.id, e.upstream.id));
    }
    return out;
  };

  const metrics = [
    computed('gw_http_requests_total', 'Proxied requests by service, route and status', 'counter', () => {
      const out: Sample[] = [];
      for (const s of src.requests.series()) for (const [status, n] of s.statuses) out.push({ value: n, labels: { service: s.service, route: s.route, status } });
      return out;
    }),
    computed('gw_http_request_duration_seconds', 'Time from request to the end of the response, by service and route', 'histogram', () => {
      const out: Sample[] = [];
      for (const s of src.requests.series()) {
        const labels = { service: s.service, route: s.route };
        let cum = 0;
        DURATION_BUCKETS.forEach((le, i) => {
          cum += s.buckets[i]!;
          out.push({ metricName: 'gw_http_request_duration_seconds_bucket', labels: { ...labels, le }, value: cum });
        });
        out.push({ metricName: 'gw_http_request_duration_seconds_bucket', labels: { ...labels, le: '+Inf' }, value: s.count });
        out.push({ metricName: 'gw_http_request_duration_seconds_sum', labels, value: s.sum });
        out.push({ metricName: 'gw_http_request_duration_seconds_count', labels, value: s.count });
      }
      return out;
    }),
    computed('gw_upstream_target_state', 'Target state (warming, healthy, unhealthy, draining, ejected): 1 for the current one', 'gauge', () =>
      perTarget((upstream, target, id, uid) => {
        const v = src.health.view(uid, id);
        return v ? [{ value: 1, labels: { upstream, target, state: v.state } }] : [];
      }),
    ),
    computed('gw_upstream_target_circuit', 'Circuit breaker state per target (closed, open, half-open): 1 for the current one', 'gauge', () =>
      perTarget((upstream, target, id, uid) => {
        const t = src.health.target(uid, id);
        return t ? [{ value: 1, labels: { upstream, target, state: t.breaker.state.state } }] : [];
      }),
    ),
    computed('gw_upstream_target_active_requests', 'Requests in flight per target', 'gauge', () =>
      perTarget((upstream, target, id, uid) => [{ value: src.activeRequests?.(uid, id) ?? src.health.inFlight(uid, id), labels: { upstream, target } }]),
    ),
    computed('gw_upstream_all_unhealthy', '1 while every target of the upstream is unhealthy', 'gauge', () =>
      [...src.runtime.snapshot.upstreams.values()].map((e) => ({ value: src.health.upstream(e.upstream.id)?.allUnhealthy ? 1 : 0, labels: { upstream: e.upstream.name } })),
    ),
    computed('gw_health_transitions_total', 'Target state changes', 'counter', () => ofKind('state')),
    computed('gw_circuit_transitions_total', 'Circuit breaker transitions by new state (open = an ejection)', 'counter', () => ofKind('breaker')),
    computed('gw_ejections_capped_total', 'Passive ejections skipped because of max_ejection_percent', 'counter', () => ofKind('capped')),
    computed('gw_health_probes_total', 'Active probes by result', 'counter', () => [...src.health.stats.probes].map(([result, value]) => ({ value, labels: { result } }))),
    computed('gw_upstream_limit_rejections_total', 'Requests refused by upstream limits (503 + Retry-After)', 'counter', () => [{ value: src.health.stats.shed }]),
    computed('gw_hedged_requests_total', 'Extra tries sent by hedging', 'counter', () => [{ value: src.proxy.hedged }]),
    computed('gw_hedge_wins_total', 'Hedged tries that answered first', 'counter', () => [{ value: src.proxy.hedgeWins }]),
    computed('gw_target_registrations_total', 'Targets created', 'counter', () => [{ value: src.registrations() }]),
    computed('gw_lease_expiries_total', 'Targets removed because their lease expired', 'counter', () => [{ value: src.leaseExpiries() }]),
    computed('gw_identity_guard_removals_total', 'Stale targets another instance left at an address, removed when a new instance registered it', 'counter', () => [{ value: src.identityGuardRemovals?.() ?? 0 }]),
  ];
  // prom-client renders any object with name/help/type/get(); these are computed at scrape time
  for (const m of metrics) registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);
  return {
    registry,
    render: async () => {
      await src.beforeScrape?.();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
