/**
 * An Express app that registers itself with the gateway once it listens,
 * and leaves cleanly on SIGTERM: register() drains the target (weight 0),
 * waits until the gateway reports no request in flight to it, deletes it,
 * then calls onShutdown, which closes the server and exits 0.
 *
 *   GW_ADMIN_URL=http://127.0.0.1:8001 GW_SERVICE=hello GW_ROUTES=/hello PORT=3000 \
 *     node dist/examples/express-app/app.js
 *
 * It listens on LISTEN_HOST (default 127.0.0.1) and registers that address;
 * with LISTEN_HOST=0.0.0.0 (e.g. on ECS) it registers the detected address
 * (ECS task metadata, else the first non-internal IPv4). GW_HOST overrides
 * the registered address. See examples/README.md.
 */
import { once } from 'node:events';
import express from 'express';
import { register } from '../../sdk/src/index.js';

const port = Number(process.env.PORT ?? 3000);
const listenHost = process.env.LISTEN_HOST || '127.0.0.1';
// the address the gateway reaches us at: GW_HOST, else the one we listen on, else (a wildcard) detected by register()
const host = process.env.GW_HOST || (['0.0.0.0', '::'].includes(listenHost) ? undefined : listenHost);
const name = process.env.APP_NAME ?? `express-${port}`;
const delayMs = Number(process.env.APP_DELAY_MS ?? 0);

const app = express();
app.get('/health', (_req, res) => {
  res.json({ ok: true });
});
app.use((req, res) => {
  setTimeout(() => res.json({ app: name, framework: 'express', url: req.url }), delayMs);
});

const server = app.listen(port, listenHost);
await once(server, 'listening'); // rejects on a listen error
// adminUrl, service and routes come from GW_ADMIN_URL, GW_SERVICE, GW_ROUTES
const reg = await register({
  host,
  port,
  onShutdown: () =>
    new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
        process.exit(0);
      });
      server.closeIdleConnections();
    }),
});
console.log(JSON.stringify({ msg: 'registered', target: reg.target, gateway: reg.gateway, upstream: reg.upstream }));
