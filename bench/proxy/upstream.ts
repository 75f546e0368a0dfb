/** The fixed small upstream every contender proxies to: 64 bytes, keep-alive. */
import { createServer } from 'node:http';

const body = Buffer.alloc(64, 'x');
const port = Number(process.argv[2]);
createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}).listen(port, '127.0.0.1').keepAliveTimeout = 60_000;
