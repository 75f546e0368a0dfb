/**
 * `gw-agent deregister`: one-shot removal of one target: drain it first
 * (weight 0, wait for in-flight requests; bounded by --drain-timeout) unless
 * --now, then delete it. Shared objects (service, routes, upstream) stay.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { detectIdentity } from '../../../sdk/src/detect.js';
import { drainTargets, noteDrainedAway, type TargetEntity } from '../../../sdk/src/drain.js';
import { adminClient, gatewayKind, requireUpstream, step, upstreamOfService } from '../admin.js';
import { UsageError } from '../errors.js';
import {
  ADMIN_FLAGS,
  addFlags,
  CONFIG_FLAG,
  duration,
  formatDuration,
  hostPort,
  int,
  JSON_FLAG,
  resolve,
  url,
  type FlagSpec,
} from '../options.js';

export const DEREGISTER_FLAGS: FlagSpec[] = [
  ...ADMIN_FLAGS,
  { key: 'service', flags: '--service <name>', env: 'GW_SERVICE', help: 'service whose upstream holds the target' },
  { key: 'upstream', flags: '--upstream <name>', env: 'GW_UPSTREAM', help: 'upstream of the target (instead of --service)' },
  { key: 'target', flags: '--target <host:port>', help: 'the target (or --port, with --host or the detected address)' },
  { key: 'port', flags: '--port <port>', env: 'GW_PORT', help: 'port of the target' },
  {
    key: 'host',
    flags: '--host <host>',
    env: 'GW_HOST',
    help: 'host of the target',
    def: 'ECS task IPv4, else the first non-internal IPv4',
  },
  {
    key: 'drainTimeout',
    flags: '--drain-timeout <duration>',
    env: 'GW_DRAIN_TIMEOUT',
    help: 'gw: longest wait for in-flight requests before deleting anyway',
    def: '20s',
  },
  { key: 'drainDelay', flags: '--drain-delay <duration>', env: 'GW_DRAIN_DELAY', help: 'Kong: wait after weight 0', def: '5s' },
  { key: 'now', flags: '--now', help: 'delete at once, without draining' },
  JSON_FLAG,
  CONFIG_FLAG,
];

const schema = z.object({
  adminUrl: url,
  adminToken: z.string().min(1).optional(),
  service: z.string().min(1).optional(),
  upstream: z.string().min(1).optional(),
  target: hostPort.optional(),
  port: int(1, 65535).optional(),
  host: z.string().min(1).optional(),
  drainTimeout: duration.default('20s'),
  drainDelay: duration.default('5s'),
  now: z.boolean().default(false),
  json: z.boolean().default(false),
  config: z.string().optional(),
});

export function deregisterCommand(): Command {
  const cmd = new Command('deregister').description('Drain one target and delete it, once (the shared service, routes and upstream stay).');
  addFlags(cmd, DEREGISTER_FLAGS);
  cmd.addHelpText(
    'after',
    `
Examples:
  gw-agent deregister --admin-url http://gateway:8001 --service users --target 10.0.2.106:3000
  gw-agent deregister --admin-url http://gateway:8001 --upstream users.upstream --host 10.0.2.106 --port 3000 --now

A target that is already gone is not an error (exit 0).`,
  );
  cmd.action(async () => {
    const o = resolve(cmd, DEREGISTER_FLAGS, schema);
    if (!o.service && !o.upstream) throw new UsageError('--service or --upstream: required (or set GW_SERVICE / GW_UPSTREAM)');
    if (!o.target && o.port === undefined) throw new UsageError('--target HOST:PORT or --port: required');
    if (o.target && (o.port !== undefined || o.host)) throw new UsageError('--target and --port/--host: give one of them, not both');
    const admin = adminClient(o);
    const target = o.target?.text ?? `${(await detectIdentity({ host: o.host })).host}:${o.port}`;
    const gateway = await gatewayKind(admin);
    let upstream: string;
    if (o.upstream) {
      upstream = o.upstream;
      await requireUpstream(admin, upstream);
    } else upstream = await upstreamOfService(admin, o.service!);
    let r;
    if (o.now) {
      // an operator's removal: the instance's own SDK/sidecar must not register it again (sdk/src/drain.ts)
      const d = await step(admin, `DELETE /upstreams/${upstream}/targets/${target}`, async () => {
        const path = `/upstreams/${encodeURIComponent(upstream)}/targets/${encodeURIComponent(target)}`;
        const cur = await admin.expect<TargetEntity>([200, 404], 'GET', path);
        if (cur.status === 200) await noteDrainedAway(admin, upstream, [cur.body]);
        return admin.expect([204, 404], 'DELETE', path);
      });
      r = {
        drained: false,
        targets: d.status === 204 ? [target] : [],
        deregistered: d.status === 204 ? [target] : [],
        inFlight: 0,
        elapsedMs: 0,
        targetsLeft: 0,
      };
    } else {
      r = await step(admin, `deregister ${target}`, () =>
        drainTargets(admin, {
          upstream,
          targets: [target],
          gateway,
          timeoutMs: o.drainTimeout,
          delayMs: o.drainDelay,
          deregister: true,
          deregisterOnTimeout: true,
          mark: true,
        }),
      );
    }
    if (o.json)
      process.stdout.write(
        JSON.stringify({
          target,
          upstream,
          gateway,
          deregistered: r.deregistered.length > 0,
          drained: r.drained,
          in_flight: r.inFlight,
          elapsed_ms: r.elapsedMs,
        }) + '\n',
      );
    if (r.deregistered.length === 0) {
      process.stderr.write(`gw-agent deregister: nothing to do: ${target} is not in upstream ${upstream}\n`);
      return;
    }
    const how = o.now
      ? 'without draining'
      : r.drained
        ? `drained in ${formatDuration(r.elapsedMs)}`
        : `drain timed out after ${formatDuration(o.drainTimeout)} with ${r.inFlight} in flight; deleted anyway`;
    process.stderr.write(`gw-agent deregister: deregistered ${target} from upstream ${upstream} (${how})\n`);
  });
  return cmd;
}
