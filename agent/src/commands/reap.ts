/**
 * `gw-agent reap`: Kong hygiene once. Removes gw-tagged targets of an
 * upstream that stay unhealthy for --reap-after: it looks every --interval
 * for that long (Kong keeps no health history, so "unhealthy since" starts
 * at the first look), and stops early when nothing is unhealthy. With
 * --reap-after 0 it removes what is unhealthy now, in one look.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { adminClient, requireUpstream, upstreamOfService } from '../admin.js';
import { UsageError } from '../errors.js';
import { ADMIN_FLAGS, addFlags, CONFIG_FLAG, duration, formatDuration, JSON_FLAG, resolve, url, type FlagSpec } from '../options.js';
import { Reaper } from '../reaper.js';

export const REAP_FLAGS: FlagSpec[] = [
  ...ADMIN_FLAGS,
  { key: 'service', flags: '--service <name>', help: "reap in this service's upstream" },
  { key: 'upstream', flags: '--upstream <name>', help: 'reap in this upstream' },
  {
    key: 'reapAfter',
    flags: '--reap-after <duration>',
    env: 'GW_REAP_AFTER',
    help: 'remove targets unhealthy for at least this long (0: unhealthy now)',
  },
  { key: 'interval', flags: '--interval <duration>', help: 'time between looks while waiting', def: '1s' },
  JSON_FLAG,
  CONFIG_FLAG,
];

const schema = z.object({
  adminUrl: url,
  adminToken: z.string().min(1).optional(),
  service: z.string().min(1).optional(),
  upstream: z.string().min(1).optional(),
  reapAfter: duration,
  interval: duration.pipe(z.number().min(50, 'must be at least 50ms')).default('1s'),
  json: z.boolean().default(false),
  config: z.string().optional(),
});

export function reapCommand(): Command {
  const cmd = new Command('reap').description(
    'Kong hygiene, once: remove gw-tagged targets of an upstream that stay unhealthy for --reap-after.',
  );
  addFlags(cmd, REAP_FLAGS);
  cmd.addHelpText(
    'after',
    `
Examples:
  gw-agent reap --admin-url http://kong:8001 --service users --reap-after 0      # unhealthy now
  gw-agent reap --admin-url http://kong:8001 --upstream users.upstream --reap-after 30s

Only targets tagged "gw" (registered by gw) are touched. It runs at most --reap-after + one --interval
and stops early when no target is unhealthy. The sidecar does the same continuously with gw-agent run --reap-after.`,
  );
  cmd.action(async () => {
    const o = resolve(cmd, REAP_FLAGS, schema);
    if (o.service && o.upstream) throw new UsageError('--upstream and --service: give one of them, not both');
    if (!o.service && !o.upstream) throw new UsageError('--upstream or --service: required');
    const admin = adminClient(o);
    let upstream: string;
    if (o.upstream) {
      upstream = o.upstream;
      await requireUpstream(admin, upstream);
    } else upstream = await upstreamOfService(admin, o.service!);
    const reaper = new Reaper({ admin, upstream, reapAfterMs: o.reapAfter });
    const started = Date.now();
    // bounded: --reap-after plus one --interval
    const deadline = started + o.reapAfter + o.interval;
    let last;
    for (;;) {
      last = await reaper.sweep();
      if (o.json)
        process.stdout.write(
          JSON.stringify({
            event: 'sweep',
            upstream,
            checked: last.checked,
            reaped: last.reaped,
            unhealthy: last.unhealthy.map((u) => ({ target: u.target, for_ms: u.forMs })),
            elapsed_ms: Date.now() - started,
          }) + '\n',
        );
      if (last.unhealthy.length === 0 || Date.now() >= deadline) break;
      // look again when the next target is due, or after --interval
      const due = Math.min(...last.unhealthy.map((u) => o.reapAfter - u.forMs));
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(o.interval, due, deadline - Date.now()))));
    }
    const reaped = [...reaper.reaped].sort();
    if (o.json)
      process.stdout.write(
        JSON.stringify({ event: 'done', upstream, reaped, still_unhealthy: last.unhealthy.map((u) => u.target) }) + '\n',
      );
    const limit = o.reapAfter === 0 ? 'unhealthy now' : `unhealthy for ${formatDuration(o.reapAfter)}`;
    if (reaped.length)
      process.stderr.write(
        `gw-agent reap: removed ${reaped.length} target${reaped.length === 1 ? '' : 's'} of upstream ${upstream} (${limit}): ${reaped.join(', ')}\n`,
      );
    else
      process.stderr.write(
        `gw-agent reap: nothing to reap: no gw target of upstream ${upstream} was ${limit}${last.unhealthy.length ? ` (${last.unhealthy.length} unhealthy for less)` : ''}\n`,
      );
  });
  return cmd;
}
