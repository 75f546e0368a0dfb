/**
 * What the agent reads from the Admin API, over the SDK's client: the
 * upstream of a service, the targets of an upstream with their runtime
 * state, and errors turned into one-line AgentErrors naming the flag.
 */
import { AdminApiError, enc, KongAdmin } from '../../sdk/src/kong-admin.js';
import { isGwSdkError } from '../../sdk/src/errors.js';
import { detectGateway, type GatewayKind, type TargetHealth } from '../../sdk/src/drain.js';
import { TAG, tagValue } from '../../contract/src/tags.js';
import { AgentError, UsageError } from './errors.js';

export interface AdminFlags {
  adminUrl?: string | undefined;
  adminToken?: string | undefined;
}

/** The SDK's Admin API client for `--admin-url` (required here). */
export function adminClient(o: AdminFlags): KongAdmin {
  if (!o.adminUrl) throw new UsageError('--admin-url: required (or set GW_ADMIN_URL)');
  return new KongAdmin(o.adminUrl, o.adminToken);
}

/** Run an Admin API step; network and HTTP errors become one-line AgentErrors. */
export async function step<T>(admin: KongAdmin, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asAgentError(admin, what, err);
  }
}

export function asAgentError(admin: KongAdmin, what: string, err: unknown): AgentError {
  if (err instanceof AgentError) return err;
  if (err instanceof AdminApiError) {
    // 401/403 are about the token, whatever the request: say so in one line, with the gateway's own words
    const said = err.gatewayMessage;
    if (err.status === 401) {
      const status = said ? `401: ${said}` : '401';
      return new AgentError(
        'gateway',
        admin.token
          ? `the gateway refused the admin token (${status}) at ${admin.url}; check --admin-token / GW_ADMIN_TOKEN`
          : `the gateway at ${admin.url} needs an admin token (${status}); give --admin-token or set GW_ADMIN_TOKEN`,
      );
    }
    if (err.status === 403)
      return new AgentError(
        'gateway',
        `the gateway at ${admin.url} does not allow this token to ${what} (403)${said ? `: ${said}` : ''}; a registration token covers one service only (check --admin-token / GW_ADMIN_TOKEN)`,
      );
    // the SDK's message already starts with the request
    return new AgentError('gateway', err.message.startsWith(`${what}:`) ? err.message : `${what}: ${err.message}`);
  }
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.code ?? e.cause?.code;
  return new AgentError('gateway', `${what}: cannot reach the Admin API at ${admin.url} (--admin-url): ${code ?? e.message}`);
}

/**
 * Why the SDK's register() failed, as the one line `register` and `run`
 * print: a refused token (401/403) the way every command says it, another
 * refusal (400…) with the request, status and the gateway's message, or how
 * long it retried (`--timeout`).
 */
export function registrationFailure(o: AdminFlags, service: string, err: unknown): AgentError {
  const message = (err instanceof Error ? err.message : String(err)).replace(/^gw register\(\): /, '');
  if (!isGwSdkError(err)) return new AgentError('failed', message);
  const cause = err.cause;
  if (err.code === 'GW_ERR_SDK_REGISTRATION_REFUSED' && cause instanceof AdminApiError && (cause.status === 401 || cause.status === 403)) {
    const token = asAgentError(new KongAdmin(o.adminUrl ?? '', o.adminToken), cause.requestLine, cause);
    return new AgentError('gateway', `could not register ${service}: ${token.message}`);
  }
  return new AgentError(err.code === 'GW_ERR_SDK_REGISTRATION_TIMEOUT' ? 'timeout' : 'gateway', message);
}

export async function gatewayKind(admin: KongAdmin): Promise<GatewayKind> {
  return step(admin, 'GET /', () => detectGateway(admin));
}

/** The upstream a service points at (`service.host`), checked to exist. */
export async function upstreamOfService(admin: KongAdmin, service: string): Promise<string> {
  const s = await step(admin, `GET /services/${service}`, () => admin.call<{ host?: string }>('GET', `/services/${enc(service)}`));
  if (s.status === 404) throw new AgentError('failed', `--service ${service}: no such service on ${admin.url}`);
  if (s.status !== 200 || !s.body.host)
    throw asAgentError(admin, `GET /services/${service}`, new AdminApiError(s.status, s.body, `GET /services/${service}`));
  await requireUpstream(admin, s.body.host, `--service ${service} points at host ${s.body.host}, which is not an upstream`);
  return s.body.host;
}

export async function requireUpstream(
  admin: KongAdmin,
  upstream: string,
  notFound = `--upstream ${upstream}: no such upstream`,
): Promise<void> {
  if (!(await upstreamExists(admin, upstream))) throw new AgentError('failed', `${notFound} on ${admin.url}`);
}

/** Every target of an upstream with Kong's health and, on gw, the `gw` runtime view (follows `next`). */
export async function targetsWithHealth(admin: KongAdmin, upstream: string): Promise<TargetHealth[]> {
  const out: TargetHealth[] = [];
  let path: string | null = `/upstreams/${enc(upstream)}/health?size=1000`;
  while (path) {
    const page: { status: number; body: { data?: TargetHealth[]; next?: string | null } } = await step(
      admin,
      `GET /upstreams/${upstream}/health`,
      () => admin.expect<{ data?: TargetHealth[]; next?: string | null }>([200], 'GET', path!),
    );
    out.push(...(page.body.data ?? []));
    path = page.body.next ?? null;
  }
  return out;
}

/** The deployment a target was registered with (its `gw-deployment:` tag, decoded). */
export function deploymentOf(tags: string[] | null | undefined): string | undefined {
  return tagValue(tags, TAG.deployment);
}

/** The instance that owns a target (its `gw-instance:` tag, decoded). */
export function instanceOf(tags: string[] | null | undefined): string | undefined {
  return tagValue(tags, TAG.instance);
}

/** Whether an upstream exists. */
export async function upstreamExists(admin: KongAdmin, upstream: string): Promise<boolean> {
  const u = await step(admin, `GET /upstreams/${upstream}`, () => admin.call('GET', `/upstreams/${enc(upstream)}`));
  if (u.status === 404) return false;
  if (u.status !== 200)
    throw asAgentError(admin, `GET /upstreams/${upstream}`, new AdminApiError(u.status, u.body, `GET /upstreams/${upstream}`));
  return true;
}

/** Kong's words for a target that should get no traffic, plus gw's runtime states. */
export function isUnhealthy(h: TargetHealth): boolean {
  return h.health === 'UNHEALTHY' || h.health === 'DNS_ERROR' || h.gw?.state === 'unhealthy' || h.gw?.state === 'ejected';
}
