/**
 * The real PostgreSQL for tests (127.0.0.1:5432, trust auth, user postgres;
 * `.ci/run` starts it when it is not running). Every call creates its own
 * database, named after the process and a counter, and drops it when the
 * test ends, so runs never see each other's rows.
 */
import pg from 'pg';

const ADMIN_URL = process.env.GW_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
let seq = 0;

export interface TestDatabase {
  url: string;
  name: string;
  drop: () => Promise<void>;
}

/** A URL for `name` on the test server. */
export function pgUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Create an empty database; `t.after` (when given) drops it. */
export async function createTestDatabase(t?: { after: (fn: () => Promise<void>) => void }): Promise<TestDatabase> {
  const name = `gw_test_${process.pid}_${Date.now().toString(36)}_${++seq}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const drop = (): Promise<void> => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined);
  t?.after(drop);
  return { url: pgUrl(name), name, drop };
}

/** Run one query against a test database (to look at rows, or to corrupt them on purpose). */
export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values?: unknown[]): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}
