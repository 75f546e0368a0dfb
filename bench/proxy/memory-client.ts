/**
 * The memory bench's load process (bench/proxy/memory.ts forks one per 5,000
 * sockets, for file-descriptor limits): raw `node:net` client connections to
 * 127.0.0.1:PORT, each sending `GET / HTTP/1.1\r\nHost: x\r\n\r\n` and reading
 * the whole response (Content-Length body), then left open and idle, in
 * keep-alive. Driven over IPC:
 *
 *   { id, op: 'open', port, count, timeoutMs }  open `count` connections (at most 200 connecting at once), one request each,
 *                                               reply when all answered or at the deadline
 *   { id, op: 'send' }                          one more request on every open connection; reply once all are written
 *   { id, op: 'wait', timeoutMs }               reply when no request is outstanding, or at the deadline
 *   { id, op: 'close' }                         destroy every connection
 *
 * Every reply: { id, open, written, answered, ok, errors, outstanding, ms }.
 */
import { connect, type Socket } from 'node:net';

const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
const CONNECTING_AT_ONCE = 200;

interface Conn {
  socket: Socket;
  buf: Buffer;
  /** requests written and not answered yet */
  pending: number;
}

const conns = new Set<Conn>();
let written = 0;
let answered = 0;
let ok = 0;
let errors = 0;
let outstanding = 0;
let waiters: (() => void)[] = [];

const settle = (): void => {
  if (outstanding > 0) return;
  const w = waiters;
  waiters = [];
  for (const f of w) f();
};

/** Parses as many whole responses as `c.buf` holds. */
function parse(c: Conn): void {
  for (;;) {
    const end = c.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = c.buf.subarray(0, end).toString('latin1');
    const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (c.buf.length < end + 4 + len) return;
    c.buf = c.buf.subarray(end + 4 + len);
    answered++;
    if (head.startsWith('HTTP/1.1 200')) ok++;
    else errors++;
    if (c.pending > 0) {
      c.pending--;
      outstanding--;
    }
    settle();
  }
}

function openOne(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const c: Conn = { socket, buf: Buffer.alloc(0), pending: 0 };
    let first = true;
    const done = (): void => {
      if (!first) return;
      first = false;
      resolve();
    };
    socket.setNoDelay(true);
    socket.on('connect', () => {
      conns.add(c);
      c.pending++;
      outstanding++;
      socket.write(REQUEST, () => written++);
    });
    socket.on('data', (d: Buffer) => {
      c.buf = c.buf.length === 0 ? d : Buffer.concat([c.buf, d]);
      parse(c);
      if (c.pending === 0) done();
    });
    socket.on('error', () => {
      errors++;
    });
    socket.on('close', () => {
      conns.delete(c);
      outstanding -= c.pending;
      c.pending = 0;
      settle();
      done();
    });
  });
}

const waitIdle = (timeoutMs: number): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, timeoutMs);
    waiters.push(() => {
      clearTimeout(t);
      resolve();
    });
    settle();
  });

async function open(port: number, count: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count && Date.now() < end) {
      next++;
      await openOne(port);
    }
  };
  await Promise.race([
    Promise.all(Array.from({ length: Math.min(CONNECTING_AT_ONCE, count) }, lane)),
    new Promise((r) => setTimeout(r, timeoutMs)),
  ]);
}

async function sendAll(): Promise<void> {
  await Promise.all(
    [...conns].map(
      (c) =>
        new Promise<void>((resolve) => {
          c.pending++;
          outstanding++;
          c.socket.write(REQUEST, () => {
            written++;
            resolve();
          });
        }),
    ),
  );
}

type Msg = { id: number } & (
  { op: 'open'; port: number; count: number; timeoutMs: number } | { op: 'send' | 'close' } | { op: 'wait'; timeoutMs: number }
);

process.on('message', (m: Msg) => {
  const t0 = performance.now();
  const run = async (): Promise<void> => {
    switch (m.op) {
      case 'open':
        await open(m.port, m.count, m.timeoutMs);
        break;
      case 'send':
        await sendAll();
        break;
      case 'wait':
        await waitIdle(m.timeoutMs);
        break;
      case 'close':
        for (const c of [...conns]) {
          outstanding -= c.pending;
          c.pending = 0;
          c.socket.destroy();
        }
        conns.clear();
        settle();
        break;
    }
  };
  void run().then(() =>
    process.send?.({ id: m.id, open: conns.size, written, answered, ok, errors, outstanding, ms: performance.now() - t0 }),
  );
});
process.on('disconnect', () => process.exit(0));
