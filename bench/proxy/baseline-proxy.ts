/** A minimal hand-written node:http + undici proxy: the Node floor gw is compared with. */
import { createServer } from 'node:http';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 128 });
createServer((req, res) => {
  pool
    .request({
      method: req.method as 'GET',
      path: req.url ?? '/',
      headers: { 'x-forwarded-for': req.socket.remoteAddress ?? '' },
      body: null,
    })
    .then(
      (r) => {
        res.writeHead(r.statusCode, r.headers as Record<string, string>);
        pipeline(r.body, res, () => undefined);
      },
      () => {
        res.statusCode = 502;
        res.end();
      },
    );
}).listen(listenPort, '127.0.0.1');
