/**
 * An app that knows nothing about the gateway: it only serves, with a
 * /health endpoint. `gw-agent run` (the sidecar) registers it. On SIGTERM it
 * finishes what it is serving and exits.
 *
 *   PORT=3000 node dist/examples/demo/plain-app.js
 */
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 3000);
const name = process.env.APP_NAME ?? `plain-${port}`;
const delayMs = Number(process.env.APP_DELAY_MS ?? 0);

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.end('ok');
    return;
  }
  setTimeout(() => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ app: name, url: req.url }));
  }, delayMs);
});
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
