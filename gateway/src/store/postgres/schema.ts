/**
 * The PostgreSQL schema and its migrations. `migrate()` runs at start under
 * a transaction-level advisory lock, so several nodes starting at once apply
 * each migration exactly once; a node refuses a schema newer than it knows.
 *
 * Tables (all prefixed `gw_`):
 * - `gw_meta`: one row, the store `revision` (the last committed change) and
 *   the schema `version`;
 * - `gw_services`, `gw_routes`, `gw_upstreams`, `gw_targets`: one row per
 *   entity, the entity as `jsonb`, its unique key and foreign key as columns
 *   (constraints enforced by the database too, deferred to commit), the
 *   revision it was written at, and `created_rev` for insertion order;
 * - `gw_leases`: one row per leased target: lease end (database clock, Unix
 *   seconds) and `seq` from `gw_lease_seq` (what other nodes poll);
 *   renewals update only this row (HOT updates, fillfactor 70);
 * - `gw_changes`: every committed change by revision (the catch-up log,
 *   Kong's cluster_events), pruned by age;
 * - `gw_nodes`: one row per gateway node (heartbeat, revision, in-flight).
 */
import type pg from 'pg';
import { GwError } from '../../errors.js';

/** The schema version this code knows. */
export const SCHEMA_VERSION = 1;
/** Advisory lock keys (a fixed namespace: 0x67770000 = "gw\0\0"). */
export const LOCK_MIGRATE = 0x67770001;
export const LOCK_WRITE = 0x67770002;
export const LOCK_SWEEP = 0x67770003;
/** session lock: the node holding it polls AWS Cloud Map (discovery/cloudmap.ts) */
export const LOCK_CLOUDMAP = 0x67770004;

const MIGRATIONS: readonly string[] = [
  // 1: the first schema
  `
  CREATE TABLE gw_meta (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    version integer NOT NULL,
    revision bigint NOT NULL DEFAULT 0
  );
  INSERT INTO gw_meta (version, revision) VALUES (1, 0);
  CREATE TABLE gw_services (
    id text PRIMARY KEY,
    name text UNIQUE DEFERRABLE INITIALLY DEFERRED,
    revision bigint NOT NULL,
    created_rev bigint NOT NULL,
    body jsonb NOT NULL
  );
  CREATE TABLE gw_upstreams (
    id text PRIMARY KEY,
    name text UNIQUE DEFERRABLE INITIALLY DEFERRED,
    revision bigint NOT NULL,
    created_rev bigint NOT NULL,
    body jsonb NOT NULL
  );
  CREATE TABLE gw_routes (
    id text PRIMARY KEY,
    name text UNIQUE DEFERRABLE INITIALLY DEFERRED,
    service_id text REFERENCES gw_services (id) DEFERRABLE INITIALLY DEFERRED,
    revision bigint NOT NULL,
    created_rev bigint NOT NULL,
    body jsonb NOT NULL
  );
  CREATE INDEX gw_routes_service ON gw_routes (service_id);
  CREATE TABLE gw_targets (
    id text PRIMARY KEY,
    upstream_id text NOT NULL REFERENCES gw_upstreams (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    target text NOT NULL,
    revision bigint NOT NULL,
    created_rev bigint NOT NULL,
    body jsonb NOT NULL,
    UNIQUE (upstream_id, target) DEFERRABLE INITIALLY DEFERRED
  );
  CREATE SEQUENCE gw_lease_seq;
  CREATE TABLE gw_leases (
    target_id text PRIMARY KEY REFERENCES gw_targets (id) ON DELETE CASCADE,
    lease_end double precision NOT NULL,
    seq bigint NOT NULL
  ) WITH (fillfactor = 70);
  CREATE INDEX gw_leases_seq ON gw_leases (seq);
  CREATE TABLE gw_changes (
    revision bigint PRIMARY KEY,
    at double precision NOT NULL,
    op text NOT NULL,
    kind text NOT NULL,
    id text NOT NULL,
    body jsonb NOT NULL,
    lease_end double precision
  );
  CREATE TABLE gw_nodes (
    id text PRIMARY KEY,
    hostname text NOT NULL,
    version text NOT NULL,
    revision bigint NOT NULL DEFAULT 0,
    started_at double precision NOT NULL,
    last_seen double precision NOT NULL
  );
  -- one committed batch: entity rows, lease rows, change rows, the revision, the NOTIFY.
  -- p_changes: [{ r: revision, o: create|update|delete, k: kind, i: id, b: entity }]
  -- p_lease_checked: targets deleted by the lease sweep; each lease must still be over
  -- on the database clock (else SQLSTATE GW409, nothing written)
  CREATE FUNCTION gw_write_v1(p_changes jsonb, p_now double precision, p_lease_checked text[]) RETURNS void
  LANGUAGE plpgsql AS $fn$
  DECLARE
    c jsonb;
    t double precision := coalesce(p_now, extract(epoch FROM clock_timestamp()));
    rev bigint;
    k text;
    i text;
    b jsonb;
    ttl double precision;
    le double precision;
    renewed text;
  BEGIN
    IF coalesce(array_length(p_lease_checked, 1), 0) > 0 THEN
      PERFORM 1 FROM gw_leases WHERE target_id = ANY (p_lease_checked) ORDER BY target_id FOR UPDATE;
      SELECT x.id INTO renewed FROM unnest(p_lease_checked) AS x (id)
        JOIN gw_targets g ON g.id = x.id LEFT JOIN gw_leases l ON l.target_id = x.id
        WHERE l.lease_end IS NULL OR l.lease_end > t LIMIT 1;
      IF renewed IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'GW409', MESSAGE = renewed;
      END IF;
    END IF;
    FOR c IN SELECT value FROM jsonb_array_elements(p_changes) LOOP
      rev := (c->>'r')::bigint; k := c->>'k'; i := c->>'i'; b := c->'b'; le := NULL;
      IF c->>'o' = 'delete' THEN
        CASE k
          WHEN 'services' THEN DELETE FROM gw_services WHERE id = i;
          WHEN 'routes' THEN DELETE FROM gw_routes WHERE id = i;
          WHEN 'upstreams' THEN DELETE FROM gw_upstreams WHERE id = i;
          WHEN 'targets' THEN DELETE FROM gw_targets WHERE id = i;
        END CASE;
      ELSE
        CASE k
          WHEN 'services' THEN
            INSERT INTO gw_services (id, name, revision, created_rev, body) VALUES (i, b->>'name', rev, rev, b)
            ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, revision = EXCLUDED.revision, body = EXCLUDED.body;
          WHEN 'upstreams' THEN
            INSERT INTO gw_upstreams (id, name, revision, created_rev, body) VALUES (i, b->>'name', rev, rev, b)
            ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, revision = EXCLUDED.revision, body = EXCLUDED.body;
          WHEN 'routes' THEN
            INSERT INTO gw_routes (id, name, service_id, revision, created_rev, body) VALUES (i, b->>'name', b->'service'->>'id', rev, rev, b)
            ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, service_id = EXCLUDED.service_id, revision = EXCLUDED.revision, body = EXCLUDED.body;
          WHEN 'targets' THEN
            INSERT INTO gw_targets (id, upstream_id, target, revision, created_rev, body) VALUES (i, b->'upstream'->>'id', b->>'target', rev, rev, b)
            ON CONFLICT (id) DO UPDATE SET upstream_id = EXCLUDED.upstream_id, target = EXCLUDED.target, revision = EXCLUDED.revision, body = EXCLUDED.body;
            ttl := (b->>'ttl')::double precision;
            IF ttl IS NULL THEN
              DELETE FROM gw_leases WHERE target_id = i;
            ELSE
              le := round(((t + ttl) * 1000)::numeric) / 1000;
              INSERT INTO gw_leases (target_id, lease_end, seq) VALUES (i, le, nextval('gw_lease_seq'))
              ON CONFLICT (target_id) DO UPDATE SET lease_end = EXCLUDED.lease_end, seq = EXCLUDED.seq;
            END IF;
        END CASE;
      END IF;
      INSERT INTO gw_changes (revision, at, op, kind, id, body, lease_end) VALUES (rev, t, c->>'o', k, i, b, le);
    END LOOP;
    IF rev IS NOT NULL THEN
      UPDATE gw_meta SET revision = rev;
      PERFORM pg_notify('gw_changes', rev::text);
    END IF;
  END
  $fn$;
  `,
];

/** How long a node waits for the migration lock and for each migration statement. */
export const MIGRATE_WAIT_MS = 60_000;

/** Create or upgrade the schema inside the caller's transaction; safe when several nodes run it at once. Returns the version. */
export async function migrate(client: pg.ClientBase, waitMs = MIGRATE_WAIT_MS): Promise<number> {
  {
    // Another node may hold the lock for its own migration: poll for it instead
    // of one blocking query that the link's short query timeout would cut
    // (several nodes starting at once on a busy database), and give the DDL
    // itself a generous timeout of its own.
    const q = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
      client.query<R>({ text, values, query_timeout: waitMs } as pg.QueryConfig);
    const deadline = Date.now() + waitMs;
    while (!(await q<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [LOCK_MIGRATE])).rows[0]?.ok) {
      if (Date.now() > deadline) throw new Error(`another node held the migration lock for more than ${waitMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const exists = await q<{ t: string | null }>(`SELECT to_regclass('gw_meta')::text AS t`);
    let version = 0;
    if (exists.rows[0]?.t) {
      const r = await q<{ version: number }>('SELECT version FROM gw_meta');
      version = r.rows[0]?.version ?? 0;
    }
    if (version > SCHEMA_VERSION) {
      throw new GwError('GW_ERR_STORE_SCHEMA', [
        `the database schema is version ${version}, newer than this gw-gateway knows (${SCHEMA_VERSION}); upgrade this node, or point it at another database`,
      ]);
    }
    for (let v = version; v < SCHEMA_VERSION; v++) {
      await q(MIGRATIONS[v]!);
      await q('UPDATE gw_meta SET version = $1', [v + 1]);
    }
    return SCHEMA_VERSION;
  }
}
