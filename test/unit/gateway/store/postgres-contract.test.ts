/** The Store contract against the PostgreSQL store (the real server; a database per test). */
import { PostgresStore } from '../../../../gateway/src/store/postgres.js';
import type { Store } from '../../../../gateway/src/store/store.js';
import { createTestDatabase } from '../../../helpers/postgres.js';
import { persistentStoreContract, storeContract, type StoreFactory } from './contract.js';

const factory: StoreFactory = async (t, opts) => {
  const db = await createTestDatabase();
  let store = new PostgresStore({ url: db.url, ...opts, pollMs: 200 });
  t.after(async () => {
    await store.close();
    await db.drop();
  });
  await store.open();
  const reopen = async (): Promise<Store> => {
    await store.close();
    store = new PostgresStore({ url: db.url, ...opts, pollMs: 200 });
    await store.open();
    return store;
  };
  return { store, reopen };
};

storeContract('postgres', factory);
persistentStoreContract('postgres', factory);
