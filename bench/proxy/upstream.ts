/**
 * The fixed small upstream every contender proxies to: 64 bytes, keep-alive.
 *
 *   node upstream.js PORT                 listens on 127.0.0.1:PORT
 *   node upstream.js PORT 127.1.0.0 5000  listens on PORT of 5000 consecutive loopback addresses from 127.1.0.0
 */
import { createServer } from 'node:http';

const body = Buffer.alloc(64, 'x');
const port = Number(process.argv[2]);
const first = process.argv[3] ?? '127.0.0.1';
const count = Number(process.argv[4] ?? 1);
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
const base = first.split('.').reduce((a, o) => a * 256 + Number(o), 0);
for (let i = 0; i < count; i++) {
  const n = base + i;
  const host = [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
  // one http.Server per address: a server listens once
  if (i === 0) server.listen(port, host);
  else createServer(server.listeners('request')[0] as Parameters<typeof createServer>[0]).listen(port, host).keepAliveTimeout = 60_000;
}
