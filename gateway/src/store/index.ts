/** Store factory: the one place that knows every store type. */
import { GwError } from '../errors.js';
import { FileStore } from './file.js';
import { MemoryStore } from './memory.js';
import type { Store } from './store.js';

export type { Store, ChangeEvent, WriteOp, StoreReset, StoreState, SubscribeOptions } from './store.js';
export { MemoryStore } from './memory.js';
export { FileStore } from './file.js';

export interface StoreSettings {
  store: 'memory' | 'file' | 'postgres';
  dataDir: string;
  pgUrl?: string | undefined;
}

export function createStore(s: StoreSettings): Store {
  switch (s.store) {
    case 'memory':
      return new MemoryStore();
    case 'file':
      return new FileStore(s.dataDir);
    case 'postgres':
      throw new GwError('GW_ERR_CONFIG_INVALID', ['--store postgres is not implemented yet (use file or memory)']);
  }
}
