/**
 * A local AWS Cloud Map (Route 53 Auto Naming) speaking its real wire
 * protocol, AWS JSON 1.1: `POST /` with `X-Amz-Target:
 * Route53AutoNaming_v20170314.<Operation>` and a JSON body; answers JSON,
 * errors as status 400 `{"__type":"ServiceNotFound","Message":"..."}`.
 * Instances live in memory. Point the real ServiceDiscoveryClient at it
 * with an endpoint override and static fake credentials.
 *
 * Operations: RegisterInstance, DeregisterInstance, GetInstance,
 * ListInstances, UpdateInstanceCustomHealthStatus, GetInstancesHealthStatus,
 * and the discovery side the gateway's provider reads: DiscoverInstances,
 * DiscoverInstancesRevision (the data plane, by namespace and service name),
 * ListServices, ListNamespaces (with their filters and NextToken paging) and
 * GetNamespace. Every request must be SigV4-signed for the
 * `servicediscovery` service (403 otherwise).
 *
 * Faults (`fault()`): throttling (400 ThrottlingException or
 * RequestLimitExceeded), 500 InternalFailure, or slow answers, for every
 * operation or only some.
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
  id: string;
  name: string;
  namespaceId: string;
  /** the service has HealthCheckCustomConfig: UpdateInstanceCustomHealthStatus works */
  customHealth: boolean;
  instances: Map<string, FakeInstance>;
  /** InstancesRevision: bumped by every change to the service's instances or their health */
  revision: number;
}

export interface FakeNamespace {
  id: string;
  name: string;
  type: 'HTTP' | 'DNS_PRIVATE' | 'DNS_PUBLIC';
}

/** What the server does instead of answering (`fault()`); `operations` limits it to some operations. */
export type CloudMapFault = ({ kind: 'throttle' } | { kind: 'limit' } | { kind: 'error500' } | { kind: 'slow'; delayMs: number }) & {
  operations?: readonly string[];
};

export interface CloudMapCall {
  operation: string;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
}

export interface CloudMapServer {
  /** `http://127.0.0.1:<port>`, for the client's `endpoint` */
  readonly endpoint: string;
  readonly services: Map<string, FakeService>;
  readonly namespaces: Map<string, FakeNamespace>;
  /** every request, in order */
  readonly calls: CloudMapCall[];
  /** add a namespace (id `ns-…` generated unless given); returns its id */
  addNamespace(name: string, opts?: { id?: string; type?: FakeNamespace['type'] }): string;
  /**
   * Add a service (id `srv-…` generated unless given; name defaults to the
   * id) in the namespace named `namespace` (created if missing; default
   * `default.local`).
   */
  addService(opts?: { id?: string; name?: string; namespace?: string; customHealth?: boolean }): string;
  /** Remove a service and its instances (DeleteService, from the console). */
  removeService(serviceId: string): void;
  /**
   * Put an instance as another registrar would (ECS service discovery
   * registers every task with only AWS_INSTANCE_* attributes); bumps the
   * service's revision.
   */
  putInstance(serviceId: string, instanceId: string, attributes: Record<string, string>, health?: 'HEALTHY' | 'UNHEALTHY'): void;
  /** Set an instance's health as a Route 53 or custom check would; bumps the revision. */
  setHealth(serviceId: string, instanceId: string, health: 'HEALTHY' | 'UNHEALTHY'): void;
  instance(serviceId: string, instanceId: string): FakeInstance | undefined;
  /** Inject a fault (undefined: answer normally again). */
  fault(f: CloudMapFault | undefined): void;
  /** how many calls of `operation` were received (faulted ones included) */
  count(operation: string): number;
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
  const namespaces = new Map<string, FakeNamespace>();
  const calls: CloudMapCall[] = [];
  let currentFault: CloudMapFault | undefined;
  const operationId = (): string => randomBytes(16).toString('hex');
  const addNamespace = (name: string, opts: { id?: string; type?: FakeNamespace['type'] } = {}): string => {
    const existing = [...namespaces.values()].find((n) => n.name === name);
    if (existing) return existing.id;
    const id = opts.id ?? `ns-${randomBytes(8).toString('hex')}`;
    namespaces.set(id, { id, name, type: opts.type ?? 'HTTP' });
    return id;
  };
  /** the service a data-plane call names (NamespaceName + ServiceName) */
  const byName = (body: Record<string, unknown>): FakeService => {
    const ns = body.NamespaceName;
    const name = body.ServiceName;
    if (typeof ns !== 'string' || ns.length === 0) throw new ApiError('InvalidInput', 'NamespaceName is required');
    if (typeof name !== 'string' || name.length === 0) throw new ApiError('InvalidInput', 'ServiceName is required');
    const n = [...namespaces.values()].find((x) => x.name === ns);
    if (!n) throw new ApiError('NamespaceNotFound', `Namespace not found: ${ns}`);
    const s = [...services.values()].find((x) => x.namespaceId === n.id && x.name === name);
    if (!s) throw new ApiError('ServiceNotFound', `Service not found: ${name} in ${ns}`);
    return s;
  };
  const healthOf = (s: FakeService, i: FakeInstance): 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN' =>
    s.customHealth ? (i.health ?? 'HEALTHY') : (i.health ?? 'UNKNOWN');
  /** one page of `items` after NextToken (an index here) */
  const page = <T>(items: T[], body: Record<string, unknown>): { items: T[]; next: string | undefined } => {
    const max = typeof body.MaxResults === 'number' ? body.MaxResults : 100;
    if (!Number.isInteger(max) || max < 1 || max > 100) throw new ApiError('InvalidInput', 'MaxResults: 1 to 100');
    const start = typeof body.NextToken === 'string' ? Number(body.NextToken) : 0;
    if (!Number.isInteger(start) || start < 0) throw new ApiError('InvalidInput', 'NextToken is not valid');
    const next = start + max < items.length ? String(start + max) : undefined;
    return { items: items.slice(start, start + max), next };
  };
  const filterValues = (body: Record<string, unknown>, name: string): string[] | undefined => {
    const filters = body.Filters;
    if (filters === undefined) return undefined;
    if (!Array.isArray(filters)) throw new ApiError('InvalidInput', 'Filters must be a list');
    const f = (filters as { Name?: unknown; Values?: unknown; Condition?: unknown }[]).find((x) => x.Name === name);
    if (!f) return undefined;
    if (!Array.isArray(f.Values) || f.Values.length === 0) throw new ApiError('InvalidInput', `Filter ${name}: Values is required`);
    if (f.Condition !== undefined && f.Condition !== 'EQ' && f.Condition !== 'IN')
      throw new ApiError('InvalidInput', `Filter ${name}: Condition EQ or IN`);
    return f.Values as string[];
  };

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
      s.revision++;
      return { OperationId: operationId() };
    },
    DeregisterInstance(body) {
      const s = service(body);
      const i = instance(s, body);
      s.instances.delete(i.id);
      s.revision++;
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
      if (i.health !== body.Status) s.revision++;
      i.health = body.Status;
      return {};
    },
    GetInstancesHealthStatus(body) {
      const s = service(body);
      return { Status: Object.fromEntries([...s.instances.values()].map((i) => [i.id, i.health ?? 'UNKNOWN'])) };
    },
    DiscoverInstances(body) {
      const s = byName(body);
      const max = body.MaxResults ?? 100;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 1000)
        throw new ApiError('InvalidInput', 'MaxResults: 1 to 1000');
      const wanted = body.HealthStatus ?? 'HEALTHY';
      if (typeof wanted !== 'string' || !['HEALTHY', 'UNHEALTHY', 'ALL', 'HEALTHY_OR_ELSE_ALL'].includes(wanted))
        throw new ApiError('InvalidInput', 'HealthStatus: HEALTHY, UNHEALTHY, ALL or HEALTHY_OR_ELSE_ALL');
      const all = [...s.instances.values()];
      const healthy = all.filter((i) => healthOf(s, i) !== 'UNHEALTHY');
      const chosen =
        wanted === 'ALL'
          ? all
          : wanted === 'UNHEALTHY'
            ? all.filter((i) => healthOf(s, i) === 'UNHEALTHY')
            : wanted === 'HEALTHY_OR_ELSE_ALL' && healthy.length === 0
              ? all
              : healthy;
      const ns = namespaces.get(s.namespaceId)!;
      return {
        Instances: chosen.slice(0, max).map((i) => ({
          InstanceId: i.id,
          NamespaceName: ns.name,
          ServiceName: s.name,
          HealthStatus: healthOf(s, i),
          Attributes: i.attributes,
        })),
        InstancesRevision: s.revision,
      };
    },
    DiscoverInstancesRevision(body) {
      return { InstancesRevision: byName(body).revision };
    },
    ListServices(body) {
      const nsIds = filterValues(body, 'NAMESPACE_ID');
      const list = [...services.values()].filter((s) => !nsIds || nsIds.includes(s.namespaceId));
      const { items, next } = page(list, body);
      return {
        Services: items.map((s) => ({
          Id: s.id,
          Arn: `arn:aws:servicediscovery:eu-west-1:123456789012:service/${s.id}`,
          Name: s.name,
          Type: 'HTTP',
          InstanceCount: s.instances.size,
          ...(s.customHealth ? { HealthCheckCustomConfig: {} } : {}),
        })),
        ...(next ? { NextToken: next } : {}),
      };
    },
    ListNamespaces(body) {
      const names = filterValues(body, 'NAME');
      const types = filterValues(body, 'TYPE');
      const list = [...namespaces.values()].filter((n) => (!names || names.includes(n.name)) && (!types || types.includes(n.type)));
      const { items, next } = page(list, body);
      return {
        Namespaces: items.map((n) => ({
          Id: n.id,
          Arn: `arn:aws:servicediscovery:eu-west-1:123456789012:namespace/${n.id}`,
          Name: n.name,
          Type: n.type,
          Properties: { HttpProperties: { HttpName: n.name } },
        })),
        ...(next ? { NextToken: next } : {}),
      };
    },
    GetNamespace(body) {
      const id = body.Id;
      if (typeof id !== 'string' || id.length === 0) throw new ApiError('InvalidInput', 'Id is required');
      const n = namespaces.get(id);
      if (!n) throw new ApiError('NamespaceNotFound', `Namespace not found: ${id}`);
      return { Namespace: { Id: n.id, Name: n.name, Type: n.type, Properties: { HttpProperties: { HttpName: n.name } } } };
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
        const auth = String(req.headers.authorization ?? '');
        if (!auth.startsWith('AWS4-HMAC-SHA256 '))
          throw new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
        // SigV4 for this service: Credential=KEY/DATE/REGION/servicediscovery/aws4_request, the signed headers, a signature
        if (
          !/Credential=[^/,]+\/\d{8}\/[a-z0-9-]+\/servicediscovery\/aws4_request/.test(auth) ||
          !/SignedHeaders=[^,]*x-amz-target/.test(auth) ||
          !/Signature=[0-9a-f]{64}$/.test(auth) ||
          req.headers['x-amz-date'] === undefined
        )
          throw new ApiError('InvalidSignatureException', 'The request signature is not a SigV4 signature for servicediscovery', 403);
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
        const f = currentFault;
        if (f && (!f.operations || f.operations.includes(operation))) {
          if (f.kind === 'throttle') throw new ApiError('ThrottlingException', 'Rate exceeded');
          if (f.kind === 'limit')
            throw new ApiError(
              'RequestLimitExceeded',
              "The operation can't be completed because you've reached the quota for the number of requests",
            );
          if (f.kind === 'error500') throw new ApiError('InternalFailure', 'An internal error occurred', 500);
          const answer = op(body);
          setTimeout(() => {
            if (!res.destroyed) reply(200, answer);
          }, f.delayMs).unref();
          return;
        }
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
    namespaces,
    calls,
    addNamespace,
    addService({ id, name, namespace = 'default.local', customHealth = false } = {}) {
      const sid = id ?? `srv-${randomBytes(8).toString('hex')}`;
      services.set(sid, {
        id: sid,
        name: name ?? sid,
        namespaceId: addNamespace(namespace),
        customHealth,
        instances: new Map(),
        revision: 1,
      });
      return sid;
    },
    removeService(serviceId) {
      services.delete(serviceId);
    },
    putInstance(serviceId, instanceId, attributes, health) {
      const s = services.get(serviceId);
      if (!s) throw new Error(`no service ${serviceId}`);
      s.instances.set(instanceId, { id: instanceId, attributes: { ...attributes }, creatorRequestId: undefined, health });
      s.revision++;
    },
    setHealth(serviceId, instanceId, health) {
      const i = services.get(serviceId)?.instances.get(instanceId);
      if (!i) throw new Error(`no instance ${instanceId} in ${serviceId}`);
      i.health = health;
      services.get(serviceId)!.revision++;
    },
    instance: (serviceId, instanceId) => services.get(serviceId)?.instances.get(instanceId),
    fault(f) {
      currentFault = f;
    },
    count: (operation) => calls.filter((c) => c.operation === operation).length,
    operations: () => calls.map((c) => c.operation),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
