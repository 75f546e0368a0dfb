/**
 * The memory bench's upstream: the same 64-byte keep-alive answer as
 * upstream.ts, on 127.0.0.1:PORT, plus a hold switch driven over IPC by its
 * parent (bench/proxy/memory.ts forks it). While holding, every request is
 * kept unanswered until `release`, so the requests a proxy forwards stay in
 * flight; `stats` says how many are held and how many connections are open.
 *
 *   fork('hold-upstream.js', [PORT])   messages { id, op: 'hold' | 'release' | 'stats' } → { id, held, connections, requests }
 */
import { createServer, type ServerResponse } from 'node:http';

const body = Buffer.alloc(64, 'x');
const port = Number(process.argv[2]);
let holding = false;
let held: ServerResponse[] = [];
let connections = 0;
let requests = 0;

const answer = (res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
};

const server = createServer((_req, res) => {
  requests++;
  if (holding) held.push(res);
  else answer(res);
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.requestTimeout = 0; // held requests may wait as long as the bench says
server.on('connection', (s) => {
  connections++;
  s.once('close', () => connections--);
});
server.listen(port, '127.0.0.1');

interface Msg {
  id: number;
  op: 'hold' | 'release' | 'stats';
}

process.on('message', (m: Msg) => {
  if (m.op === 'hold') holding = true;
  if (m.op === 'release') {
    holding = false;
    const all = held;
    held = [];
    for (const res of all) if (!res.destroyed) answer(res);
  }
  process.send?.({ id: m.id, held: held.length, connections, requests });
});
// the parent went away: do not outlive it
process.on('disconnect', () => process.exit(0));
