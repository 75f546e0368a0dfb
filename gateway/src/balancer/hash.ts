/**
 * xxHash32 (the hash Kong's consistent-hashing balancer uses), over UTF-8.
 * Strings are encoded into a reused scratch buffer: hashing allocates nothing.
 */
const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

function utf8(s: string): number {
  // UTF-8 needs at most 3 bytes per UTF-16 unit
  if (s.length * 3 > scratch.length) scratch = new Uint8Array(s.length * 3);
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      ascii = false;
      break;
    }
    scratch[i] = c;
  }
  return ascii ? s.length : encoder.encodeInto(s, scratch).written;
}

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
const round = (acc: number, input: number): number => Math.imul(rotl((acc + Math.imul(input, P2)) | 0, 13), P1);

/** xxHash32 of `input` (UTF-8 for strings) as an unsigned 32-bit integer. */
export function xxhash32(input: string | Uint8Array, seed = 0): number {
  if (typeof input !== 'string') return xxhash32Bytes(input, input.length, seed);
  const len = utf8(input); // may replace `scratch`: read it only afterwards
  return xxhash32Bytes(scratch, len, seed);
}

/** xxHash32 of the first `len` bytes of `buf`. */
export function xxhash32Bytes(buf: Uint8Array, len: number, seed = 0): number {
  const u32 = (i: number): number => buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
  let i = 0;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    for (; i <= len - 16; i += 16) {
      v1 = round(v1, u32(i));
      v2 = round(v2, u32(i + 4));
      v3 = round(v3, u32(i + 8));
      v4 = round(v4, u32(i + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  for (; i <= len - 4; i += 4) h = Math.imul(rotl((h + Math.imul(u32(i), P3)) | 0, 17), P4);
  for (; i < len; i++) h = Math.imul(rotl((h + Math.imul(buf[i]!, P5)) | 0, 11), P1);
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}
