/**
 * The logging interface the gateway writes to: the subset of pino's API it uses, so a pino
 * logger can be passed as is. The gateway logs connection events, never individual frames.
 */
export interface GatewayLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const noop = (): void => {};

/** A logger that drops everything: the library default. */
export const silentLogger: GatewayLogger = { debug: noop, info: noop, warn: noop, error: noop };
