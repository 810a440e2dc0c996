/** The wire protocol: pure functions and constants, no I/O, usable in Node and browsers. */
export * from './frame.js';
export * from './command.js';
export * from './decoder.js';
export * from './handshake.js';
export { md5 } from './md5.js';
