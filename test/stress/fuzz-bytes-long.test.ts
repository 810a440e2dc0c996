/**
 * The bytes fuzz of `npm test` (test/hostile-fuzz-bytes.test.ts) with ten times the runs, or
 * FASTWAY_FUZZ_RUNS of them.
 */
process.env.FASTWAY_FUZZ_RUNS ??= '1500';
await import('../hostile-fuzz-bytes.test.js');
