/**
 * Declarative configuration at run time: load `--config` at start, re-read it
 * on SIGHUP and apply the difference, apply a whole document (`POST /config`,
 * Kong DB-less) and export the configuration (`GET /config`).
 *
 * Registered entities (tagged `gw`: the SDK's and agent's targets and the
 * shared service, routes and upstream they create) are never touched by a
 * reload and are left out of exports unless asked for; an entity a kept one
 * still references (the upstream of a registered target, the service of a
 * kept route) is kept too. Every change is one atomic store write. Entities
 * Cloud Map discovery wrote (tag `gw-source:cloudmap`) are never exported,
 * not even with `include_registered`.
 */
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { AnyEntity, EntityKind, Route, Target } from '../entities/types.js';
import { GwError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Store, WriteOp } from '../store/store.js';
import { clashInSource, declarativeToOps, loadDeclarativeFile, parseFailure } from './declarative.js';
import { CLOUDMAP_SOURCE_TAG } from '../discovery/cloudmap-mapping.js';

const KINDS: readonly EntityKind[] = ['services', 'routes', 'upstreams', 'targets'];
/** delete order: children before parents */
const DELETE_ORDER: readonly EntityKind[] = ['targets', 'routes', 'upstreams', 'services'];

export const isRegistered = (e: AnyEntity): boolean => ((e as { tags?: string[] | null }).tags ?? []).includes('gw');
/** written by Cloud Map discovery: never exported (Cloud Map is their source; a file that carried them would fight it) */
const isDiscovered = (e: AnyEntity): boolean => ((e as { tags?: string[] | null }).tags ?? []).includes(CLOUDMAP_SOURCE_TAG);

export interface ApplySummary {
  /** entities written (created or updated) */
  upserted: number;
  /** entities removed */
  deleted: number;
  /** registered entities left as they were */
  keptRegistered: number;
}

/**
 * What `POST /config` loaded, as Kong's 201 body has it (kong/api/routes/config.lua,
 * `declarative.sanitize_output`): per entity type, id → the entity as stored,
 * nested entities flattened beside their parents (a route's `service: { id }`).
 * Only the types the document has; registered entities it kept are not in it.
 */
export type AppliedEntities = Partial<Record<EntityKind, Record<string, AnyEntity>>>;

export interface DeclarativeConfigOptions {
  store: Store;
  logger: Logger;
  /** the `--config` file, if any */
  file?: string | undefined;
  kongOnly?: boolean | undefined;
  /** serialises with other read-check-write sequences (the admin write lock) */
  exclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
  now?: () => number;
}

export class DeclarativeConfig {
  readonly #o: DeclarativeConfigOptions;
  /** ids of the entities the last file load or document wrote */
  #owned = new Set<string>();

  constructor(opts: DeclarativeConfigOptions) {
    this.#o = opts;
  }

  get file(): string | undefined {
    return this.#o.file;
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now() / 1000;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#o.exclusive ? this.#o.exclusive(fn) : fn();
  }

  /** Start-up: upsert the file's entities (entities made through the Admin API are kept). */
  async loadAtStart(): Promise<number> {
    if (!this.#o.file) return 0;
    const file = this.#o.file;
    const ops = await loadDeclarativeFile(file, { now: this.#now(), kongOnly: this.#o.kongOnly });
    await this.#exclusive(() => this.#o.store.apply(ops)).catch((err: unknown) => {
      throw clashInSource(err, file);
    });
    this.#owned = idsOf(ops);
    return ops.length;
  }

  /**
   * SIGHUP: re-read the file and apply the difference: its entities upserted,
   * entities the previous version had and this one lacks removed. A bad file
   * changes nothing (the error names the file).
   */
  async reloadFile(): Promise<ApplySummary> {
    const file = this.#o.file;
    if (!file) throw new GwError('GW_ERR_CONFIG_FILE', ['(none)', 'no --config file to reload']);
    const ops = await loadDeclarativeFile(file, { now: this.#now(), kongOnly: this.#o.kongOnly });
    return this.#exclusive(async () => {
      const plan = this.#plan(ops, (e) => this.#owned.has(e.id));
      await this.#o.store.apply(plan.ops).catch((err: unknown) => {
        throw clashInSource(err, file);
      });
      this.#owned = idsOf(ops);
      return plan.summary;
    });
  }

  /**
   * `POST /config`: the document becomes the configuration, as in Kong DB-less:
   * every entity not in it is removed, except registered ones (and what they need).
   */
  async applyDocument(doc: unknown, source = 'POST /config'): Promise<ApplySummary & { entities: AppliedEntities }> {
    const ops = declarativeToOps(doc, source, { now: this.#now(), kongOnly: this.#o.kongOnly });
    return this.#exclusive(async () => {
      const plan = this.#plan(ops, () => true);
      await this.#o.store.apply(plan.ops);
      this.#owned = idsOf(ops);
      const entities: AppliedEntities = {};
      for (const op of ops) {
        if (op.op !== 'put') continue;
        // as stored (the store keeps created_at of an entity it already had)
        const e = this.#o.store.get(op.kind, op.entity.id) ?? op.entity;
        (entities[op.kind] ??= {})[e.id] = e;
      }
      return { ...plan.summary, entities };
    });
  }

  /** The configuration as a Kong declarative document (flat form, ids kept). */
  export(opts: { includeRegistered?: boolean } = {}): Record<string, unknown> {
    const doc: Record<string, unknown> = { _format_version: '3.0' };
    const s = this.#o.store;
    const all = opts.includeRegistered === true;
    const keep = (e: AnyEntity) => !isDiscovered(e) && (all || !isRegistered(e));
    const services = s.all('services').filter(keep);
    const serviceIds = new Set(services.map((e) => e.id));
    const upstreams = s.all('upstreams').filter(keep);
    const upstreamIds = new Set(upstreams.map((e) => e.id));
    // an exported entity never points at one left out (the file must load on its own)
    const routes = s.all('routes').filter((r) => keep(r) && (r.service === null || serviceIds.has(r.service.id)));
    const targets = s.all('targets').filter((t) => keep(t) && upstreamIds.has(t.upstream.id));
    const lists: [EntityKind, readonly AnyEntity[]][] = [
      ['services', services],
      ['routes', routes],
      ['upstreams', upstreams],
      ['targets', targets],
    ];
    for (const [kind, list] of lists) if (list.length > 0) doc[kind] = list.map((e) => ({ ...e }));
    return doc;
  }

  /**
   * Writes that make the store hold `ops`' entities and drop every entity
   * `mayRemove` selects that `ops` lacks, keeping registered entities and
   * whatever a kept entity references.
   */
  #plan(ops: readonly WriteOp[], mayRemove: (e: AnyEntity) => boolean): { ops: WriteOp[]; summary: ApplySummary } {
    const s = this.#o.store;
    const wanted = idsOf(ops);
    const remove = new Set<string>();
    let keptRegistered = 0;
    for (const kind of KINDS) {
      for (const e of s.all(kind) as readonly AnyEntity[]) {
        if (wanted.has(e.id)) continue;
        if (isRegistered(e)) keptRegistered++;
        else if (mayRemove(e)) remove.add(e.id);
      }
    }
    // keep what surviving entities reference (a route's service, a target's upstream)
    const routeService = (r: Route) => r.service?.id;
    for (const r of s.all('routes')) if (!remove.has(r.id)) unremove(remove, routeService(r));
    for (const op of ops) if (op.op === 'put' && op.kind === 'routes') unremove(remove, routeService(op.entity as Route));
    for (const t of s.all('targets')) if (!remove.has(t.id)) unremove(remove, (t as Target).upstream.id);
    const writes: WriteOp[] = [];
    for (const kind of DELETE_ORDER)
      for (const e of s.all(kind) as readonly AnyEntity[]) if (remove.has(e.id)) writes.push({ op: 'delete', kind, id: e.id });
    writes.push(...ops);
    return { ops: writes, summary: { upserted: ops.length, deleted: remove.size, keptRegistered } };
  }
}

function unremove(remove: Set<string>, id: string | undefined): void {
  if (id !== undefined) remove.delete(id);
}

function idsOf(ops: readonly WriteOp[]): Set<string> {
  return new Set(ops.filter((o) => o.op === 'put').map((o) => (o as { entity: AnyEntity }).entity.id));
}

/**
 * The body of `POST /config`: a document object, or `{ config: "<YAML or JSON text>" }`
 * (JSON body or form field), or YAML/JSON text. Throws GW_ERR_CONFIG_FILE on unreadable text.
 */
export function documentOf(body: unknown): unknown {
  const text = typeof body === 'string' ? body : isObj(body) && typeof body.config === 'string' ? body.config : undefined;
  if (text === undefined) return isObj(body) && isObj(body.config) ? body.config : body;
  try {
    return parseYaml(text);
  } catch (err) {
    throw parseFailure('POST /config', (err as Error).message.split('\n')[0]!);
  }
}

export function exportText(doc: Record<string, unknown>, format: 'yaml' | 'json'): string {
  return format === 'json' ? JSON.stringify(doc, null, 2) : toYaml(doc);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
