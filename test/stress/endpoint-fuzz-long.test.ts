/**
 * The hostile-gateway fuzz of the endpoint (test/hostile-endpoint-fuzz.test.ts) with ten
 * times the runs, or FASTWAY_FUZZ_RUNS of them.
 */
process.env.FASTWAY_FUZZ_RUNS ??= '1500';
await import('../hostile-endpoint-fuzz.test.js');
