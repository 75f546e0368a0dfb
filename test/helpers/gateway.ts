/**
 * A real gateway on 127.0.0.1 random ports with silent logs, and a tiny
 * Admin API client for tests.
 */
import { startGateway, type Gateway, type GatewayOptions } from '../../gateway/src/gateway.js';

/**
 * The DNS server test gateways ask unless a test gives its own
 * (`dnsResolver`): a closed loopback port, so a made-up hostname target
 * (`konghq.test`) fails at once (DNS_ERROR) and no test's lookup ever
 * reaches the system resolver.
 */
export const NO_DNS = ['127.0.0.1:9'] as const;

export async function startTestGateway(opts: GatewayOptions = {}): Promise<Gateway & { admin: AdminClient }> {
  const gw = await startGateway({ store: 'memory', dnsResolver: NO_DNS, ...opts });
  return Object.assign(gw, { admin: new AdminClient(gw.adminUrl, opts.adminToken) });
}

export interface AdminResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export class AdminClient {
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<AdminResponse<T>> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(this.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  }
}
