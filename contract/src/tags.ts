/**
 * The tags gw writes on Kong entities, in one place: the contract between
 * the registration side (SDK, agent), which writes and reads them, and the
 * gateway (Cloud Map discovery, the dashboard), which reads and writes the
 * same ones. Kong tags may not
 * contain `,`, `/` or spaces (an ECS task ARN has `/`), so values are
 * percent-encoded for those characters; {@link tagValue} decodes.
 */

/** Tag prefixes. Targets: instance, deployment, drained. Services and upstreams: deployment, deployment-at. Services: seen, previous, rolled-back. Upstreams: drained-away. */
export const TAG = {
  gw: 'gw',
  instance: 'gw-instance:',
  deployment: 'gw-deployment:',
  deploymentAt: 'gw-deployment-at:',
  service: 'gw-service:',
  seen: 'gw-seen:',
  previous: 'gw-previous:',
  rolledBack: 'gw-rolled-back:',
  /** targets: an operator drained this target (`gw-agent drain`/`deregister`); its SDK must not undo it (drain.ts) */
  drained: 'gw-drained',
  /** upstreams: `gw-drained:<target>@<created_at>`, a target an operator drained and deleted (drain.ts) */
  drainedAway: 'gw-drained:',
} as const;

/** Encode a value so that `prefix + value` is a valid Kong tag. */
export function tagSafe(value: string): string {
  return value.replace(/[%,/\s]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

export function tag(prefix: string, value: string | number): string {
  return prefix + tagSafe(String(value));
}

/** Inverse of {@link tagSafe}. */
export function untagSafe(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v; // a tag written by hand with a stray '%'
  }
}

/** The decoded value of the first tag with `prefix`, if any. */
export function tagValue(tags: readonly string[] | null | undefined, prefix: string): string | undefined {
  const t = (tags ?? []).find((x) => x.startsWith(prefix));
  return t === undefined ? undefined : untagSafe(t.slice(prefix.length));
}

/** Every decoded value of tags with `prefix`. */
export function tagValues(tags: readonly string[] | null | undefined, prefix: string): string[] {
  return (tags ?? []).filter((x) => x.startsWith(prefix)).map((t) => untagSafe(t.slice(prefix.length)));
}

/** `tags` without those starting with any of `prefixes`. */
export function withoutTags(tags: readonly string[] | null | undefined, ...prefixes: string[]): string[] {
  return (tags ?? []).filter((t) => !prefixes.some((p) => t === p || (p.endsWith(':') && t.startsWith(p))));
}
