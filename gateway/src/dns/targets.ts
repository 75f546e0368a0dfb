/**
 * A hostname target as the balancer sees it (Kong's
 * `kong/runloop/balancer/targets.lua`): one entry per resolved address,
 * each balanced and health-checked on its own. An A/AAAA address takes the
 * target's port and weight; an SRV one its record's port (0: the target's)
 * and weight (0 → 1). A weight-0 target stays weight 0 on every address. An
 * IP target is its own only entry (no DNS). A name with no addresses yet
 * (first query running, or failing: DNS_ERROR) contributes no entry.
 */
import { isIP } from 'node:net';
import { splitHostPort } from '../entities/hosts.js';
import type { Target } from '../entities/types.js';
import { DEFAULT_TARGET_PORT, type TargetInput } from '../balancer/target-set.js';
import type { DnsCache } from './resolver.js';

/** The host name of a hostname target (lower case), or undefined for an IP target. */
export function targetHostname(t: Pick<Target, 'target'>): string | undefined {
  const p = splitHostPort(t.target);
  if (!p || p.ipv6 || isIP(p.host) !== 0) return undefined;
  return p.host.toLowerCase().replace(/\.$/, '');
}

/** The id of one address entry of target `targetId`. */
export const addressId = (targetId: string, address: string): string => `${targetId}@${address}`;

/** `t`'s balancer entries: itself for an IP target, else one per address `dns` has for its name (maybe none). */
export function expandTarget(t: Target, dns: DnsCache): TargetInput[] {
  const name = targetHostname(t);
  if (name === undefined) return [t];
  const record = dns.lookup(name)?.record;
  if (!record) return [];
  const p = splitHostPort(t.target);
  const targetPort = p?.port === undefined ? DEFAULT_TARGET_PORT : Number(p.port);
  const seen = new Set<string>();
  const out: TargetInput[] = [];
  for (const a of record.addresses) {
    const port = a.port ?? targetPort;
    const address = isIP(a.ip) === 6 ? `[${a.ip}]:${port}` : `${a.ip}:${port}`;
    if (seen.has(address)) continue;
    seen.add(address);
    const weight = t.weight === 0 ? 0 : (a.weight ?? t.weight);
    out.push({ id: addressId(t.id, address), target: address, weight, targetId: t.id, name });
  }
  return out;
}
