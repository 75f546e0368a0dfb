/**
 * `gw-agent status`: the local sidecar's state (via --control-url), or a
 * table of the targets of a service's upstream (or --upstream): target,
 * deployment, weight, state, in-flight, lease left. `--json` for machines.
 */
import { Command } from 'commander';
import { z } from 'zod';
import type { TargetHealth } from '../../../sdk/src/drain.js';
import { adminClient, deploymentOf, gatewayKind, instanceOf, requireUpstream, targetsWithHealth, upstreamOfService } from '../admin.js';
import { AgentError, UsageError } from '../errors.js';
import {
  ADMIN_FLAGS,
  addFlags,
  CONFIG_FLAG,
  CONTROL_URL_FLAG,
  formatDuration,
  JSON_FLAG,
  resolve,
  url,
  type FlagSpec,
} from '../options.js';

export const STATUS_FLAGS: FlagSpec[] = [
  ...ADMIN_FLAGS,
  CONTROL_URL_FLAG,
  { key: 'service', flags: '--service <name>', help: "show the targets of this service's upstream" },
  { key: 'upstream', flags: '--upstream <name>', help: 'show the targets of this upstream' },
  JSON_FLAG,
  CONFIG_FLAG,
];

const schema = z.object({
  adminUrl: url.optional(),
  adminToken: z.string().min(1).optional(),
  controlUrl: url.default('http://127.0.0.1:9901'),
  service: z.string().min(1).optional(),
  upstream: z.string().min(1).optional(),
  json: z.boolean().default(false),
  config: z.string().optional(),
});

export interface TargetRow {
  target: string;
  deployment: string | null;
  instance: string | null;
  weight: number;
  state: string;
  health: string | null;
  in_flight: number | null;
  lease_left_ms: number | null;
}

export function toRow(h: TargetHealth, now = Date.now()): TargetRow {
  const expires = h.gw?.lease_expires_at;
  return {
    target: h.target,
    deployment: deploymentOf(h.tags) ?? null,
    instance: instanceOf(h.tags) ?? null,
    weight: h.weight,
    // gw's runtime state, else Kong's health words
    state: h.gw?.state ?? (h.weight === 0 ? 'weight 0' : (h.health ?? 'unknown').toLowerCase()),
    health: h.health ?? null,
    in_flight: h.gw ? h.gw.active_requests : null,
    lease_left_ms: typeof expires === 'number' ? Math.max(0, Math.round(expires * 1000 - now)) : null,
  };
}

export function table(rows: TargetRow[]): string {
  const head = ['TARGET', 'DEPLOYMENT', 'WEIGHT', 'STATE', 'IN-FLIGHT', 'LEASE-LEFT'];
  const cells = rows.map((r) => [
    r.target,
    r.deployment ?? '-',
    String(r.weight),
    r.state,
    r.in_flight === null ? '-' : String(r.in_flight),
    r.lease_left_ms === null ? '-' : formatDuration(Math.round(r.lease_left_ms / 1000) * 1000),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [head, ...cells].map((c) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** A sidecar status value as text: scalars as they are, objects as JSON (not `[object Object]`). */
const show = (v: unknown): string => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));

async function sidecarStatus(o: z.output<typeof schema>): Promise<void> {
  let body: Record<string, unknown>;
  try {
    const r = await fetch(new URL('/', o.controlUrl));
    body = (await r.json()) as Record<string, unknown>;
  } catch (err) {
    const e = err as Error & { cause?: NodeJS.ErrnoException };
    throw new AgentError(
      'sidecar',
      `cannot reach the sidecar at ${o.controlUrl} (--control-url): ${e.cause?.code ?? e.message}; give --service or --upstream to read the gateway`,
    );
  }
  if (o.json) {
    process.stdout.write(JSON.stringify(body) + '\n');
    return;
  }
  const app = (body.app ?? {}) as Record<string, unknown>;
  const lines: [string, unknown][] = [
    ['state', body.state],
    ['service', body.service],
    ['upstream', body.upstream],
    ['target', body.target],
    ['weight', body.weight],
    ['deployment', body.deployment],
    ['gateway', body.gateway],
    [
      'app health',
      app.health_path
        ? `${app.healthy === null ? 'not checked yet' : app.healthy ? 'healthy' : 'failing'} (${show(app.health_path)})`
        : 'not checked (no --health-path)',
    ],
  ];
  process.stdout.write(lines.map(([k, v]) => `${k.padEnd(11)} ${v === null || v === undefined ? '-' : show(v)}`).join('\n') + '\n');
}

export function statusCommand(): Command {
  const cmd = new Command('status').description(
    "Show the local sidecar's state, or the targets of a service or upstream with state and in-flight requests.",
  );
  addFlags(cmd, STATUS_FLAGS);
  cmd.addHelpText(
    'after',
    `
Examples:
  gw-agent status                                             # the local sidecar (--control-url)
  gw-agent status --admin-url http://gateway:8001 --service users
  gw-agent status --admin-url http://gateway:8001 --upstream users.upstream --json

STATE is gw's runtime state (warming, healthy, unhealthy, draining, ejected); on Kong, its health words.
IN-FLIGHT and LEASE-LEFT are gw only ("-" on Kong).`,
  );
  cmd.action(async () => {
    const o = resolve(cmd, STATUS_FLAGS, schema);
    if (o.service && o.upstream) throw new UsageError('--upstream and --service: give one of them, not both');
    if (!o.service && !o.upstream) return sidecarStatus(o);
    const admin = adminClient(o);
    const gateway = await gatewayKind(admin);
    let upstream: string;
    if (o.upstream) {
      upstream = o.upstream;
      await requireUpstream(admin, upstream);
    } else upstream = await upstreamOfService(admin, o.service!);
    const rows = (await targetsWithHealth(admin, upstream)).map((h) => toRow(h)).sort((a, b) => a.target.localeCompare(b.target));
    if (o.json) {
      process.stdout.write(JSON.stringify({ upstream, gateway, targets: rows }) + '\n');
      return;
    }
    process.stdout.write(`upstream ${upstream} (${gateway}): ${rows.length} target${rows.length === 1 ? '' : 's'}\n`);
    if (rows.length) process.stdout.write(table(rows));
  });
  return cmd;
}
