/** pino JSON logs on stdout; one child logger per component. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = 'info'): Logger {
  return pino({ level, base: { app: 'gw-gateway' }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that discards everything (tests, embedders that pass none). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
