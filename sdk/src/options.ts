/**
 * register() options: one zod schema, explicit options over `GW_*` env,
 * validated once; errors name every bad option.
 */
import type { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import type { Logger } from 'pino';
import { z } from 'zod';

const durationMs = z.number().int().positive();

/** Kong fields of an entity the SDK declares, minus those it manages itself. */
const settings = (managed: string[]) =>
  z.record(z.unknown()).superRefine((v, ctx) => {
    for (const k of managed)
      if (k in v) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [k], message: `set by register() itself; remove it` });
  });

export const optionsSchema = z
  .object({
    /** the registrar: `kong` (gw-gateway or Kong, through the Admin API) or `cloudmap` (AWS Cloud Map, cloud-map.ts) */
    backend: z.enum(['kong', 'cloudmap']).default('kong'),
    /** required with backend kong (checked in resolveOptions); unused with cloudmap */
    adminUrl: z.string().url().optional(),
    adminToken: z.string().min(1).optional(),
    service: z.string().regex(/^[A-Za-z0-9._~-]+$/, 'letters, digits and . _ ~ - only'),
    routes: z.array(z.union([z.string().startsWith('/'), z.record(z.unknown())])).default([]),
    upstream: z.string().optional(),
    port: z.number().int().min(1).max(65535),
    host: z.string().min(1).optional(),
    weight: z.number().int().min(0).max(65535).default(100),
    ttl: z.number().int().min(1).max(86400).default(30),
    /** false: register without a lease (no `ttl`; the target never expires), e.g. a one-shot `gw-agent register` */
    lease: z.boolean().default(true),
    deployment: z.string().min(1).optional(),
    instanceId: z.string().min(1).optional(),
    tags: z.array(z.string()).default([]),
    registerTimeout: durationMs.default(30_000),
    background: z.boolean().default(false),
    handleSignals: z.boolean().default(true),
    /** renew the lease / reconcile in the background (false: one-shot registration, e.g. `gw-agent register`) */
    keepAlive: z.boolean().default(true),
    drainTimeout: durationMs.default(20_000),
    drainDelay: durationMs.default(5_000),
    shutdownTimeout: durationMs.default(25_000),
    /** `rolling`: one upstream for all deployments; `blue-green`: one per deployment, the service switched to the new one (blue-green.ts) */
    mode: z.enum(['rolling', 'blue-green']).default('rolling'),
    /** blue-green: switch to this deployment once its upstream has this many healthy targets, or only by promote() (`manual`) */
    promoteWhen: z
      .union([z.literal('manual'), z.object({ healthyTargets: z.number().int().min(1) }).strict()])
      .default({ healthyTargets: 1 }),
    /** the issue's name for `promoteWhen: { healthyTargets: n }` (blue-green) */
    minHealthy: z.number().int().min(1).optional(),
    /** Kong upstream fields this deployment declares (algorithm, healthchecks, slots, hash_on...); the newest deployment's win (ownership.ts) */
    upstreamSettings: settings(['id', 'name', 'tags']).optional(),
    /** Kong service fields this deployment declares (retries, timeouts, protocol, path...); the newest deployment's win */
    serviceSettings: settings(['id', 'name', 'host', 'tags']).optional(),
    /** backend cloudmap: the Cloud Map service this instance registers in */
    cloudMap: z
      .object({
        serviceId: z.string().min(1).max(64),
        /** AWS region (env GW_AWS_REGION, AWS_REGION, AWS_DEFAULT_REGION) */
        region: z
          .string()
          .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region like eu-west-1')
          .optional(),
        /** endpoint override (tests, VPC endpoints); sets `disableHostPrefix` */
        endpoint: z.string().url().optional(),
        /** keep-alive: how often to check that the instance is still registered (ms) */
        checkInterval: durationMs.default(10_000),
        /** a ServiceDiscoveryClient to use instead of one built from region/endpoint (tests, custom credentials) */
        client: z
          .custom<ServiceDiscoveryClient>(
            (v) => typeof v === 'object' && v !== null && typeof (v as ServiceDiscoveryClient).send === 'function',
          )
          .optional(),
      })
      .strict()
      .optional(),
    onShutdown: z.function().optional(),
    logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && typeof (v as Logger).info === 'function').optional(),
  })
  .strict();

export type RegisterOptions = z.input<typeof optionsSchema>;
export type ResolvedOptions = z.output<typeof optionsSchema> & { upstream: string };

/** Cloud Map attribute values are at most 1,024 characters (AWS limit). */
export const CLOUD_MAP_ATTR_MAX = 1024;

const ENV: Record<string, { key: keyof RegisterOptions; parse: (v: string) => unknown }> = {
  GW_BACKEND: { key: 'backend', parse: String },
  GW_ADMIN_URL: { key: 'adminUrl', parse: String },
  GW_ADMIN_TOKEN: { key: 'adminToken', parse: String },
  GW_SERVICE: { key: 'service', parse: String },
  GW_ROUTES: {
    key: 'routes',
    parse: (v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
  },
  GW_UPSTREAM: { key: 'upstream', parse: String },
  GW_PORT: { key: 'port', parse: Number },
  GW_HOST: { key: 'host', parse: String },
  GW_WEIGHT: { key: 'weight', parse: Number },
  GW_TTL: { key: 'ttl', parse: Number },
  GW_DEPLOYMENT: { key: 'deployment', parse: String },
  GW_INSTANCE_ID: { key: 'instanceId', parse: String },
  GW_REGISTER_TIMEOUT: { key: 'registerTimeout', parse: Number },
  GW_MODE: { key: 'mode', parse: String },
  GW_PROMOTE_WHEN: { key: 'promoteWhen', parse: (v) => (v === 'manual' ? v : { healthyTargets: Number(v) }) },
  GW_MIN_HEALTHY: { key: 'minHealthy', parse: Number },
};

/** Merge env under explicit options and validate; throws an Error naming each bad option. */
export function resolveOptions(input: Partial<RegisterOptions>, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const merged: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') merged[spec.key] = spec.parse(v);
  }
  const cloudEnv: Record<string, unknown> = {};
  if (env.GW_CLOUDMAP_SERVICE_ID) cloudEnv.serviceId = env.GW_CLOUDMAP_SERVICE_ID;
  const region = env.GW_AWS_REGION || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (region) cloudEnv.region = region;
  if (env.GW_CLOUDMAP_ENDPOINT) cloudEnv.endpoint = env.GW_CLOUDMAP_ENDPOINT;
  Object.assign(merged, input);
  const backend = merged.backend ?? 'kong';
  if (backend === 'cloudmap' || input.cloudMap !== undefined) {
    // explicit cloudMap fields win over env, field by field
    const explicit = typeof input.cloudMap === 'object' && input.cloudMap !== null ? input.cloudMap : {};
    merged.cloudMap = { ...cloudEnv, ...Object.fromEntries(Object.entries(explicit).filter(([, v]) => v !== undefined)) };
  }
  // options required by one backend only: reported alongside the schema's problems
  const required: string[] = [];
  if (backend === 'kong' && merged.adminUrl === undefined) required.push('adminUrl: Required');
  if (backend === 'cloudmap') {
    const cm = merged.cloudMap as Record<string, unknown>;
    if (cm.serviceId === undefined) required.push('cloudMap.serviceId: required with backend cloudmap (or set GW_CLOUDMAP_SERVICE_ID)');
    if (cm.region === undefined && cm.client === undefined)
      required.push('cloudMap.region: required with backend cloudmap (or set GW_AWS_REGION / AWS_REGION)');
  }
  // cross-field rules stay out of the schema so it remains a plain object (gw-agent reads its `shape`)
  const r = optionsSchema
    .superRefine((o, ctx) => {
      if (o.minHealthy !== undefined && merged.promoteWhen !== undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['minHealthy'], message: 'give either minHealthy or promoteWhen, not both' });
      }
      if (o.mode === 'blue-green' && o.upstream !== undefined) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['upstream'],
          message: 'cannot be set with mode blue-green (each deployment gets <service>.<deployment>.upstream)',
        });
      }
      if (o.backend === 'cloudmap') {
        // what Cloud Map cannot carry is refused, not silently dropped
        const no = (path: string, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message });
        if (o.upstream !== undefined) no('upstream', 'backend cloudmap has no upstreams (the instance goes in cloudMap.serviceId)');
        if (o.mode === 'blue-green') no('mode', 'blue-green needs backend kong (Cloud Map has no upstreams to switch)');
        if (o.upstreamSettings) no('upstreamSettings', 'Kong upstream settings need backend kong');
        if (o.serviceSettings) no('serviceSettings', 'Kong service settings need backend kong');
        if (o.routes.some((r) => typeof r !== 'string')) no('routes', 'backend cloudmap takes paths only, not Kong route objects');
        else if (o.routes.some((r) => (r as string).includes(',')))
          no('routes', 'backend cloudmap: a path cannot contain a comma (routes are one comma-joined attribute)');
        else if ((o.routes as string[]).join(',').length > CLOUD_MAP_ATTR_MAX)
          no('routes', `backend cloudmap: the comma-joined paths exceed Cloud Map's ${CLOUD_MAP_ATTR_MAX}-character attribute limit`);
        if (o.tags.join(',').length > CLOUD_MAP_ATTR_MAX || o.tags.some((t) => t.includes(',')))
          no(
            'tags',
            `backend cloudmap: tags are one comma-joined attribute of at most ${CLOUD_MAP_ATTR_MAX} characters, without commas in a tag`,
          );
        if (o.deployment !== undefined && o.deployment.length > CLOUD_MAP_ATTR_MAX)
          no('deployment', `backend cloudmap: at most ${CLOUD_MAP_ATTR_MAX} characters`);
      }
    })
    .safeParse(merged);
  if (!r.success || required.length > 0) {
    const problems = [
      ...(r.success
        ? []
        : r.error.issues.map((i) =>
            i.code === 'unrecognized_keys' ? `unknown option(s) ${i.keys.join(', ')}` : `${i.path.join('.') || 'options'}: ${i.message}`,
          )),
      ...required,
    ];
    throw new Error(`gw register(): invalid options: ${problems.join('; ')}`);
  }
  const upstream = r.data.upstream ?? `${r.data.service}.upstream`;
  const promoteWhen = r.data.minHealthy !== undefined ? { healthyTargets: r.data.minHealthy } : r.data.promoteWhen;
  return { ...r.data, promoteWhen, upstream };
}
