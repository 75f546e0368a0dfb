/**
 * Where this instance is reachable and who it is: ECS task metadata v4
 * (awsvpc IPv4, task ARN, family:revision), else the `host` option /
 * GW_HOST, else the first non-internal IPv4 address.
 */
import { randomBytes } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { request } from 'undici';

export interface Identity {
  host: string;
  instanceId: string;
  deployment: string;
}

interface EcsTask {
  TaskARN?: string;
  Family?: string;
  Revision?: string;
  Containers?: { Networks?: { NetworkMode?: string; IPv4Addresses?: string[] }[] }[];
}

export async function ecsTask(env: NodeJS.ProcessEnv = process.env): Promise<EcsTask | undefined> {
  const uri = env.ECS_CONTAINER_METADATA_URI_V4;
  if (!uri) return undefined;
  const r = await request(`${uri}/task`, { headersTimeout: 2000, bodyTimeout: 2000 });
  if (r.statusCode !== 200) {
    await r.body.dump();
    throw new Error(`ECS task metadata answered ${r.statusCode}`);
  }
  return (await r.body.json()) as EcsTask;
}

function firstIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

export async function detectIdentity(
  opts: { host?: string | undefined; instanceId?: string | undefined; deployment?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Promise<Identity> {
  const task = await ecsTask(env);
  const ecsIp = task?.Containers?.flatMap((c) => c.Networks ?? []).find((n) => (n.IPv4Addresses?.length ?? 0) > 0)?.IPv4Addresses?.[0];
  const host = opts.host ?? ecsIp ?? firstIPv4();
  if (!host) throw new Error("gw register(): cannot detect this instance's address; set the `host` option or GW_HOST");
  return {
    host,
    instanceId: opts.instanceId ?? task?.TaskARN ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    deployment: opts.deployment ?? (task?.Family ? `${task.Family}:${task.Revision ?? '0'}` : 'default'),
  };
}
