/**
 * One active probe per kong-semantics §5, the way Kong's
 * lua-resty-healthcheck runs it (`run_single_check`): a new TCP connection
 * (TLS for https), then `GET <http_path> HTTP/1.0` with `Host` = the
 * upstream's host_header or the target name and the configured headers;
 * only the status line is read (`^HTTP/\d+\.\d+\s+(\d+)`), then the
 * connection is closed. All of it is bounded by `timeout` seconds.
 * `tcp`, `grpc` and `grpcs` probes are connect-only.
 *
 * Outcomes: the connection refused or cut before a whole status line (or a
 * TLS handshake failure) is a `tcp_failure`, the timeout a `timeout`; a
 * status in `healthy.http_statuses` a `success`, one in
 * `unhealthy.http_statuses` or a line that is no status line (Kong reports
 * status 0) an `http_failure`; any other status is ignored (null).
 *
 * A raw socket rather than node:http: with 10,000 targets at a 5 s
 * interval a gateway runs 2,000 probes a second, and a node:http
 * ClientRequest (agent, outgoing headers, HTTP parser, IncomingMessage)
 * per probe was most of their cost (docs/performance.md).
 */
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
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

/** A status line longer than this (no LF yet) is no status line. */
const MAX_STATUS_LINE = 8 * 1024;
const STATUS_LINE = /^HTTP\/\d+\.\d+\s+(\d+)/i;
/** A header value or name that could end the line it is on: never sent. */
const UNSAFE = /[\r\n\0]/;

/**
 * The TLS server name of an https probe: the upstream's `https_sni`, else
 * the target's host when it is a name; an IP address (v4 or v6, hex digits
 * included) gets none, as RFC 6066 forbids an address in SNI (exported for
 * tests).
 */
export function probeServername(httpsSni: string | null, host: string): string | undefined {
  return httpsSni ?? (isIP(host) === 0 ? host : undefined);
}

/** The request head of an HTTP probe (exported for tests). */
export function probeRequest(spec: ProbeSpec): string {
  const a = spec.active;
  const given = new Map<string, { name: string; values: string[] }>();
  for (const [name, values] of Object.entries(a.headers ?? {})) given.set(name.toLowerCase(), { name, values });
  let head = `GET ${a.http_path} HTTP/1.0\r\n`;
  // defaults first, unless configured (a configured Host or User-Agent wins, as before)
  if (!given.has('host')) head += `Host: ${spec.hostHeader ?? spec.address}\r\n`;
  if (!given.has('user-agent')) head += 'User-Agent: gw-healthcheck\r\n';
  given.delete('connection');
  for (const { name, values } of given.values()) {
    if (UNSAFE.test(name)) continue;
    for (const v of values) if (!UNSAFE.test(v)) head += `${name}: ${v}\r\n`;
  }
  return `${head}Connection: close\r\n\r\n`;
}

/** The outcome of a status line (without its LF). */
function classify(line: string, a: HealthcheckActive): OutcomeKind | null {
  const m = STATUS_LINE.exec(line);
  if (m === null) return 'http_failure';
  const status = Number(m[1]);
  return a.healthy.http_statuses.includes(status) ? 'success' : a.unhealthy.http_statuses.includes(status) ? 'http_failure' : null;
}

export const probeTarget: Probe = (spec) => {
  const a = spec.active;
  const timeoutMs = Math.max(1, a.timeout * 1000);
  return new Promise((resolve) => {
    let done = false;
    let sock: Socket | undefined;
    const finish = (k: OutcomeKind | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock?.destroy();
      resolve(k);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    const connectOnly = a.type === 'tcp' || a.type === 'grpc' || a.type === 'grpcs';
    const onConnected = (): void => {
      if (connectOnly) return finish('success');
      let line = '';
      sock!.setEncoding('latin1');
      sock!.on('data', (chunk: string) => {
        line += chunk;
        const lf = line.indexOf('\n');
        if (lf !== -1) finish(classify(line.slice(0, lf).replace(/\r$/, ''), a));
        else if (line.length > MAX_STATUS_LINE) finish('http_failure');
      });
      sock!.write(probeRequest(spec));
    };
    try {
      if (a.type === 'https') {
        sock = tlsConnect(
          {
            host: spec.host,
            port: spec.port,
            rejectUnauthorized: a.https_verify_certificate,
            servername: probeServername(a.https_sni, spec.host),
          },
          onConnected,
        );
      } else {
        sock = connect({ host: spec.host, port: spec.port }, onConnected);
      }
    } catch {
      return finish('tcp_failure');
    }
    sock.on('error', () => finish('tcp_failure'));
    // closed before a whole status line (Kong: receive() fails)
    sock.on('close', () => finish('tcp_failure'));
  });
};
