import { pino, type Logger } from 'pino';

export type { Logger };

/** A pino logger named for its service; JSON lines on stdout. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({ name: service, level, base: { service } });
}
