/**
 * A small Kong Admin API client (undici). Works against gw-gateway and Kong 3.x.
 */
import { request } from 'undici';

function messageOf(body: unknown): string | undefined {
  return typeof body === 'object' && body !== null && 'message' in body ? String((body as { message: unknown }).message) : undefined;
}

export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    /** the request that got this answer, e.g. `GET /services/users` */
    readonly requestLine: string,
  ) {
    super(`${requestLine}: gateway answered ${status}${messageOf(body) === undefined ? '' : ` (${messageOf(body)})`}`);
    this.name = 'AdminApiError';
  }
  /** 5xx, 429 and 408 are worth retrying; other 4xx (401, 403, 400 validation, 404…) are a mistake no retry fixes. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }

  /** The gateway's own words (`message` of its JSON error body), if any. */
  get gatewayMessage(): string | undefined {
    return messageOf(this.body);
  }
}

export class KongAdmin {
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  async call<T = Record<string, unknown>>(
    method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const r = await request(this.url.replace(/\/$/, '') + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await r.body.text();
    let parsed: unknown = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { message: text.slice(0, 200) };
    }
    return { status: r.statusCode, body: parsed as T };
  }

  /** Call and throw AdminApiError unless the status is one of `ok`. */
  async expect<T = Record<string, unknown>>(
    ok: number[],
    method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const r = await this.call<T>(method, path, body);
    if (!ok.includes(r.status)) throw new AdminApiError(r.status, r.body, `${method} ${path}`);
    return r;
  }
}

export const enc = encodeURIComponent;
