/**
 * The minimal proxy (`MINIMAL`: the path of minimal-undici-proxy.mjs) with
 * its upstream list read from a file (`UPSTREAMS_FILE`, comma-separated):
 * 10,000 origins do not fit in one environment string (Linux caps one at
 * 128 KiB). Row `minimal-10k-targets` of bench:proxy: what 10,000
 * round-robin upstreams (one undici Pool each) cost the floor proxy itself.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

process.env.UPSTREAMS = readFileSync(process.env.UPSTREAMS_FILE!, 'utf8').trim();
await import(pathToFileURL(process.env.MINIMAL!).href);
