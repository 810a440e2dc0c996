/**
 * The attacks of `npm test` (test/hostile-attacks.test.ts) with a 64 MiB command flood
 * from a client that never reads (FASTWAY_COMMAND_FLOOD_MIB to change it).
 */
process.env.FASTWAY_COMMAND_FLOOD_MIB ??= '64';
await import('../hostile-attacks.test.js');
