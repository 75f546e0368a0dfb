/** `gw-agent/gateway`: embed the gateway (tests, embedders). */
export { startGateway, type Gateway, type GatewayOptions } from './gateway.js';
export { createStore, MemoryStore, FileStore, type Store } from './store/index.js';
export { GwError, isGwError, errorCatalogue, type GwErrorCode } from './errors.js';
export type * from './entities/types.js';
