/** Store factory: the one place that knows every store type. */
import { GwError } from '../errors.js';
import { FileStore } from './file.js';
import { MemoryStore } from './memory.js';
import { PostgresStore } from './postgres.js';
import type { Logger } from '../observability/log.js';
import type { Store } from './store.js';

export type { Store, ChangeEvent, WriteOp, StoreReset, StoreState, SubscribeOptions } from './store.js';
export { MemoryStore } from './memory.js';
export { FileStore } from './file.js';
export { PostgresStore } from './postgres.js';

export interface StoreSettings {
  store: 'memory' | 'file' | 'postgres';
  dataDir: string;
  pgUrl?: string | undefined;
  logger?: Logger | undefined;
  /** how errors name the data directory's setting (default `--data-dir`) */
  dataDirName?: string | undefined;
}

export function createStore(s: StoreSettings): Store {
  switch (s.store) {
    case 'memory':
      return new MemoryStore();
    case 'file':
      return new FileStore(s.dataDir, s.dataDirName !== undefined ? { name: s.dataDirName } : {});
    case 'postgres':
      if (!s.pgUrl)
        throw new GwError('GW_ERR_CONFIG_INVALID', [
          '--store postgres needs --pg-url (GW_PG_URL), e.g. postgres://gw:secret@db.internal:5432/gw',
        ]);
      return new PostgresStore({ url: s.pgUrl, ...(s.logger ? { logger: s.logger } : {}) });
  }
}
