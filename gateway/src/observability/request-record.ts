/**
 * The "request finished" seam, declared by its consumers (metrics, access
 * log): the proxy fills one {@link RequestRecord} per request while it runs
 * and hands it, once, to every {@link RequestObserver} when the response is
 * done. One record, so the metrics and the access log can never disagree.
 *
 * A class with every field set in the constructor: one hidden class for all
 * records (the proxy's hot path).
 */
import type { Route, Service } from '../entities/types.js';

/** Where the answer came from (Kong's `kong.response.get_source()`, two-valued as in its prometheus plugin). */
export type ResponseSource = 'service' | 'kong';

export class RequestRecord {
  /** the request id (`x-gw-request-id`, `x-kong-request-id`) */
  readonly id: string;
  /** `performance.now()` when the request head was read */
  readonly started: number;
  /** the socket's `bytesWritten` before this response (the connection serves one request at a time) */
  readonly bytesOutBefore: number;
  /** the final status (499: the client went away before an answer, nginx's word) */
  status = 0;
  /** request line + headers + body, as nginx's `request_length` */
  bytesIn = 0;
  /** response status line + headers + body, as nginx's `bytes_sent` */
  bytesOut = 0;
  /** the matched route, null when none matched */
  route: Route | null = null;
  service: Service | null = null;
  /** the upstream entity's name, when the service's host names one */
  upstream: string | null = null;
  /** `host:port` of every try, in order (hedged tries included) */
  targets: string[] | null = null;
  /** an upstream's response headers were relayed (Kong's source "service") */
  answered = false;
  /** ms from the winning try's send to its response headers (Kong's `latencies.proxy`); -1 = no upstream answered */
  upstreamMs = -1;
  /** ms the gateway spent before the winning try was sent, or until it answered itself (Kong's `latencies.kong`) */
  gatewayMs = -1;
  /** ms from the request head to the end of the response (Kong's `latencies.request`) */
  totalMs = 0;
  /** the GW_ERR_PROXY_* code when the gateway answered itself with an error */
  error: string | undefined = undefined;

  constructor(id: string, started: number, bytesOutBefore: number) {
    this.id = id;
    this.started = started;
    this.bytesOutBefore = bytesOutBefore;
  }

  get source(): ResponseSource {
    return this.answered ? 'service' : 'kong';
  }

  /** One try sent to `address` (`host:port`). */
  addTarget(address: string): void {
    if (this.targets === null) this.targets = [address];
    else this.targets.push(address);
  }
}

/** Told of every finished request, once (metrics, the access log). Must not throw or block. */
export interface RequestObserver {
  finished(rec: RequestRecord, req: RecordedRequest): void;
}

/** What an observer may read of the client's request besides the record. */
export interface RecordedRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly socket: { readonly remoteAddress?: string | undefined };
}
