/** @fastify/http-proxy in front of the same upstream. */
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
const app = Fastify({ logger: false });
await app.register(proxy, { upstream: `http://127.0.0.1:${upstreamPort}`, prefix: '/' });
await app.listen({ host: '127.0.0.1', port: listenPort });
