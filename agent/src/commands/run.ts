/**
 * `gw-agent run`: the ECS sidecar (see sidecar.ts). Thin: flags → frozen
 * config → Sidecar; SIGTERM/SIGINT drain, deregister and exit 0.
 */
import { Command } from 'commander';
import { pino } from 'pino';
import { z } from 'zod';
import { keepRunning } from '../../../contract/src/last-resort.js';
import { optionsSchema } from '../../../sdk/src/options.js';
import { UsageError } from '../errors.js';
import { ADMIN_FLAGS, addFlags, CONFIG_FLAG, duration, hostPort, int, list, resolve, url, type FlagSpec } from '../options.js';
import { Sidecar } from '../sidecar.js';

export const RUN_FLAGS: FlagSpec[] = [
  ...ADMIN_FLAGS,
  { key: 'service', flags: '--service <name>', env: 'GW_SERVICE', help: 'service name (created if missing)' },
  {
    key: 'route',
    flags: '--route <path>',
    env: 'GW_ROUTES',
    help: 'route path, repeatable; comma-separated paths in the env variable',
    repeatable: true,
  },
  { key: 'port', flags: '--port <port>', env: 'GW_PORT', help: 'port the app serves on' },
  {
    key: 'host',
    flags: '--host <host>',
    env: 'GW_HOST',
    help: 'address the gateway reaches the app at',
    def: 'ECS task IPv4, else the first non-internal IPv4',
  },
  {
    key: 'healthPath',
    flags: '--health-path <path>',
    env: 'GW_HEALTH_PATH',
    help: 'app path that answers 2xx when ready; probed on 127.0.0.1:PORT before registering and afterwards',
  },
  {
    key: 'healthInterval',
    flags: '--health-interval <duration>',
    env: 'GW_HEALTH_INTERVAL',
    help: 'time between health probes after registration',
    def: '5s',
  },
  {
    key: 'unhealthyAfter',
    flags: '--unhealthy-after <n>',
    env: 'GW_UNHEALTHY_AFTER',
    help: 'failed probes in a row that mark the target down (weight 0)',
    def: '2',
  },
  {
    key: 'deployment',
    flags: '--deployment <name>',
    env: 'GW_DEPLOYMENT',
    help: 'deployment tag',
    def: 'ECS family:revision, else "default"',
  },
  { key: 'mode', flags: '--mode <mode>', env: 'GW_MODE', help: 'deploy mode', choices: ['rolling', 'blue-green'], def: 'rolling' },
  {
    key: 'ttl',
    flags: '--ttl <duration>',
    env: 'GW_TTL',
    help: 'lease on gw, renewed every ttl/3 (Kong: the target is checked every ttl/3)',
    def: '30s',
  },
  { key: 'weight', flags: '--weight <n>', env: 'GW_WEIGHT', help: 'target weight, 0 to 65535 (0: registered, no traffic)', def: '100' },
  {
    key: 'drainTimeout',
    flags: '--drain-timeout <duration>',
    env: 'GW_DRAIN_TIMEOUT',
    help: 'bound on drain + deregister at SIGTERM (keep it below the ECS stopTimeout)',
    def: '20s',
  },
  {
    key: 'backend',
    flags: '--backend <backend>',
    env: 'GW_BACKEND',
    help: "registrar: the gateway's Admin API, or AWS Cloud Map",
    choices: ['kong', 'cloudmap'],
    def: 'kong',
  },
  {
    key: 'cloudmapServiceId',
    flags: '--cloudmap-service-id <id>',
    env: 'GW_CLOUDMAP_SERVICE_ID',
    help: '--backend cloudmap: the Cloud Map service to register in (srv-...)',
  },
  {
    key: 'awsRegion',
    flags: '--aws-region <region>',
    env: 'GW_AWS_REGION',
    help: '--backend cloudmap: AWS region',
    def: 'AWS_REGION, else AWS_DEFAULT_REGION',
  },
  {
    key: 'cloudmapEndpoint',
    flags: '--cloudmap-endpoint <url>',
    env: 'GW_CLOUDMAP_ENDPOINT',
    help: '--backend cloudmap: endpoint override (VPC endpoint, tests)',
    def: 'the regional endpoint',
  },
  {
    key: 'upstream',
    flags: '--upstream <name>',
    env: 'GW_UPSTREAM',
    help: 'upstream name; an existing one is adopted (e.g. the upstream a hand-made service points at)',
    def: '<service>.upstream',
  },
  {
    key: 'instanceId',
    flags: '--instance-id <id>',
    env: 'GW_INSTANCE_ID',
    help: 'instance identity',
    def: 'ECS task ARN, else host-pid-random',
  },
  {
    key: 'controlListen',
    flags: '--control-listen <host:port>',
    env: 'GW_CONTROL_LISTEN',
    help: 'local control endpoint (GET /, GET /ready, POST /drain)',
    def: '127.0.0.1:9901',
  },
  {
    key: 'reapAfter',
    flags: '--reap-after <duration>',
    env: 'GW_REAP_AFTER',
    help: 'Kong hygiene: remove gw targets of the upstream unhealthy for longer than this',
    def: 'off',
  },
  {
    key: 'logLevel',
    flags: '--log-level <level>',
    env: 'GW_LOG_LEVEL',
    help: 'pino level (JSON logs on stdout)',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    def: 'info',
  },
  CONFIG_FLAG,
];

const ttlSeconds = duration.transform((ms, ctx) => {
  if (ms < 1000 || ms > 86_400_000) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected 1s to 24h, got ${ms}ms` });
    return z.NEVER;
  }
  return Math.ceil(ms / 1000);
});

export const runSchema = z.object({
  /** required with --backend kong (checked in the action) */
  adminUrl: url.optional(),
  adminToken: z.string().min(1).optional(),
  service: z.string().regex(/^[A-Za-z0-9._~-]+$/, 'letters, digits and . _ ~ - only'),
  route: list.pipe(z.array(z.string().startsWith('/', 'each route must start with /'))).default([]),
  port: int(1, 65535),
  host: z.string().min(1).optional(),
  healthPath: z.string().startsWith('/', 'must start with /').optional(),
  healthInterval: duration.pipe(z.number().min(50, 'must be at least 50ms')).default('5s'),
  unhealthyAfter: int(1, 100).default('2'),
  deployment: z.string().min(1).optional(),
  mode: z.enum(['rolling', 'blue-green']).default('rolling'),
  ttl: ttlSeconds.default('30s'),
  weight: int(0, 65535).default('100'),
  drainTimeout: duration.pipe(z.number().min(100, 'must be at least 100ms')).default('20s'),
  backend: z.enum(['kong', 'cloudmap']).default('kong'),
  cloudmapServiceId: z.string().min(1).max(64).optional(),
  awsRegion: z.string().min(1).optional(),
  cloudmapEndpoint: url.optional(),
  upstream: z.string().min(1).optional(),
  instanceId: z.string().min(1).optional(),
  controlListen: hostPort.default('127.0.0.1:9901'),
  reapAfter: duration.optional(),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  config: z.string().optional(),
});

/** What the SDK supports today: options other engineers add later (mode, backend) are picked up when they exist. */
function sdkSupports(option: string): boolean {
  return option in optionsSchema.shape;
}

export function runCommand(): Command {
  const cmd = new Command('run').description(
    'Run as a sidecar: wait for the app, register it, keep it registered, drain and deregister on SIGTERM.',
  );
  addFlags(cmd, RUN_FLAGS);
  cmd.addHelpText(
    'after',
    `
Examples:
  gw-agent run --admin-url http://gateway:8001 --service users --route /api/v1/users --port 3000 --health-path /health
  GW_ADMIN_URL=http://gateway:8001 GW_SERVICE=users GW_ROUTES=/api/v1/users GW_PORT=3000 gw-agent run
  gw-agent run --config /etc/gw-agent.yaml --drain-timeout 25s
  gw-agent run --backend cloudmap --cloudmap-service-id srv-abc123 --aws-region eu-west-1 --service users --route /api/v1/users --port 3000

Control endpoint (--control-listen): GET / (state JSON), GET /ready (200 while registered: use it as the
container health check), POST /drain?timeout=30s[&deregister=1] (JSON lines of progress).
SIGTERM/SIGINT: drain (weight 0, wait for in-flight requests), deregister, exit 0, within --drain-timeout.
An unreachable gateway is retried; a registration it refuses (401, 403, 400) is one line on stderr, exit 1.`,
  );
  cmd.action(async () => {
    const o = resolve(cmd, RUN_FLAGS, runSchema, { ownsEnvConfig: true });
    const extra: Record<string, unknown> = {};
    if (o.backend === 'cloudmap' && !sdkSupports('backend'))
      throw new UsageError(
        '--backend cloudmap: not available yet (the SDK has no Cloud Map registrar in this version); use --backend kong',
      );
    if (o.mode === 'blue-green' && !sdkSupports('mode'))
      throw new UsageError('--mode blue-green: not available yet (the SDK has no blue-green mode in this version); use --mode rolling');
    if (o.backend === 'kong' && !o.adminUrl) throw new UsageError('--admin-url: required (or set GW_ADMIN_URL)');
    if (o.backend === 'cloudmap') {
      const only = (flag: string, v: unknown): void => {
        if (v !== undefined) throw new UsageError(`${flag} cannot be used with --backend cloudmap`);
      };
      only('--mode blue-green', o.mode === 'blue-green' ? o.mode : undefined);
      only('--upstream', o.upstream);
      only('--reap-after', o.reapAfter);
      if (!o.cloudmapServiceId)
        throw new UsageError('--cloudmap-service-id: required with --backend cloudmap (or set GW_CLOUDMAP_SERVICE_ID)');
      if (!o.awsRegion && !process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION)
        throw new UsageError('--aws-region: required with --backend cloudmap (or set GW_AWS_REGION or AWS_REGION)');
      extra.cloudMap = { serviceId: o.cloudmapServiceId, region: o.awsRegion, endpoint: o.cloudmapEndpoint };
    }
    if (o.mode === 'blue-green' && o.upstream)
      throw new UsageError('--upstream cannot be used with --mode blue-green (each deployment gets <service>.<deployment>.upstream)');
    if (sdkSupports('mode')) extra.mode = o.mode;
    if (sdkSupports('backend')) extra.backend = o.backend;
    const log = pino({ name: 'gw-agent', level: o.logLevel });
    const sidecar = new Sidecar(
      {
        register: {
          adminUrl: o.adminUrl,
          adminToken: o.adminToken,
          service: o.service,
          routes: o.route,
          port: o.port,
          host: o.host,
          deployment: o.deployment,
          ttl: o.ttl,
          weight: o.weight,
          upstream: o.upstream,
          instanceId: o.instanceId,
          ...extra,
        },
        healthPath: o.healthPath,
        healthIntervalMs: o.healthInterval,
        unhealthyAfter: o.unhealthyAfter,
        drainTimeoutMs: o.drainTimeout,
        controlListen: o.controlListen,
        reapAfterMs: o.reapAfter,
      },
      log,
    );
    const onSignal = (signal: string): void => {
      log.info({ signal }, 'signal received');
      void sidecar.stop(0);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      await sidecar.start();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL')
        throw new UsageError(`--control-listen ${o.controlListen.text}: cannot listen (${e.code})`);
      throw err;
    }
    // running now: from here on no exception stops the sidecar; it is logged and counted (contract/src/last-resort.ts)
    keepRunning(log, 'the agent', sidecar.internalErrors);
    process.exitCode = await sidecar.done;
    // a refused registration: one line on stderr naming it (status, the gateway's message, what to check), exit 1
    if (sidecar.failure) throw sidecar.failure;
  });
  return cmd;
}
