/**
 * `gw-agent promote` / `gw-agent rollback`: blue-green switches, thin over
 * the SDK's promote()/rollback() (sdk/src/blue-green.ts).
 */
import { Command } from 'commander';
import { z } from 'zod';
import { promote, rollback, type SwitchResult } from '../../../sdk/src/blue-green.js';
import { isGwSdkError } from '../../../sdk/src/errors.js';
import { KongAdmin } from '../../../sdk/src/kong-admin.js';
import { asAgentError } from '../admin.js';
import { AgentError } from '../errors.js';
import { ADMIN_FLAGS, addFlags, CONFIG_FLAG, JSON_FLAG, resolve, url, type FlagSpec } from '../options.js';

const SERVICE: FlagSpec = { key: 'service', flags: '--service <name>', help: 'the service to switch' };

async function sdkCall(
  adminUrl: string,
  adminToken: string | undefined,
  what: string,
  fn: () => Promise<SwitchResult>,
): Promise<SwitchResult> {
  try {
    return await fn();
  } catch (err) {
    // the SDK's own errors carry a stable code; their message is the reason
    if (isGwSdkError(err)) throw new AgentError('failed', `${err.message} (${err.code})`);
    throw asAgentError(new KongAdmin(adminUrl, adminToken), what, err);
  }
}

function report(cmd: string, r: SwitchResult, json: boolean, done: string): void {
  if (json)
    process.stdout.write(JSON.stringify({ service: r.service, upstream: r.upstream, previous: r.previous, changed: r.changed }) + '\n');
  process.stderr.write(
    `gw-agent ${cmd}: ${r.changed ? `${done}: service ${r.service} now uses upstream ${r.upstream} (was ${r.previous})` : `nothing to change: service ${r.service} already uses upstream ${r.upstream}`}\n`,
  );
}

export const PROMOTE_FLAGS: FlagSpec[] = [
  ...ADMIN_FLAGS,
  SERVICE,
  { key: 'deployment', flags: '--deployment <name>', help: 'the deployment to make live' },
  { key: 'force', flags: '--force', help: 'switch even if the deployment has no healthy target' },
  JSON_FLAG,
  CONFIG_FLAG,
];

export function promoteCommand(): Command {
  const cmd = new Command('promote').description(
    "Blue-green: point the service at a deployment's upstream (it needs a healthy target unless --force).",
  );
  addFlags(cmd, PROMOTE_FLAGS);
  cmd.addHelpText(
    'after',
    `
Examples:
  gw-agent promote --admin-url http://gateway:8001 --service users --deployment users:42
  gw-agent promote --admin-url http://gateway:8001 --service users --deployment users:42 --force --json

Instances run with --mode blue-green (or register({ mode: 'blue-green' })) register into <service>.<deployment>.upstream.`,
  );
  cmd.action(async () => {
    const o = resolve(
      cmd,
      PROMOTE_FLAGS,
      z.object({
        adminUrl: url,
        adminToken: z.string().min(1).optional(),
        service: z.string().min(1),
        deployment: z.string().min(1),
        force: z.boolean().default(false),
        json: z.boolean().default(false),
        config: z.string().optional(),
      }),
    );
    const r = await sdkCall(o.adminUrl, o.adminToken, 'promote', () =>
      promote({ adminUrl: o.adminUrl, adminToken: o.adminToken, service: o.service, deployment: o.deployment, force: o.force }),
    );
    report('promote', r, o.json, `promoted deployment ${o.deployment}`);
  });
  return cmd;
}

export const ROLLBACK_FLAGS: FlagSpec[] = [...ADMIN_FLAGS, SERVICE, JSON_FLAG, CONFIG_FLAG];

export function rollbackCommand(): Command {
  const cmd = new Command('rollback').description(
    'Blue-green: point the service back at the upstream that was live before the last switch.',
  );
  addFlags(cmd, ROLLBACK_FLAGS);
  cmd.addHelpText(
    'after',
    `
Examples:
  gw-agent rollback --admin-url http://gateway:8001 --service users

The deployment taken out is marked so its instances do not promote it again by themselves; an explicit promote clears that.`,
  );
  cmd.action(async () => {
    const o = resolve(
      cmd,
      ROLLBACK_FLAGS,
      z.object({
        adminUrl: url,
        adminToken: z.string().min(1).optional(),
        service: z.string().min(1),
        json: z.boolean().default(false),
        config: z.string().optional(),
      }),
    );
    const r = await sdkCall(o.adminUrl, o.adminToken, 'rollback', () =>
      rollback({ adminUrl: o.adminUrl, adminToken: o.adminToken, service: o.service }),
    );
    report('rollback', r, o.json, 'rolled back');
  });
  return cmd;
}
