/** The Store contract against the memory store. */
import { MemoryStore } from '../../../../gateway/src/store/memory.js';
import { storeContract } from './contract.js';

storeContract('memory', async (_t, opts) => {
  const store = new MemoryStore(opts);
  await store.open();
  return { store };
});
