/** The cluster tests cut PostgreSQL with the same relay `npm run demo:cluster` uses. */
export { startTcpRelay, type TcpRelay } from '../../examples/demo-cluster/tcp-relay.js';
