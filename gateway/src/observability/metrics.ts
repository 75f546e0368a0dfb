/**
 * Prometheus metrics for `GET /metrics` on the admin listener (prom-client).
 *
 * The hot path never touches prom-client: the proxy hands each finished
 * request's record to {@link RequestMetrics} (plain per-route arrays),
 * health events bump plain counters, and everything is turned into
 * Prometheus samples when scraped.
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
 *   gw_store_malformed_rows_total, gw_store_resyncs_total      counter (cluster mode)
 *   gw_cloudmap_api_calls_total{operation}                     counter (Cloud Map discovery)
 *   gw_cloudmap_api_errors_total{operation,error}              counter
 *   gw_cloudmap_polls_total{result}                            counter
 *   gw_cloudmap_polling, gw_cloudmap_backoff_seconds            gauge
 *   gw_dashboard_streams                                       gauge
 *   gw_dashboard_work_seconds_total, gw_dashboard_sent_bytes_total, gw_dashboard_dropped_streams_total  counter
 *   plus prom-client's default process metrics, prefixed gw_
 *
 * Kong's prometheus plugin (exporter.lua, Kong 3.x), so Kong's Grafana
 * dashboard works unchanged; requests no route matched are not counted here
 * (Kong's exporter returns early for them), only in gw_*:
 *   kong_http_requests_total{service,route,code,source,workspace,consumer}   counter
 *   kong_request_latency_ms{service,route,workspace}     histogram (UPSTREAM_LATENCY_BUCKETS)
 *   kong_upstream_latency_ms{service,route,workspace}    histogram (UPSTREAM_LATENCY_BUCKETS)
 *   kong_kong_latency_ms{service,route,workspace}        histogram (KONG_LATENCY_BUCKETS)
 *   kong_bandwidth_bytes{service,route,direction,workspace,consumer}         counter
 *   kong_upstream_target_health{upstream,target,address,state,subsystem}     gauge (4 states, 1 = current)
 *   kong_datastore_reachable                                                 gauge
 *   kong_node_info{node_id,version}                                          gauge
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { HealthManager } from '../health/health-manager.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Route, Service } from '../entities/types.js';
import { GW_VERSION } from '../version.js';
import { internalErrors, type InternalErrors } from './last-resort.js';
import type { RequestObserver, RequestRecord } from './request-record.js';
import type { CloudMapStats } from '../discovery/cloudmap.js';

/** Latency buckets, seconds. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** Kong's prometheus plugin: buckets of kong_kong_latency_ms, ms (exporter.lua KONG_LATENCY_BUCKETS). */
export const KONG_LATENCY_BUCKETS = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000] as const;
/** Kong's buckets of kong_upstream_latency_ms and kong_request_latency_ms, ms (UPSTREAM_LATENCY_BUCKETS). */
export const UPSTREAM_LATENCY_BUCKETS = [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000] as const;
/** Kong OSS has one workspace, `default`; its label is kept so Kong's queries match. */
export const KONG_WORKSPACE = 'default';

/** One histogram's counts (non-cumulative per bucket; cumulated at scrape). */
export class Histogram {
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.buckets = new Float64Array(bounds.length);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    if (i < b.length) this.buckets[i]!++;
    this.sum += v;
    this.count++;
  }
  export(): ExportedHistogram {
    return { buckets: [...this.buckets], sum: this.sum, count: this.count };
  }
  merge(e: ExportedHistogram): void {
    e.buckets.forEach((n, i) => (this.buckets[i]! += n));
    this.sum += e.sum;
    this.count += e.count;
  }
}

export interface ExportedHistogram {
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * The figures of one (route, service) pair. gw labels: service = name or id;
 * Kong labels (exporter.lua): service = name or host, route = name or id.
 */
export interface RouteSeries {
  service: string;
  route: string;
  /** a route matched (Kong records nothing for requests no route matched) */
  matched: boolean;
  kongService: string;
  statuses: Map<number, number>;
  /** status × 2 + (1 when the gateway answered itself): kong_http_requests_total{code,source} */
  codes: Map<number, number>;
  /** gw_http_request_duration_seconds */
  duration: Histogram;
  /** kong_request_latency_ms, kong_upstream_latency_ms, kong_kong_latency_ms */
  kongRequest: Histogram;
  kongUpstream: Histogram;
  kongLatency: Histogram;
  ingress: number;
  egress: number;
}

const newSeries = (service: string, route: string, matched: boolean, kongService: string): RouteSeries => ({
  service,
  route,
  matched,
  kongService,
  statuses: new Map(),
  codes: new Map(),
  duration: new Histogram(DURATION_BUCKETS),
  kongRequest: new Histogram(UPSTREAM_LATENCY_BUCKETS),
  kongUpstream: new Histogram(UPSTREAM_LATENCY_BUCKETS),
  kongLatency: new Histogram(KONG_LATENCY_BUCKETS),
  ingress: 0,
  egress: 0,
});

const addCounts = (into: Map<number, number>, from: Iterable<[number, number]>): void => {
  for (const [k, n] of from) into.set(k, (into.get(k) ?? 0) + n);
};

/**
 * Per-route request counts, latencies and bytes, kept in plain arrays for
 * the proxy's hot path (a finished request costs a WeakMap lookup, two Map
 * updates and four bucket scans); turned into Prometheus samples at scrape.
 */
export class RequestMetrics implements RequestObserver {
  readonly #series = new Map<string, RouteSeries>();
  /** route entity (one per snapshot) → its series, checked against the service it was resolved with */
  readonly #byRoute = new WeakMap<Route, { service: Service | null; series: RouteSeries }>();
  #unmatched: RouteSeries | undefined;

  /** One finished request (the proxy's record). */
  finished(rec: RequestRecord): void {
    const s = this.#seriesOf(rec.route, rec.service);
    const status = rec.status;
    s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
    s.duration.observe(rec.totalMs / 1000);
    if (!s.matched) return;
    const code = status * 2 + (rec.answered ? 0 : 1);
    s.codes.set(code, (s.codes.get(code) ?? 0) + 1);
    s.kongRequest.observe(rec.totalMs);
    if (rec.upstreamMs >= 0) s.kongUpstream.observe(rec.upstreamMs);
    if (rec.gatewayMs >= 0) s.kongLatency.observe(rec.gatewayMs);
    s.ingress += rec.bytesIn;
    s.egress += rec.bytesOut;
  }

  #seriesOf(route: Route | null, service: Service | null): RouteSeries {
    if (route === null) return (this.#unmatched ??= this.#get('', newSeries('', '', false, '')));
    const cached = this.#byRoute.get(route);
    if (cached !== undefined && cached.service === service) return cached.series;
    const gwService = service ? (service.name ?? service.id) : '';
    const kongService = service ? (service.name ?? service.host) : '';
    const routeLabel = route.name ?? route.id;
    const key = `${route.id}\0${service?.id ?? ''}\0${gwService}\0${kongService}\0${routeLabel}`;
    const series = this.#get(key, newSeries(gwService, routeLabel, true, kongService));
    this.#byRoute.set(route, { service, series });
    return series;
  }

  #get(key: string, fresh: RouteSeries): RouteSeries {
    const s = this.#series.get(key);
    if (s) return s;
    this.#series.set(key, fresh);
    return fresh;
  }

  series(): Iterable<RouteSeries> {
    return this.#series.values();
  }

  /** Plain data for another process (`--workers`). */
  export(): ExportedSeries[] {
    return [...this.#series].map(([key, s]) => ({
      key,
      service: s.service,
      route: s.route,
      matched: s.matched,
      kongService: s.kongService,
      statuses: [...s.statuses],
      codes: [...s.codes],
      duration: s.duration.export(),
      kongRequest: s.kongRequest.export(),
      kongUpstream: s.kongUpstream.export(),
      kongLatency: s.kongLatency.export(),
      ingress: s.ingress,
      egress: s.egress,
    }));
  }

  /** Add another process's series to these. */
  merge(series: readonly ExportedSeries[]): void {
    for (const e of series) {
      const s = this.#get(e.key, newSeries(e.service, e.route, e.matched, e.kongService));
      addCounts(s.statuses, e.statuses);
      addCounts(s.codes, e.codes);
      s.duration.merge(e.duration);
      s.kongRequest.merge(e.kongRequest);
      s.kongUpstream.merge(e.kongUpstream);
      s.kongLatency.merge(e.kongLatency);
      s.ingress += e.ingress;
      s.egress += e.egress;
    }
  }
}

export interface ExportedSeries {
  key: string;
  service: string;
  route: string;
  matched: boolean;
  kongService: string;
  statuses: [number, number][];
  codes: [number, number][];
  duration: ExportedHistogram;
  kongRequest: ExportedHistogram;
  kongUpstream: ExportedHistogram;
  kongLatency: ExportedHistogram;
  ingress: number;
  egress: number;
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
  /** cluster mode: change-log rows that did not parse (logged, skipped), and full reloads after falling behind the log */
  storeMalformedRows?: () => number;
  storeResyncs?: () => number;
  /** Cloud Map discovery's counts (discovery/cloudmap.ts), when it runs */
  cloudMap?: CloudMapStats | undefined;
  /**
   * Whether the store is usable (kong_datastore_reachable); the hook for
   * stores that can lose their backend. Default: always reachable.
   */
  datastoreReachable?: () => boolean;
  /** this node's id (kong_node_info) */
  nodeId?: string;
  /** uncaught exceptions and unhandled rejections the process survived (last-resort.ts), over the node's processes; default: this process's */
  internalErrors?: () => InternalErrors;
  /** the live dashboard (dashboard/hub.ts): streams open and its counters */
  dashboard?: () => { streams: number; workMs: number; dropped: number; bytes: number } | undefined;
}

type Labels = Record<string, string | number>;
interface Sample {
  value: number;
  labels?: Labels;
  metricName?: string;
}

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

/** Kong's target states, in its exporter's order: one series each, 1 for the current one. */
export const KONG_TARGET_STATES = ['healthchecks_off', 'healthy', 'unhealthy', 'dns_error'] as const;

/** The `_bucket` (cumulative), `_sum` and `_count` samples of one histogram. */
function histogramSamples(out: Sample[], name: string, labels: Labels, h: Histogram): void {
  let cum = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    cum += h.buckets[i]!;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: h.bounds[i]! }, value: cum });
  }
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  out.push({ metricName: `${name}_sum`, labels, value: h.sum });
  out.push({ metricName: `${name}_count`, labels, value: h.count });
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
    [...transitions.values()]
      .filter((t) => t.labels.kind === kind)
      .map((t) => {
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

  const kongHistogram = (name: string, help: string, of: (s: RouteSeries) => Histogram) =>
    computed(name, help, 'histogram', () => {
      const out: Sample[] = [];
      for (const s of src.requests.series())
        if (s.matched) histogramSamples(out, name, { service: s.kongService, route: s.route, workspace: KONG_WORKSPACE }, of(s));
      return out;
    });

  const metrics = [
    computed('gw_http_requests_total', 'Proxied requests by service, route and status', 'counter', () => {
      const out: Sample[] = [];
      for (const s of src.requests.series())
        for (const [status, n] of s.statuses) out.push({ value: n, labels: { service: s.service, route: s.route, status } });
      return out;
    }),
    computed('gw_http_request_duration_seconds', 'Time from request to the end of the response, by service and route', 'histogram', () => {
      const out: Sample[] = [];
      for (const s of src.requests.series())
        histogramSamples(out, 'gw_http_request_duration_seconds', { service: s.service, route: s.route }, s.duration);
      return out;
    }),
    computed(
      'gw_upstream_target_state',
      'Target state (warming, healthy, unhealthy, draining, ejected): 1 for the current one',
      'gauge',
      () =>
        perTarget((upstream, target, id, uid) => {
          const v = src.health.view(uid, id);
          return v ? [{ value: 1, labels: { upstream, target, state: v.state } }] : [];
        }),
    ),
    computed(
      'gw_upstream_target_circuit',
      'Circuit breaker state per target (closed, open, half-open): 1 for the current one',
      'gauge',
      () =>
        perTarget((upstream, target, id, uid) => {
          const t = src.health.target(uid, id);
          return t ? [{ value: 1, labels: { upstream, target, state: t.breaker.state.state } }] : [];
        }),
    ),
    computed('gw_upstream_target_active_requests', 'Requests in flight per target', 'gauge', () =>
      perTarget((upstream, target, id, uid) => [
        { value: src.activeRequests?.(uid, id) ?? src.health.inFlight(uid, id), labels: { upstream, target } },
      ]),
    ),
    computed('gw_upstream_all_unhealthy', '1 while every target of the upstream is unhealthy', 'gauge', () =>
      [...src.runtime.snapshot.upstreams.values()].map((e) => ({
        value: src.health.upstream(e.upstream.id)?.allUnhealthy ? 1 : 0,
        labels: { upstream: e.upstream.name },
      })),
    ),
    computed('gw_health_transitions_total', 'Target state changes', 'counter', () => ofKind('state')),
    computed('gw_circuit_transitions_total', 'Circuit breaker transitions by new state (open = an ejection)', 'counter', () =>
      ofKind('breaker'),
    ),
    computed('gw_ejections_capped_total', 'Passive ejections skipped because of max_ejection_percent', 'counter', () => ofKind('capped')),
    computed('gw_health_probes_total', 'Active probes by result', 'counter', () =>
      [...src.health.stats.probes].map(([result, value]) => ({ value, labels: { result } })),
    ),
    computed('gw_upstream_limit_rejections_total', 'Requests refused by upstream limits (503 + Retry-After)', 'counter', () => [
      { value: src.health.stats.shed },
    ]),
    computed('gw_hedged_requests_total', 'Extra tries sent by hedging', 'counter', () => [{ value: src.proxy.hedged }]),
    computed('gw_hedge_wins_total', 'Hedged tries that answered first', 'counter', () => [{ value: src.proxy.hedgeWins }]),
    computed('gw_target_registrations_total', 'Targets created', 'counter', () => [{ value: src.registrations() }]),
    computed('gw_lease_expiries_total', 'Targets removed because their lease expired', 'counter', () => [{ value: src.leaseExpiries() }]),
    computed(
      'gw_identity_guard_removals_total',
      'Stale targets another instance left at an address, removed when a new instance registered it',
      'counter',
      () => [{ value: src.identityGuardRemovals?.() ?? 0 }],
    ),
    computed(
      'gw_store_malformed_rows_total',
      'Rows of the shared change log (cluster mode) that did not parse: logged and skipped',
      'counter',
      () => [{ value: src.storeMalformedRows?.() ?? 0 }],
    ),
    computed(
      'gw_store_resyncs_total',
      'Full reloads from the database after this node fell behind the pruned change log (cluster mode)',
      'counter',
      () => [{ value: src.storeResyncs?.() ?? 0 }],
    ),
    computed(
      'gw_internal_errors_total',
      'Uncaught exceptions and unhandled promise rejections the gateway logged and survived (each one a gw bug worth a report)',
      'counter',
      () => {
        const e = src.internalErrors?.() ?? internalErrors;
        return [
          { value: e.uncaught, labels: { kind: 'uncaught_exception' } },
          { value: e.unhandled, labels: { kind: 'unhandled_rejection' } },
        ];
      },
    ),
    ...(src.cloudMap ? cloudMapMetrics(src.cloudMap) : []),
    computed('gw_dashboard_streams', 'Dashboard event streams open (/dashboard/events)', 'gauge', () => [
      { value: src.dashboard?.()?.streams ?? 0 },
    ]),
    computed(
      'gw_dashboard_work_seconds_total',
      "Time the dashboard spent sampling and computing its shared updates (all streams' cost but the writes)",
      'counter',
      () => [{ value: (src.dashboard?.()?.workMs ?? 0) / 1000 }],
    ),
    computed('gw_dashboard_sent_bytes_total', 'Bytes written to dashboard streams', 'counter', () => [
      { value: src.dashboard?.()?.bytes ?? 0 },
    ]),
    computed('gw_dashboard_dropped_streams_total', 'Dashboard streams disconnected because their client did not keep up', 'counter', () => [
      { value: src.dashboard?.()?.dropped ?? 0 },
    ]),
    // ---- Kong's prometheus plugin (kong/plugins/prometheus/exporter.lua): names, labels and buckets ----
    computed('kong_http_requests_total', 'HTTP status codes per consumer/service/route in Kong', 'counter', () => {
      const out: Sample[] = [];
      for (const s of src.requests.series()) {
        if (!s.matched) continue;
        for (const [code, n] of s.codes)
          out.push({
            value: n,
            labels: {
              service: s.kongService,
              route: s.route,
              code: code >> 1,
              source: code & 1 ? 'kong' : 'service',
              workspace: KONG_WORKSPACE,
              consumer: '',
            },
          });
      }
      return out;
    }),
    kongHistogram('kong_request_latency_ms', 'Total latency incurred during requests for each service/route in Kong', (s) => s.kongRequest),
    kongHistogram('kong_upstream_latency_ms', 'Latency added by upstream response for each service/route in Kong', (s) => s.kongUpstream),
    kongHistogram('kong_kong_latency_ms', 'Latency added by Kong and enabled plugins for each service/route in Kong', (s) => s.kongLatency),
    computed('kong_bandwidth_bytes', 'Total bandwidth (ingress/egress) throughput in bytes', 'counter', () => {
      const out: Sample[] = [];
      for (const s of src.requests.series()) {
        if (!s.matched) continue;
        const labels = (direction: string) => ({
          service: s.kongService,
          route: s.route,
          direction,
          workspace: KONG_WORKSPACE,
          consumer: '',
        });
        if (s.ingress > 0) out.push({ value: s.ingress, labels: labels('ingress') });
        if (s.egress > 0) out.push({ value: s.egress, labels: labels('egress') });
      }
      return out;
    }),
    computed(
      'kong_upstream_target_health',
      'Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.',
      'gauge',
      () => {
        const out: Sample[] = [];
        const series = (upstream: string, target: string, address: string, state: string): void => {
          for (const s of KONG_TARGET_STATES)
            out.push({ value: s === state ? 1 : 0, labels: { upstream, target, address, state: s, subsystem: 'http' } });
        };
        for (const e of src.runtime.snapshot.upstreams.values()) {
          // one series set per address: a hostname target's are labelled with its host:port and each resolved ip:port
          for (const t of e.balancer.targets)
            // the Admin API's word for the target (GET /upstreams/{u}/health), lower-cased as Kong's exporter does
            series(
              e.upstream.name,
              src.runtime.targetOf(t),
              t.address,
              src.health.view(e.upstream.id, t.id)?.health.toLowerCase() ?? 'healthchecks_off',
            );
          // a name that resolves to nothing: Kong's dns_error
          for (const t of src.runtime.unresolvedTargets(e.upstream.id)) series(e.upstream.name, t.target, t.target, 'dns_error');
        }
        return out;
      },
    ),
    computed('kong_datastore_reachable', 'Datastore reachable from Kong, 0 is unreachable', 'gauge', () => [
      { value: (src.datastoreReachable?.() ?? true) ? 1 : 0 },
    ]),
    computed('kong_node_info', 'Kong Node metadata information', 'gauge', () => [
      { value: 1, labels: { node_id: src.nodeId ?? '', version: GW_VERSION } },
    ]),
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

/** gw_cloudmap_*: API calls and errors by operation, polls, whether this node polls and its current backoff. */
function cloudMapMetrics(cm: CloudMapStats) {
  return [
    computed('gw_cloudmap_api_calls_total', 'AWS Cloud Map API calls by operation', 'counter', () =>
      [...cm.calls].map(([operation, value]) => ({ value, labels: { operation } })),
    ),
    computed(
      'gw_cloudmap_api_errors_total',
      'AWS Cloud Map API calls that failed, by operation and error (throttled, server, timeout or the AWS error name)',
      'counter',
      () =>
        [...cm.errors].map(([key, value]) => {
          const [operation, error] = key.split('\0');
          return { value, labels: { operation: operation ?? '', error: error ?? '' } };
        }),
    ),
    computed('gw_cloudmap_polls_total', 'Cloud Map polls by result (failed: the last good view was kept)', 'counter', () => [
      { value: cm.polls - cm.failedPolls, labels: { result: 'ok' } },
      { value: cm.failedPolls, labels: { result: 'failed' } },
    ]),
    computed('gw_cloudmap_polling', '1 when this node polls Cloud Map (cluster mode: one node does)', 'gauge', () => [
      { value: cm.polling ? 1 : 0 },
    ]),
    computed('gw_cloudmap_backoff_seconds', 'Delay before the next Cloud Map poll beyond the interval (0 when healthy)', 'gauge', () => [
      { value: cm.failures > 0 ? cm.nextDelayMs / 1000 : 0 },
    ]),
  ];
}
