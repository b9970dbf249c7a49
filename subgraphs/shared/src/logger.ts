import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs, one logger per service; never logs authorization headers or tokens. */
export function createLogger(service: string, level: string): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', 'token'], remove: true },
  });
}
