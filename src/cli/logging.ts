/**
 * The command's logger: pino writing to stderr, as JSON lines or, for people, through
 * pino-pretty. Both write synchronously, so nothing logged is lost when the process exits
 * right after.
 */
import { type Logger, pino } from 'pino';
import PinoPretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './cli-config.js';

/** A logger at `level` writing `format` to stderr. */
export function createLogger(level: LogLevel, format: LogFormat): Logger {
  const destination =
    format === 'pretty'
      ? PinoPretty({ destination: 2, sync: true, translateTime: 'SYS:standard', ignore: 'pid,hostname,name' })
      : pino.destination({ dest: 2, sync: true });
  return pino({ name: 'fastway', level }, destination);
}
