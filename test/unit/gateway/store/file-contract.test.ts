/** The Store contract against the file store (and durability across reopen). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../../../gateway/src/store/file.js';
import type { Store } from '../../../../gateway/src/store/store.js';
import { persistentStoreContract, storeContract, type StoreFactory } from './contract.js';

const factory: StoreFactory = async (t, opts) => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-store-contract-'));
  let store = new FileStore(dir, opts);
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  await store.open();
  const reopen = async (): Promise<Store> => {
    await store.close();
    store = new FileStore(dir, opts);
    await store.open();
    return store;
  };
  return { store, reopen };
};

storeContract('file', factory);
persistentStoreContract('file', factory);
