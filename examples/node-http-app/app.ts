/**
 * A plain node:http app that registers itself with the gateway at start-up
 * and leaves cleanly on SIGTERM: drain, wait for in-flight requests,
 * deregister, then close the server and exit 0.
 *
 *   GW_ADMIN_URL=http://127.0.0.1:8001 GW_SERVICE=hello GW_ROUTES=/hello PORT=3000 node dist/examples/node-http-app/app.js
 *
 * It listens on LISTEN_HOST (default 127.0.0.1) and registers that address;
 * with LISTEN_HOST=0.0.0.0 (e.g. on ECS) it registers the detected address
 * (ECS task metadata, else the first non-internal IPv4). GW_HOST overrides
 * the registered address. See examples/README.md.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { register } from '../../sdk/src/index.js';

const port = Number(process.env.PORT ?? 3000);
const name = process.env.APP_NAME ?? `hello-${port}`;
const delayMs = Number(process.env.APP_DELAY_MS ?? 0);
const listenHost = process.env.LISTEN_HOST || '127.0.0.1';
// the address the gateway reaches us at: GW_HOST, else the one we listen on, else (a wildcard) detected by register()
const host = process.env.GW_HOST || (['0.0.0.0', '::'].includes(listenHost) ? undefined : listenHost);

const server = createServer((req, res) => {
  setTimeout(() => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ app: name, url: req.url }));
  }, delayMs);
});

server.listen(port, listenHost);
await once(server, 'listening'); // rejects on a listen error
const reg = await register({
  host,
  port,
  // adminUrl, service and routes come from GW_ADMIN_URL, GW_SERVICE, GW_ROUTES
  onShutdown: () =>
    new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
        process.exit(0);
      });
      server.closeIdleConnections();
    }),
});
console.log(JSON.stringify({ msg: 'registered', target: reg.target, gateway: reg.gateway }));
