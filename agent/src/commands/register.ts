/**
 * `gw-agent register`: one-shot registration through the SDK's register()
 * (service, routes, upstream, target), then exit. No lease unless --ttl is
 * given, since nobody renews it; no keep-alive loop.
 */
import { Command } from 'commander';
import { pino } from 'pino';
import { z } from 'zod';
import { register } from '../../../sdk/src/register.js';
import { registrationFailure } from '../admin.js';
import { ADMIN_FLAGS, addFlags, CONFIG_FLAG, duration, int, JSON_FLAG, list, resolve, url, type FlagSpec } from '../options.js';
import { RUN_FLAGS } from './run.js';

const pick = (...keys: string[]): FlagSpec[] => keys.map((k) => RUN_FLAGS.find((s) => s.key === k)!);

export const REGISTER_FLAGS: FlagSpec[] = [
  ...ADMIN_FLAGS,
  ...pick('service', 'route', 'port', 'host', 'deployment', 'weight', 'upstream', 'instanceId'),
  {
    key: 'ttl',
    flags: '--ttl <duration>',
    env: 'GW_TTL',
    help: 'lease on gw (the target expires unless something renews it)',
    def: 'none: the target stays until deregistered',
  },
  {
    key: 'timeout',
    flags: '--timeout <duration>',
    help: 'give up (exit 1) after retrying an unreachable gateway (or 5xx, 429) this long; a refusal (401, 403, 400) exits 1 at once',
    def: '30s',
  },
  JSON_FLAG,
  CONFIG_FLAG,
];

const schema = z.object({
  adminUrl: url,
  adminToken: z.string().min(1).optional(),
  service: z.string().regex(/^[A-Za-z0-9._~-]+$/, 'letters, digits and . _ ~ - only'),
  route: list.pipe(z.array(z.string().startsWith('/', 'each route must start with /'))).default([]),
  port: int(1, 65535),
  host: z.string().min(1).optional(),
  deployment: z.string().min(1).optional(),
  weight: int(0, 65535).default('100'),
  upstream: z.string().min(1).optional(),
  instanceId: z.string().min(1).optional(),
  ttl: duration.pipe(z.number().min(1000, 'must be at least 1s').max(86_400_000, 'must be at most 24h')).optional(),
  timeout: duration.pipe(z.number().min(1, 'must be more than 0')).default('30s'),
  json: z.boolean().default(false),
  config: z.string().optional(),
});

export function registerCommand(): Command {
  const cmd = new Command('register').description(
    'Register one target (and its service, routes, upstream) once, then exit. No lease unless --ttl.',
  );
  addFlags(cmd, REGISTER_FLAGS);
  cmd.addHelpText(
    'after',
    `
Examples:
  gw-agent register --admin-url http://gateway:8001 --service users --route /api/v1/users --host 10.0.2.106 --port 3000
  gw-agent register --admin-url http://gateway:8001 --service users --host 10.0.2.106 --port 3000 --ttl 5m --json

Idempotent: registering the same HOST:PORT again updates it. Remove it with gw-agent deregister.`,
  );
  cmd.action(async () => {
    const o = resolve(cmd, REGISTER_FLAGS, schema);
    let reg;
    try {
      reg = await register({
        adminUrl: o.adminUrl,
        adminToken: o.adminToken,
        service: o.service,
        routes: o.route,
        port: o.port,
        host: o.host,
        deployment: o.deployment,
        weight: o.weight,
        upstream: o.upstream,
        instanceId: o.instanceId,
        ttl: o.ttl === undefined ? 30 : Math.ceil(o.ttl / 1000),
        lease: o.ttl !== undefined,
        keepAlive: false,
        handleSignals: false,
        registerTimeout: o.timeout,
        onShutdown: () => undefined,
        // the one-line reason below says it all; the SDK's logs would repeat it
        logger: pino({ level: 'silent' }),
      });
    } catch (err) {
      // refused (401/403/400…): at once, naming the refusal; unreachable or 5xx: after --timeout
      throw registrationFailure(o, o.service, err);
    }
    const lease = o.ttl !== undefined && reg.gateway === 'gw' ? `lease ${Math.ceil(o.ttl / 1000)}s, not renewed` : 'no lease';
    if (o.json)
      process.stdout.write(
        JSON.stringify({
          target: reg.target,
          upstream: reg.upstream,
          service: o.service,
          gateway: reg.gateway,
          deployment: reg.deployment,
          instance_id: reg.instanceId,
          ttl: o.ttl !== undefined && reg.gateway === 'gw' ? Math.ceil(o.ttl / 1000) : null,
        }) + '\n',
      );
    process.stderr.write(
      `gw-agent register: registered ${reg.target} in upstream ${reg.upstream} of service ${o.service} (${reg.gateway}, deployment ${reg.deployment}, ${lease})\n`,
    );
  });
  return cmd;
}
