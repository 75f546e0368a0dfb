/**
 * A local AWS Cloud Map (Route 53 Auto Naming) speaking its real wire
 * protocol, AWS JSON 1.1: `POST /` with `X-Amz-Target:
 * Route53AutoNaming_v20170314.<Operation>` and a JSON body; answers JSON,
 * errors as status 400 `{"__type":"ServiceNotFound","Message":"..."}`.
 * Instances live in memory. Point the real ServiceDiscoveryClient at it
 * with an endpoint override and static fake credentials.
 *
 * Operations: RegisterInstance, DeregisterInstance, GetInstance,
 * ListInstances, UpdateInstanceCustomHealthStatus, GetInstancesHealthStatus.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

const TARGET_PREFIX = 'Route53AutoNaming_v20170314.';

export interface FakeInstance {
  id: string;
  attributes: Record<string, string>;
  creatorRequestId: string | undefined;
  /** custom health status (services with custom health only) */
  health: 'HEALTHY' | 'UNHEALTHY' | undefined;
}

export interface FakeService {
  /** the service has HealthCheckCustomConfig: UpdateInstanceCustomHealthStatus works */
  customHealth: boolean;
  instances: Map<string, FakeInstance>;
}

export interface CloudMapCall {
  operation: string;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
}

export interface CloudMapServer {
  /** `http://127.0.0.1:<port>`, for the client's `endpoint` */
  readonly endpoint: string;
  readonly services: Map<string, FakeService>;
  /** every request, in order */
  readonly calls: CloudMapCall[];
  /** add a service (id `srv-…` generated unless given) */
  addService(opts?: { id?: string; customHealth?: boolean }): string;
  instance(serviceId: string, instanceId: string): FakeInstance | undefined;
  /** the operations called so far, in order (e.g. to assert UNHEALTHY before DeregisterInstance) */
  operations(): string[];
  close(): Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const INSTANCE_ID = /^[0-9a-zA-Z_/:.@-]+$/;
const RESERVED_PREFIX = 'AWS_';
const AWS_ATTRS = new Set([
  'AWS_ALIAS_DNS_NAME',
  'AWS_EC2_INSTANCE_ID',
  'AWS_INIT_HEALTH_STATUS',
  'AWS_INSTANCE_CNAME',
  'AWS_INSTANCE_IPV4',
  'AWS_INSTANCE_IPV6',
  'AWS_INSTANCE_PORT',
]);

export async function startCloudMapServer(): Promise<CloudMapServer> {
  const services = new Map<string, FakeService>();
  const calls: CloudMapCall[] = [];
  const operationId = (): string => randomBytes(16).toString('hex');

  const service = (body: Record<string, unknown>): FakeService => {
    const id = body.ServiceId;
    if (typeof id !== 'string' || id.length === 0 || id.length > 64) throw new ApiError('InvalidInput', 'ServiceId: 1 to 64 characters');
    const s = services.get(id);
    if (!s) throw new ApiError('ServiceNotFound', `Service not found: ${id}`);
    return s;
  };
  const instanceIdOf = (body: Record<string, unknown>): string => {
    const id = body.InstanceId;
    if (typeof id !== 'string' || id.length === 0 || id.length > 64 || !INSTANCE_ID.test(id))
      throw new ApiError('InvalidInput', `InstanceId must be 1 to 64 characters of [0-9a-zA-Z_/:.@-], got ${JSON.stringify(id)}`);
    return id;
  };
  const instance = (s: FakeService, body: Record<string, unknown>): FakeInstance => {
    const id = instanceIdOf(body);
    const i = s.instances.get(id);
    if (!i) throw new ApiError('InstanceNotFound', `Instance not found: ${id}`);
    return i;
  };

  const ops: Record<string, (body: Record<string, unknown>) => Record<string, unknown>> = {
    RegisterInstance(body) {
      const s = service(body);
      const id = instanceIdOf(body);
      const attrs = body.Attributes;
      if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) throw new ApiError('InvalidInput', 'Attributes is required');
      const entries = Object.entries(attrs as Record<string, unknown>);
      if (entries.length > 30) throw new ApiError('InvalidInput', 'at most 30 attributes');
      for (const [k, v] of entries) {
        if (k.length > 255) throw new ApiError('InvalidInput', `attribute key over 255 characters: ${k.slice(0, 20)}…`);
        if (typeof v !== 'string' || v.length > 1024)
          throw new ApiError('InvalidInput', `attribute ${k}: a string of at most 1024 characters`);
        if (k.startsWith(RESERVED_PREFIX) && !AWS_ATTRS.has(k)) throw new ApiError('InvalidInput', `reserved attribute key ${k}`);
      }
      const a = attrs as Record<string, string>;
      if (a.AWS_INSTANCE_IPV4 !== undefined && !/^(\d{1,3}\.){3}\d{1,3}$/.test(a.AWS_INSTANCE_IPV4))
        throw new ApiError('InvalidInput', `AWS_INSTANCE_IPV4: not an IPv4 address: ${a.AWS_INSTANCE_IPV4}`);
      if (a.AWS_INSTANCE_PORT !== undefined && !/^\d{1,5}$/.test(a.AWS_INSTANCE_PORT))
        throw new ApiError('InvalidInput', `AWS_INSTANCE_PORT: not a port: ${a.AWS_INSTANCE_PORT}`);
      // like Cloud Map: registering an existing instance replaces it (and resets its custom health)
      const init = a.AWS_INIT_HEALTH_STATUS === 'UNHEALTHY' ? 'UNHEALTHY' : 'HEALTHY';
      s.instances.set(id, {
        id,
        attributes: { ...a },
        creatorRequestId: typeof body.CreatorRequestId === 'string' ? body.CreatorRequestId : undefined,
        health: s.customHealth ? init : undefined,
      });
      return { OperationId: operationId() };
    },
    DeregisterInstance(body) {
      const s = service(body);
      const i = instance(s, body);
      s.instances.delete(i.id);
      return { OperationId: operationId() };
    },
    GetInstance(body) {
      const i = instance(service(body), body);
      return { Instance: { Id: i.id, CreatorRequestId: i.creatorRequestId, Attributes: i.attributes } };
    },
    ListInstances(body) {
      const s = service(body);
      return { Instances: [...s.instances.values()].map((i) => ({ Id: i.id, Attributes: i.attributes })) };
    },
    UpdateInstanceCustomHealthStatus(body) {
      const s = service(body);
      const i = instance(s, body);
      if (!s.customHealth)
        throw new ApiError('CustomHealthNotFound', `The service ${String(body.ServiceId)} has no custom health check configuration`);
      if (body.Status !== 'HEALTHY' && body.Status !== 'UNHEALTHY') throw new ApiError('InvalidInput', 'Status: HEALTHY or UNHEALTHY');
      i.health = body.Status;
      return {};
    },
    GetInstancesHealthStatus(body) {
      const s = service(body);
      return { Status: Object.fromEntries([...s.instances.values()].map((i) => [i.id, i.health ?? 'UNKNOWN'])) };
    },
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: Record<string, unknown>): void => {
        const text = JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          'content-length': Buffer.byteLength(text),
          'x-amzn-requestid': operationId(),
        });
        res.end(text);
      };
      try {
        const target = String(req.headers['x-amz-target'] ?? '');
        if (req.method !== 'POST' || req.url !== '/' || !target.startsWith(TARGET_PREFIX))
          throw new ApiError('UnknownOperationException', `expected POST / with X-Amz-Target ${TARGET_PREFIX}<Operation>`);
        if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 '))
          throw new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
        const operation = target.slice(TARGET_PREFIX.length);
        let body: Record<string, unknown>;
        try {
          body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
        } catch {
          throw new ApiError('SerializationException', 'body is not JSON');
        }
        calls.push({ operation, body, headers: req.headers });
        const op = ops[operation];
        if (!op) throw new ApiError('UnknownOperationException', `unsupported operation ${operation}`);
        reply(200, op(body));
      } catch (err) {
        if (err instanceof ApiError) reply(err.status, { __type: err.type, Message: err.message });
        else reply(500, { __type: 'InternalFailure', Message: (err as Error).message });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    services,
    calls,
    addService({ id, customHealth = false } = {}) {
      const sid = id ?? `srv-${randomBytes(8).toString('hex')}`;
      services.set(sid, { customHealth, instances: new Map() });
      return sid;
    },
    instance: (serviceId, instanceId) => services.get(serviceId)?.instances.get(instanceId),
    operations: () => calls.map((c) => c.operation),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
