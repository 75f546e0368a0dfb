/**
 * The conflict rule between deployments: **newest deployment wins**.
 *
 * Instances of different deployments may declare different settings for the
 * objects they share (the service, its routes, the rolling upstream). Every
 * such object carries the stamp of the deployment that last wrote it
 * (`gw-deployment:<d>`, `gw-deployment-at:<epoch ms>`). A deployment's time
 * is the moment the gateway first saw it: the first instance of a
 * deployment the service does not know stamps it later than every
 * deployment it knows (so clock skew between hosts cannot reorder them) and
 * records it in the service's ledger (`gw-seen:<d>@<ms>`, the newest
 * {@link LEDGER_SIZE} kept); every later instance of that deployment finds
 * its time there. Then, per object:
 *
 * - missing → create it;
 * - written by the same deployment → keep it (two instances of one
 *   deployment never flap a setting, even if they disagree);
 * - written by an older deployment, or by no deployment (made by hand or by
 *   an older SDK) → update it;
 * - written by a newer deployment → keep it.
 */
import { tag, TAG, tagValue, untagSafe, withoutTags } from '../../contract/src/tags.js';

/** Which deployment wrote an object, and when that deployment was first seen. */
export interface Stamp {
  deployment: string;
  /** epoch ms */
  at: number;
}

/** Deployments remembered in a service's ledger. */
export const LEDGER_SIZE = 20;

export type WriteDecision = 'create' | 'update' | 'keep';

type Tags = readonly string[] | null | undefined;

/** The stamp on an object, if it carries a complete one. */
export function stampOf(tags: Tags): Stamp | undefined {
  const deployment = tagValue(tags, TAG.deployment);
  const at = Number(tagValue(tags, TAG.deploymentAt));
  return deployment !== undefined && Number.isFinite(at) ? { deployment, at } : undefined;
}

/** > 0 when `a` is newer than `b`; ties on time are broken by name, so the order is total. */
export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.at !== b.at) return a.at - b.at;
  return a.deployment < b.deployment ? -1 : a.deployment > b.deployment ? 1 : 0;
}

/** The rule above, for one object (`undefined`: it does not exist). */
export function decide(existing: { tags?: Tags } | undefined, me: Stamp): WriteDecision {
  if (!existing) return 'create';
  const owner = stampOf(existing.tags);
  if (!owner) return 'update';
  if (owner.deployment === me.deployment) return 'keep';
  return compareStamps(me, owner) > 0 ? 'update' : 'keep';
}

/** `gw-seen:<d>@<ms>` entries of a service. */
export function ledger(tags: Tags): Stamp[] {
  const out: Stamp[] = [];
  for (const t of tags ?? []) {
    if (!t.startsWith(TAG.seen)) continue;
    const v = t.slice(TAG.seen.length);
    const at = v.lastIndexOf('@');
    const ms = Number(v.slice(at + 1));
    if (at > 0 && Number.isFinite(ms)) out.push({ deployment: untagSafe(v.slice(0, at)), at: ms });
  }
  return out;
}

/**
 * This deployment's stamp: from the service's ledger or owner stamp, or
 * from `known` (e.g. its own blue-green upstream); else it is new, and
 * newer than everything the service knows.
 */
export function resolveStamp(serviceTags: Tags, deployment: string, known: (Stamp | undefined)[] = [], now = Date.now()): Stamp {
  const all = [...ledger(serviceTags), stampOf(serviceTags), ...known].filter((s): s is Stamp => s !== undefined);
  const mine = all.find((s) => s.deployment === deployment);
  if (mine) return { deployment, at: mine.at };
  const latest = all.reduce((m, s) => Math.max(m, s.at), 0);
  return { deployment, at: Math.max(now, latest + 1) };
}

/** `existing` tags with our stamp (and `gw`) in place of any other stamp; other tags kept. */
export function stampTags(existing: Tags, s: Stamp): string[] {
  return [
    'gw',
    ...withoutTags(existing, TAG.gw, TAG.deployment, TAG.deploymentAt),
    tag(TAG.deployment, s.deployment),
    tag(TAG.deploymentAt, s.at),
  ];
}

/** `existing` service tags with `s` recorded in the ledger (newest {@link LEDGER_SIZE} kept). */
export function withLedger(existing: Tags, s: Stamp): string[] {
  const entries = [...ledger(existing).filter((e) => e.deployment !== s.deployment), s]
    .sort((a, b) => compareStamps(b, a))
    .slice(0, LEDGER_SIZE);
  return [...withoutTags(existing, TAG.seen), ...entries.map((e) => `${tag(TAG.seen, e.deployment)}@${e.at}`)];
}
