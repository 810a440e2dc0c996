import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogRateLimiter } from '../src/gateway/log-rate-limiter.js';

test('a source logs perWindow lines per window; the rest are summarised when the window ends', () => {
  const limiter = new LogRateLimiter(3, 1000, 100);
  const allowed = Array.from({ length: 10 }, () => limiter.allow('10.0.0.1', 5000).log);
  assert.deepEqual(allowed, [true, true, true, false, false, false, false, false, false, false]);
  assert.equal(limiter.allow('10.0.0.2', 5500).log, true, 'other sources are not affected');
  const next = limiter.allow('10.0.0.1', 6000);
  assert.equal(next.log, true, 'a new window starts afresh');
  assert.deepEqual(next.suppressed, [['10.0.0.1', 7]]);
});

test('distinct sources past maxSources share one bucket, so memory stays bounded', () => {
  const limiter = new LogRateLimiter(1, 1000, 2);
  assert.equal(limiter.allow('a', 0).log, true);
  assert.equal(limiter.allow('b', 0).log, true);
  assert.equal(limiter.allow('c', 0).log, true);
  assert.equal(limiter.allow('d', 0).log, false, 'c and d share the overflow bucket');
  assert.deepEqual(limiter.allow('a', 1000).suppressed, [['(other sources)', 1]]);
});
