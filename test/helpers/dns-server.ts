/**
 * A small authoritative DNS server on 127.0.0.1 (random UDP port) for tests:
 * answers A, AAAA and SRV from a zone the test edits, with configurable
 * TTLs, NXDOMAIN for unknown names and any rcode (SERVFAIL) per name. The
 * gateway's `--dns-resolver` points at it, so no test lookup of a made-up
 * name ever reaches the system resolver.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface SrvAnswer {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface ZoneEntry {
  A?: string[];
  AAAA?: string[];
  SRV?: SrvAnswer[];
  /** seconds, for every answer of the name (default 30) */
  ttl?: number;
  /** answer this rcode and no records (2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED) */
  rcode?: number;
}

const TYPES: Record<number, 'A' | 'AAAA' | 'SRV'> = { 1: 'A', 28: 'AAAA', 33: 'SRV' };

export interface TestDnsServer {
  readonly address: string;
  readonly port: number;
  /** name (lower case, no trailing dot) → records; edit freely */
  readonly zone: Map<string, ZoneEntry>;
  /** `TYPE name` → queries received */
  readonly queries: Map<string, number>;
  /** every query seen, `TYPE name` */
  readonly log: string[];
  close(): Promise<void>;
}

export async function startDnsServer(zone: Record<string, ZoneEntry> = {}): Promise<TestDnsServer> {
  const z = new Map(Object.entries(zone).map(([k, v]) => [k.toLowerCase(), v]));
  const queries = new Map<string, number>();
  const log: string[] = [];
  const sock: Socket = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    try {
      const reply = answer(msg, z, queries, log);
      if (reply) sock.send(reply, rinfo.port, rinfo.address);
    } catch {
      // a garbled query gets no answer
    }
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const port = (sock.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    zone: z,
    queries,
    log,
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}

function readName(buf: Buffer, off: number): { name: string; next: number } {
  const labels: string[] = [];
  let o = off;
  for (;;) {
    const len = buf[o]!;
    if (len === 0) return { name: labels.join('.'), next: o + 1 };
    if ((len & 0xc0) !== 0) throw new Error('compressed question');
    labels.push(buf.toString('latin1', o + 1, o + 1 + len));
    o += 1 + len;
  }
}

function writeName(name: string): Buffer {
  const parts = name
    .replace(/\.$/, '')
    .split('.')
    .filter((x) => x !== '');
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])), Buffer.from([0])]);
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

function answer(msg: Buffer, zone: Map<string, ZoneEntry>, queries: Map<string, number>, log: string[]): Buffer | undefined {
  if (msg.length < 12) return undefined;
  const id = msg.readUInt16BE(0);
  const rd = msg.readUInt16BE(2) & 0x0100;
  const q = readName(msg, 12);
  const qtype = msg.readUInt16BE(q.next);
  const question = msg.subarray(12, q.next + 4);
  const name = q.name.toLowerCase();
  const type = TYPES[qtype] ?? `TYPE${qtype}`;
  const key = `${type} ${name}`;
  queries.set(key, (queries.get(key) ?? 0) + 1);
  log.push(key);
  const entry = zone.get(name);
  let rcode = 0;
  const answers: Buffer[] = [];
  if (!entry) rcode = 3;
  else if (entry.rcode !== undefined) rcode = entry.rcode;
  else {
    const ttl = entry.ttl ?? 30;
    const rr = (t: number, data: Buffer): Buffer => {
      const h = Buffer.alloc(12);
      h.writeUInt16BE(0xc00c, 0); // pointer to the question's name
      h.writeUInt16BE(t, 2);
      h.writeUInt16BE(1, 4);
      h.writeUInt32BE(ttl, 6);
      h.writeUInt16BE(data.length, 10);
      return Buffer.concat([h, data]);
    };
    if (type === 'A') for (const ip of entry.A ?? []) answers.push(rr(1, Buffer.from(ip.split('.').map(Number))));
    if (type === 'AAAA') for (const ip of entry.AAAA ?? []) answers.push(rr(28, ipv6Bytes(ip)));
    if (type === 'SRV')
      for (const s of entry.SRV ?? []) {
        const d = Buffer.alloc(6);
        d.writeUInt16BE(s.priority, 0);
        d.writeUInt16BE(s.weight, 2);
        d.writeUInt16BE(s.port, 4);
        answers.push(rr(33, Buffer.concat([d, writeName(s.target)])));
      }
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8000 | 0x0400 | rd | 0x0080 | rcode, 2); // QR, AA, RD as asked, RA, rcode
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, question, ...answers]);
}
