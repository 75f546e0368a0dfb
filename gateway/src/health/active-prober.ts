/**
 * One active probe per kong-semantics §5: TCP connect (TLS for https), then
 * `GET <http_path>` with `Host` = the upstream's host_header or the target
 * name and the configured headers, bounded by `timeout` seconds overall.
 * `tcp`, `grpc` and `grpcs` probes are connect-only.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { HealthcheckActive } from '../entities/types.js';
import type { OutcomeKind } from './counters.js';

export interface ProbeSpec {
  readonly host: string;
  readonly port: number;
  /** the target's `host:port` (default Host header) */
  readonly address: string;
  readonly hostHeader: string | null;
  readonly active: HealthcheckActive;
}

/** Classified result, or null for a status in neither list (Kong ignores it). */
export type Probe = (spec: ProbeSpec) => Promise<OutcomeKind | null>;

export const probeTarget: Probe = (spec) => {
  const a = spec.active;
  const timeoutMs = Math.max(1, a.timeout * 1000);
  return new Promise((resolve) => {
    let done = false;
    const finish = (k: OutcomeKind | null, destroy?: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      destroy?.();
      resolve(k);
    };
    const timer = setTimeout(() => finish('timeout', cancel), timeoutMs);
    let cancel: () => void = () => undefined;
    if (a.type === 'tcp' || a.type === 'grpc' || a.type === 'grpcs') {
      const s = connect({ host: spec.host, port: spec.port });
      cancel = () => s.destroy();
      s.once('connect', () => finish('success', cancel));
      s.once('error', () => finish('tcp_failure', cancel));
      return;
    }
    const headers: Record<string, string | string[]> = {
      host: spec.hostHeader ?? spec.address,
      'user-agent': 'gw-healthcheck',
      connection: 'close',
    };
    for (const [k, v] of Object.entries(a.headers ?? {})) headers[k.toLowerCase()] = v;
    const opts = { host: spec.host, port: spec.port, method: 'GET', path: a.http_path, headers, agent: false as const };
    const req =
      a.type === 'https'
        ? httpsRequest({
            ...opts,
            rejectUnauthorized: a.https_verify_certificate,
            servername: a.https_sni ?? (/^[\d.:]+$/.test(spec.host) ? undefined : spec.host),
          })
        : httpRequest(opts);
    cancel = () => req.destroy();
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      finish(
        a.healthy.http_statuses.includes(status) ? 'success' : a.unhealthy.http_statuses.includes(status) ? 'http_failure' : null,
        cancel,
      );
    });
    req.once('error', (err: NodeJS.ErrnoException) =>
      finish(err.code === 'HPE_INVALID_CONSTANT' || err.code?.startsWith('HPE_') ? 'http_failure' : 'tcp_failure', cancel),
    );
    req.end();
  });
};
