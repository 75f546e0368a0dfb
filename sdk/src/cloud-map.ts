/**
 * The Cloud Map registrar behind `register({ backend: 'cloudmap' })`: put
 * this instance in an AWS Cloud Map service (`RegisterInstance` with its
 * IPv4, port and gw attributes), keep it there (a periodic `GetInstance`
 * check that registers it again if it vanished; Cloud Map has no leases),
 * and take it out on shutdown (custom health UNHEALTHY when the service uses
 * custom health, wait `drainDelay`, `DeregisterInstance`).
 *
 * IAM: servicediscovery:RegisterInstance, DeregisterInstance,
 * UpdateInstanceCustomHealthStatus, GetInstance.
 */
import {
  DeregisterInstanceCommand,
  GetInstanceCommand,
  RegisterInstanceCommand,
  ServiceDiscoveryClient,
  UpdateInstanceCustomHealthStatusCommand,
  type CustomHealthStatus,
} from '@aws-sdk/client-servicediscovery';
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { Lifecycle } from './lifecycle.js';
import { pino, type Logger } from 'pino';
import { detectIdentity, type Identity } from './detect.js';
import type { DrainProgress, DrainResult } from './drain.js';
import { GwSdkError } from './errors.js';
import { CLOUD_MAP_ATTR_MAX, type ResolvedOptions } from './options.js';
import { CLOUD_MAP_ATTR } from '../../contract/src/registration.js';
import type { Registration, RegistrationState } from './register.js';

export { CLOUD_MAP_ATTR };

/** Cloud Map answers that a retry cannot fix: a configuration mistake. */
const FATAL = new Set([
  'ServiceNotFound',
  'NamespaceNotFound',
  'InvalidInput',
  'ResourceLimitExceeded',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'InvalidClientTokenId',
  'RequestExpired',
]);

const errName = (err: unknown): string => (err instanceof Error ? err.name : '');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Cloud Map's InstanceId for an instance id: at most 64 characters of
 * `0-9 a-z A-Z _ / : . @ -`. An ECS task ARN becomes its task id (what ECS's
 * own Cloud Map integration uses); anything else too long keeps its first 47
 * characters plus a hash of the whole.
 */
export function cloudMapInstanceId(instanceId: string): string {
  const task = /^arn:aws[\w-]*:ecs:[^:]*:\d*:task\/(?:[^/]+\/)?([^/]+)$/.exec(instanceId);
  const id = (task ? task[1]! : instanceId).replace(/[^0-9A-Za-z_/:.@-]/g, '-');
  return id.length <= 64 ? id : `${id.slice(0, 47)}-${createHash('sha256').update(instanceId).digest('hex').slice(0, 16)}`;
}

/** Build the client: region, endpoint override (then `disableHostPrefix`, DESIGN §7), default credential chain. */
export function cloudMapClient(o: { region?: string | undefined; endpoint?: string | undefined }): ServiceDiscoveryClient {
  return new ServiceDiscoveryClient({ region: o.region, ...(o.endpoint ? { endpoint: o.endpoint, disableHostPrefix: true } : {}) });
}

export class CloudMapRegistration implements Registration {
  state: RegistrationState = 'registering';
  target: string | undefined;
  readonly gateway = 'cloudmap' as const;
  available = true;
  readonly promotion = undefined;
  readonly #o: ResolvedOptions;
  readonly #serviceId: string;
  readonly #client: ServiceDiscoveryClient;
  readonly #log: Logger;
  #identity: Identity | undefined;
  /** learnt from the first UpdateInstanceCustomHealthStatus: false on CustomHealthNotFound */
  #customHealth: boolean | undefined;
  #drained = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #life: Lifecycle;

  constructor(o: ResolvedOptions) {
    const cm = o.cloudMap;
    if (!cm) throw new Error('gw register(): backend cloudmap needs cloudMap.serviceId'); // resolveOptions guarantees it
    this.#o = o;
    this.#serviceId = cm.serviceId;
    this.#client = cm.client ?? cloudMapClient(cm);
    this.#log = (o.logger ?? pino({ name: 'gw-register' })).child({
      component: 'gw-register',
      service: o.service,
      backend: 'cloudmap',
      serviceId: cm.serviceId,
    });
    this.#life = new Lifecycle(o, this.#log, {
      registerOnce: () => this.#registerOnce(),
      retryable: (error) => !(error instanceof GwSdkError) && !FATAL.has(error.name),
      failure: (err, reason, bounded) => {
        const why = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
        if (err instanceof GwSdkError) return err;
        if (errName(err) === 'ServiceNotFound') {
          return new GwSdkError(
            'GW_ERR_SDK_CLOUD_MAP_UNKNOWN_SERVICE',
            `gw register(): Cloud Map service ${this.#serviceId} does not exist (${why}); check cloudMap.serviceId (GW_CLOUDMAP_SERVICE_ID) and the region`,
            { cause: err },
          );
        }
        return reason === 'refused'
          ? new GwSdkError(
              'GW_ERR_SDK_REGISTRATION_REFUSED',
              `gw register(): Cloud Map refused to register ${o.service} in service ${this.#serviceId}: ${why}`,
              { cause: err },
            )
          : new GwSdkError(
              'GW_ERR_SDK_REGISTRATION_TIMEOUT',
              `gw register(): could not register ${o.service} in Cloud Map service ${this.#serviceId}${bounded ? ` within ${o.registerTimeout} ms` : ''}: ${why}`,
              { cause: err },
            );
      },
      registered: () => {
        this.#log.info({ target: this.target, instanceId: this.instanceId, deployment: this.deployment }, 'registered');
        if (o.keepAlive) {
          this.#timer = setInterval(() => void this.#check(), o.cloudMap?.checkInterval ?? 10_000);
          this.#timer.unref();
        }
      },
      stop: () => clearInterval(this.#timer),
      drainAndDeregister: () => this.#drainAndDeregister(),
      setState: (st) => (this.state = st),
    });
  }

  get error(): Error | undefined {
    return this.#life.error;
  }
  /** The Cloud Map service id: what holds the instances (there is no upstream). */
  get upstream(): string {
    return this.#serviceId;
  }
  get instanceId(): string | undefined {
    return this.#identity?.instanceId;
  }
  get deployment(): string | undefined {
    return this.#identity?.deployment;
  }

  /** Register with retries; resolves once registered, rejects at once on a configuration mistake or after registerTimeout. */
  start(bounded = true): Promise<void> {
    return this.#life.start(bounded);
  }

  /** The instance's attributes (AWS limits: values of at most 1,024 characters, 30 attributes). */
  #attributes(id: Identity): Record<string, string> {
    const o = this.#o;
    const a: Record<string, string> = {
      AWS_INSTANCE_IPV4: id.host,
      AWS_INSTANCE_PORT: String(o.port),
      [CLOUD_MAP_ATTR.service]: o.service,
      [CLOUD_MAP_ATTR.weight]: String(this.available ? o.weight : 0),
      [CLOUD_MAP_ATTR.deployment]: id.deployment,
      [CLOUD_MAP_ATTR.instance]: id.instanceId,
    };
    // paths only: options.ts refuses Kong route objects with backend cloudmap
    if (o.routes.length > 0) a[CLOUD_MAP_ATTR.routes] = (o.routes as string[]).join(',');
    if (o.tags.length > 0) a[CLOUD_MAP_ATTR.tags] = o.tags.join(',');
    for (const [k, v] of Object.entries(a)) {
      if (v.length > CLOUD_MAP_ATTR_MAX)
        throw new GwSdkError(
          'GW_ERR_SDK_CLOUD_MAP_ATTRIBUTE',
          `gw register(): Cloud Map attribute ${k} is ${v.length} characters, over the ${CLOUD_MAP_ATTR_MAX} allowed`,
        );
    }
    return a;
  }

  async #registerOnce(): Promise<void> {
    const o = this.#o;
    this.#identity ??= await detectIdentity(o);
    const id = this.#identity;
    if (!isIPv4(id.host))
      throw new GwSdkError(
        'GW_ERR_SDK_CLOUD_MAP_ATTRIBUTE',
        `gw register(): Cloud Map needs an IPv4 address (AWS_INSTANCE_IPV4), got host "${id.host}"; set the host option or GW_HOST`,
      );
    await this.#put(id, this.#life.abort.signal);
    this.target = `${id.host}:${o.port}`;
    // registering again resets a custom health check to HEALTHY: keep a marked-down instance down
    if (!this.available) await this.#setHealth('UNHEALTHY');
  }

  /** RegisterInstance: creates the instance, or replaces its attributes (an upsert). */
  async #put(id: Identity, abortSignal?: AbortSignal): Promise<void> {
    await this.#client.send(
      new RegisterInstanceCommand({
        ServiceId: this.#serviceId,
        InstanceId: cloudMapInstanceId(id.instanceId),
        Attributes: this.#attributes(id),
      }),
      { abortSignal },
    );
  }

  /**
   * Set the custom health status. Skipped (false) when the service has no
   * custom health config (CustomHealthNotFound, remembered). Retried briefly
   * on InstanceNotFound: RegisterInstance completes asynchronously.
   */
  async #setHealth(status: CustomHealthStatus): Promise<boolean> {
    if (this.#customHealth === false || !this.#identity) return false;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#client.send(
          new UpdateInstanceCustomHealthStatusCommand({
            ServiceId: this.#serviceId,
            InstanceId: cloudMapInstanceId(this.#identity.instanceId),
            Status: status,
          }),
        );
        this.#customHealth = true;
        return true;
      } catch (err) {
        if (errName(err) === 'CustomHealthNotFound') {
          this.#customHealth = false;
          this.#log.info('the Cloud Map service has no custom health check; health status not set');
          return false;
        }
        if (errName(err) !== 'InstanceNotFound' || attempt >= 5) throw err;
        await sleep(200 * attempt);
      }
    }
  }

  /** Keep-alive: register again if the instance vanished from the service. */
  async #check(): Promise<void> {
    if (this.state !== 'registered' || !this.#identity) return;
    try {
      await this.#client.send(
        new GetInstanceCommand({ ServiceId: this.#serviceId, InstanceId: cloudMapInstanceId(this.#identity.instanceId) }),
        { abortSignal: this.#life.abort.signal },
      );
    } catch (err) {
      if (errName(err) !== 'InstanceNotFound') {
        this.#log.warn({ err: (err as Error).message }, 'keep-alive check failed; will retry');
        return;
      }
      this.#log.warn({ instanceId: this.#identity.instanceId }, 'Cloud Map no longer has this instance; registering again');
      await this.#registerOnce().catch((e: unknown) => this.#log.warn({ err: (e as Error).message }, 're-registration failed; will retry'));
    }
  }

  /** Marked down: weight attribute 0 and custom health UNHEALTHY (where the service has custom health); up: back. */
  async setAvailable(up: boolean): Promise<void> {
    if (this.#drained || this.#life.closing || this.available === up) return;
    this.available = up;
    if (this.state !== 'registered' || !this.#identity) return; // applied when (re-)registering
    await this.#put(this.#identity);
    await this.#setHealth(up ? 'HEALTHY' : 'UNHEALTHY');
    this.#log.info({ target: this.target, weight: up ? this.#o.weight : 0 }, up ? 'marked up' : 'marked down');
  }

  /** Drain without deregistering: weight 0 / UNHEALTHY, then wait `drainDelay` (bounded by `timeoutMs`); Cloud Map reports no in-flight counts. */
  async drain(opts: { timeoutMs?: number; onProgress?: (p: DrainProgress) => void } = {}): Promise<DrainResult> {
    const wasUp = this.available;
    this.#drained = true;
    this.available = false;
    if (!this.target || !this.#identity) return { drained: true, targets: [], deregistered: [], targetsLeft: 0, inFlight: 0, elapsedMs: 0 };
    return this.#drainFor(opts.timeoutMs ?? this.#o.drainTimeout, wasUp, opts.onProgress);
  }

  async #drainFor(timeoutMs: number, markDown: boolean, onProgress?: (p: DrainProgress) => void): Promise<DrainResult> {
    const started = Date.now();
    const target = this.target!;
    this.#log.info({ target }, 'draining');
    if (markDown) {
      // the weight attribute first: registering again would reset the custom health status
      await this.#put(this.#identity!);
      await this.#setHealth('UNHEALTHY');
    }
    const wait = Math.min(this.#o.drainDelay, timeoutMs);
    const end = started + wait;
    while (Date.now() < end) {
      onProgress?.({ targetsLeft: 1, inFlight: 0, elapsedMs: Date.now() - started });
      await sleep(Math.min(1000, end - Date.now()));
    }
    const drained = this.#o.drainDelay <= timeoutMs;
    const progress = { targetsLeft: drained ? 0 : 1, inFlight: 0, elapsedMs: Date.now() - started };
    onProgress?.(progress);
    return { ...progress, drained, targets: [target], deregistered: [] };
  }

  close(): Promise<void> {
    return this.#life.close();
  }

  async #drainAndDeregister(): Promise<void> {
    if (!this.target || !this.#identity) return;
    const markDown = !this.#drained && this.available;
    this.state = 'draining';
    this.available = false;
    // a failed health update still deregisters: the instance is leaving either way
    await this.#drainFor(this.#o.drainTimeout, markDown).catch((err: unknown) =>
      this.#log.warn({ err: (err as Error).message }, 'drain failed; deregistering anyway'),
    );
    try {
      await this.#client.send(
        new DeregisterInstanceCommand({ ServiceId: this.#serviceId, InstanceId: cloudMapInstanceId(this.#identity.instanceId) }),
      );
    } catch (err) {
      if (errName(err) !== 'InstanceNotFound') throw err;
    }
    this.#log.info({ target: this.target }, 'deregistered');
  }

  installSignals(): void {
    this.#life.installSignals();
  }
}
