/**
 * The WebSocket and TLS fuzz of `npm test` (test/hostile-websocket-fuzz.test.ts) with ten
 * times the runs, or FASTWAY_FUZZ_RUNS of them.
 */
process.env.FASTWAY_FUZZ_RUNS ??= '1500';
await import('../hostile-websocket-fuzz.test.js');
