/**
 * `gw-agent drain`: weight 0, then wait until no request is in flight (gw)
 * or `--drain-delay` (Kong), bounded by `--timeout`. Selects the local
 * sidecar's instance (no selector), one or more targets of an upstream, or
 * every target of a deployment. Exit 0 drained, 1 timed out, 2 usage.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { deploymentUpstream } from '../../../sdk/src/blue-green.js';
import { drainTargets, type DrainProgress, type DrainResult } from '../../../sdk/src/drain.js';
import type { KongAdmin } from '../../../sdk/src/kong-admin.js';
import {
  adminClient,
  deploymentOf,
  gatewayKind,
  requireUpstream,
  step,
  targetsWithHealth,
  upstreamExists,
  upstreamOfService,
} from '../admin.js';
import { AgentError, UsageError } from '../errors.js';
import {
  ADMIN_FLAGS,
  addFlags,
  CONFIG_FLAG,
  CONTROL_URL_FLAG,
  duration,
  formatDuration,
  JSON_FLAG,
  list,
  resolve,
  url,
  type FlagSpec,
} from '../options.js';
import { DrainReporter } from '../progress.js';

// selectors have no env twins on purpose: a sidecar's GW_SERVICE/GW_DEPLOYMENT
// must not turn a local `gw-agent drain` into a drain of the whole deployment
export const DRAIN_FLAGS: FlagSpec[] = [
  ...ADMIN_FLAGS,
  CONTROL_URL_FLAG,
  { key: 'upstream', flags: '--upstream <name>', help: 'upstream of the targets (with --target or --deployment)' },
  { key: 'target', flags: '--target <host:port>', help: 'target to drain, repeatable (with --upstream or --service)', repeatable: true },
  { key: 'service', flags: '--service <name>', help: 'service whose upstream holds the targets (with --deployment or --target)' },
  { key: 'deployment', flags: '--deployment <name>', help: 'drain every target tagged gw-deployment:<name>' },
  { key: 'timeout', flags: '--timeout <duration>', env: 'GW_DRAIN_TIMEOUT', help: 'give up (exit 1) after this', def: '30s' },
  {
    key: 'drainDelay',
    flags: '--drain-delay <duration>',
    env: 'GW_DRAIN_DELAY',
    help: 'Kong (no in-flight counts): wait this long after weight 0',
    def: '5s',
  },
  { key: 'deregister', flags: '--deregister', help: 'delete the targets once drained' },
  JSON_FLAG,
  CONFIG_FLAG,
];

const schema = z.object({
  adminUrl: url.optional(),
  adminToken: z.string().min(1).optional(),
  controlUrl: url.default('http://127.0.0.1:9901'),
  upstream: z.string().min(1).optional(),
  target: list.optional(),
  service: z.string().min(1).optional(),
  deployment: z.string().min(1).optional(),
  timeout: duration.default('30s'),
  drainDelay: duration.default('5s'),
  deregister: z.boolean().default(false),
  json: z.boolean().default(false),
  config: z.string().optional(),
});
type DrainConfig = z.output<typeof schema>;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function finish(r: DrainResult, where: string, o: DrainConfig): void {
  if (!r.drained) {
    throw new AgentError(
      'timeout',
      `timed out after ${formatDuration(o.timeout)}: ${plural(r.targetsLeft, 'target')} of ${where} still ha${r.targetsLeft === 1 ? 's' : 've'} ${plural(r.inFlight, 'request')} in flight${o.deregister ? '; nothing deregistered' : ''}`,
    );
  }
  const dereg = r.deregistered.length ? `, deregistered ${plural(r.deregistered.length, 'target')}` : '';
  process.stderr.write(
    `gw-agent drain: drained ${plural(r.targets.length, 'target')} of ${where} in ${formatDuration(r.elapsedMs)}${dereg}\n`,
  );
}

/** Through the local sidecar's control endpoint: it holds the admin credentials and its own target. */
async function viaSidecar(o: DrainConfig, reporter: DrainReporter): Promise<void> {
  const u = new URL('/drain', o.controlUrl);
  u.searchParams.set('timeout', `${o.timeout}ms`);
  if (o.deregister) u.searchParams.set('deregister', '1');
  let res: Response;
  try {
    res = await fetch(u, { method: 'POST' });
  } catch (err) {
    const e = err as Error & { cause?: NodeJS.ErrnoException };
    throw new AgentError(
      'sidecar',
      `cannot reach the sidecar at ${o.controlUrl} (--control-url): ${e.cause?.code ?? e.message}; give --upstream/--target or --service/--deployment to drain through the Admin API`,
    );
  }
  if (res.status !== 200 || !res.body)
    throw new AgentError('sidecar', `the sidecar at ${o.controlUrl} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  reporter.event({ event: 'start', via: 'sidecar', control_url: o.controlUrl });
  let done: (DrainResult & { target?: string | null }) | undefined;
  let buf = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      const e = JSON.parse(line) as {
        event: string;
        message?: string;
        targets_left: number;
        in_flight: number;
        elapsed_ms: number;
        drained: boolean;
        targets: string[];
        deregistered: string[];
        target?: string | null;
      };
      if (e.event === 'progress') reporter.progress({ targetsLeft: e.targets_left, inFlight: e.in_flight, elapsedMs: e.elapsed_ms }, 1);
      else if (e.event === 'error') throw new AgentError('sidecar', `the sidecar could not drain: ${e.message ?? 'unknown error'}`);
      else if (e.event === 'done')
        done = {
          drained: e.drained,
          targets: e.targets,
          deregistered: e.deregistered,
          targetsLeft: e.targets_left,
          inFlight: e.in_flight,
          elapsedMs: e.elapsed_ms,
          target: e.target,
        };
    }
  }
  if (!done) throw new AgentError('sidecar', `the sidecar at ${o.controlUrl} closed the drain without a result`);
  reporter.done(done, { via: 'sidecar', target: done.target ?? null });
  if (done.targets.length === 0) {
    process.stderr.write(`gw-agent drain: nothing to drain: the sidecar at ${o.controlUrl} has no registered target\n`);
    return;
  }
  finish(done, `the sidecar's instance ${done.target ?? ''}`.trim(), o);
}

/** Where a deployment's targets can be: the service's live upstream, and in blue-green mode the deployment's own. */
async function upstreamsFor(admin: KongAdmin, o: DrainConfig): Promise<string[]> {
  if (o.upstream) {
    await requireUpstream(admin, o.upstream);
    return [o.upstream];
  }
  const live = await upstreamOfService(admin, o.service!);
  if (!o.deployment) return [live];
  const own = deploymentUpstream(o.service!, o.deployment);
  return own !== live && (await upstreamExists(admin, own)) ? [live, own] : [live];
}

async function viaAdmin(o: DrainConfig, reporter: DrainReporter): Promise<void> {
  const admin = adminClient(o);
  const gateway = await gatewayKind(admin);
  const upstreams = await upstreamsFor(admin, o);
  const plan: { upstream: string; targets: string[] }[] = [];
  for (const upstream of upstreams) {
    if (o.target?.length) plan.push({ upstream, targets: o.target });
    else {
      const all = await targetsWithHealth(admin, upstream);
      const targets = all.filter((h) => deploymentOf(h.tags) === o.deployment).map((h) => h.target);
      if (targets.length) plan.push({ upstream, targets });
    }
  }
  const names = plan.length ? plan.map((p) => p.upstream).join(', ') : upstreams.join(', ');
  const where = o.target?.length ? `upstream ${names}` : `deployment ${o.deployment} in upstream ${names}`;
  const total = plan.reduce((a, p) => a + p.targets.length, 0);
  reporter.event({
    event: 'start',
    via: 'admin',
    gateway,
    upstreams: plan.map((p) => p.upstream),
    targets: plan.flatMap((p) => p.targets),
  });
  // drain every upstream at once; progress is the sum of the latest of each
  const latest = new Map<string, DrainProgress>();
  const started = Date.now();
  const results = await Promise.all(
    plan.map((p) =>
      step(admin, `drain ${where}`, () =>
        drainTargets(admin, {
          upstream: p.upstream,
          targets: p.targets,
          gateway,
          timeoutMs: o.timeout,
          delayMs: o.drainDelay,
          deregister: o.deregister,
          // an operator's drain: the instance's own SDK/sidecar must not undo it (sdk/src/drain.ts)
          mark: true,
          onProgress: (x) => {
            latest.set(p.upstream, x);
            const sum = [...latest.values()].reduce(
              (a, v) => ({
                targetsLeft: a.targetsLeft + v.targetsLeft,
                inFlight: a.inFlight + v.inFlight,
                elapsedMs: Date.now() - started,
              }),
              { targetsLeft: 0, inFlight: 0, elapsedMs: 0 },
            );
            reporter.progress(sum, total);
          },
        }),
      ),
    ),
  );
  const r: DrainResult = {
    drained: results.every((x) => x.drained),
    targets: results.flatMap((x) => x.targets),
    deregistered: results.flatMap((x) => x.deregistered),
    targetsLeft: results.reduce((a, x) => a + x.targetsLeft, 0),
    inFlight: results.reduce((a, x) => a + x.inFlight, 0),
    elapsedMs: Date.now() - started,
  };
  reporter.done(r, { via: 'admin', gateway, upstreams: plan.map((p) => p.upstream) });
  if (r.targets.length === 0) {
    process.stderr.write(
      `gw-agent drain: nothing to drain: no ${o.target?.length ? `target ${o.target.join(', ')}` : `target of deployment ${o.deployment}`} in upstream ${names}\n`,
    );
    return;
  }
  finish(r, where, o);
}

export function drainCommand(): Command {
  const cmd = new Command('drain').description(
    'Drain targets (weight 0, wait for in-flight requests to finish); exit 0 drained, 1 timed out, 2 usage error.',
  );
  addFlags(cmd, DRAIN_FLAGS);
  cmd.addHelpText(
    'after',
    `
Selectors (one of):
  (none)                           the local sidecar's instance, via --control-url
  --upstream U --target HOST:PORT  given targets (--service S instead of --upstream works too)
  --service S --deployment D       every target of S's upstream tagged gw-deployment:D

Examples:
  gw-agent drain                                   # in the task: drain this task's instance via its sidecar
  gw-agent drain --admin-url http://gateway:8001 --service users --deployment users:41 --timeout 2m --deregister
  gw-agent drain --admin-url http://gateway:8001 --upstream users.upstream --target 10.0.2.106:3000 --json

Progress: a live line on a terminal (stderr), JSON lines on stdout with --json; always a one-line result on stderr.`,
  );
  cmd.action(async () => {
    const o = resolve(cmd, DRAIN_FLAGS, schema);
    const admin = Boolean(o.upstream || o.service || o.target?.length || o.deployment);
    if (o.target?.length && o.deployment) throw new UsageError('--target and --deployment: give one of them, not both');
    if (o.upstream && o.service) throw new UsageError('--upstream and --service: give one of them, not both');
    if ((o.target?.length || o.deployment) && !o.upstream && !o.service)
      throw new UsageError(`${o.target?.length ? '--target' : '--deployment'} needs --upstream or --service`);
    if ((o.upstream || o.service) && !o.target?.length && !o.deployment)
      throw new UsageError(`${o.upstream ? '--upstream' : '--service'} needs --target HOST:PORT or --deployment NAME`);
    for (const t of o.target ?? [])
      if (!/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(t)) throw new UsageError(`--target: expected HOST:PORT, got "${t}"`);
    const reporter = new DrainReporter({ json: o.json });
    if (admin) await viaAdmin(o, reporter);
    else await viaSidecar(o, reporter);
  });
  return cmd;
}
