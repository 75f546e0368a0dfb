/** A real pino logger whose JSON lines a test reads back. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../gateway/src/observability/log.js';

export function capturedLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream) as unknown as Logger, lines };
}
