/**
 * Kong's `trusted_ips`: the load balancers whose `X-Forwarded-*` headers
 * gw believes. From anyone else they are replaced by gw's own view.
 */
import { BlockList, isIP } from 'node:net';
import { GwError } from '../errors.js';

/** Compile `10.0.0.0/8,192.168.1.10,::1` into a matcher; throws GW_ERR_CONFIG_INVALID naming a bad entry. */
export function compileTrusted(entries: readonly string[], where = '--trusted-ips'): BlockList | null {
  const list = new BlockList();
  let n = 0;
  for (const raw of entries) {
    const e = raw.trim();
    if (e === '') continue;
    const [addr, bits, extra] = e.split('/');
    const family = isIP(addr ?? '');
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (
      extra !== undefined ||
      family === 0 ||
      !Number.isInteger(prefix) ||
      prefix < 0 ||
      prefix > (family === 6 ? 128 : 32) ||
      (bits !== undefined && !/^\d+$/.test(bits))
    ) {
      throw new GwError('GW_ERR_CONFIG_INVALID', [`${where}: '${e}' is not an IP address or CIDR (e.g. 10.0.0.0/8)`]);
    }
    list.addSubnet(addr!, prefix, family === 6 ? 'ipv6' : 'ipv4');
    n++;
  }
  return n === 0 ? null : list;
}

/** Whether the peer at `ip` is trusted (IPv4-mapped IPv6 peers are checked as IPv4). */
export function isTrusted(list: BlockList | null, ip: string): boolean {
  if (list === null || ip === '') return false;
  const v4 = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : null;
  return v4 !== null ? list.check(v4, 'ipv4') : list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
}
