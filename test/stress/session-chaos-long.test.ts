/**
 * The chaos test of `npm test` (test/session-chaos.test.ts) with 1,000,000 numbered
 * messages each way instead of 100,000 (FASTWAY_SESSION_CHAOS_MESSAGES to change it).
 */
process.env.FASTWAY_SESSION_CHAOS_MESSAGES ??= '1000000';
await import('../session-chaos.test.js');
