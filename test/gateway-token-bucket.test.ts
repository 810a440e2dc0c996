/**
 * TokenBucket (src/gateway/token-bucket.ts), with time passed in: a burst is allowed at once,
 * then the rate; a debt is paid off at the rate; properties over random schedules: never
 * more than `burst + rate × elapsed` taken without debt, never more than `burst` saved.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { TokenBucket } from '../src/gateway/token-bucket.js';

describe('TokenBucket', () => {
  test('a full burst at once, then the rate; a debt says how long to wait', () => {
    const b = new TokenBucket(100, 10, 0);
    for (let i = 0; i < 10; i++) assert.ok(b.take(1, 0) >= 0);
    assert.equal(b.take(1, 0), -1);
    assert.equal(b.waitMs(0), 10, 'one token at 100/s comes in 10 ms');
    assert.equal(b.balance(10), 0);
    assert.equal(b.balance(1000), 10, 'saved up to the burst, no more');
    b.take(30, 1000);
    assert.equal(b.waitMs(1000), 200);
    assert.equal(b.waitMs(1200), 0);
  });

  test('a clock that goes backwards adds nothing', () => {
    const b = new TokenBucket(10, 2, 1000);
    b.take(2, 1000);
    assert.equal(b.balance(500), 0);
    assert.equal(b.balance(1100), 1);
  });

  test('bad settings are refused', () => {
    assert.throws(() => new TokenBucket(0, 1, 0), RangeError);
    assert.throws(() => new TokenBucket(1, 0.5, 0), RangeError);
    assert.throws(() => new TokenBucket(Number.NaN, 1, 0), RangeError);
  });

  test('property: over any schedule, what is taken without going into debt is at most burst + rate × elapsed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 500 }), n: fc.integer({ min: 1, max: 50 }) }), { maxLength: 200 }),
        (rate, burst, steps) => {
          const b = new TokenBucket(rate, burst, 0);
          let now = 0;
          let granted = 0;
          for (const { dt, n } of steps) {
            now += dt;
            // Take only when the tokens are there (what a sender that waits out its debt does).
            if (b.balance(now) >= n) {
              b.take(n, now);
              granted += n;
            }
            assert.ok(b.balance(now) <= burst + 1e-9, 'saved more than the burst');
            assert.ok(granted <= burst + (rate * now) / 1000 + 1e-6, `granted ${granted} by ${now} ms at ${rate}/s, burst ${burst}`);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('property: a debt is paid off in exactly waitMs (to the millisecond)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 10_000 }), (rate, burst, n) => {
        const b = new TokenBucket(rate, burst, 0);
        b.take(n, 0);
        const wait = b.waitMs(0);
        if (n <= burst) assert.equal(wait, 0);
        else {
          assert.ok(b.balance(wait) >= -1e-9, 'still in debt after waitMs');
          assert.ok(wait === 0 || new TokenBucket(rate, burst, 0).take(n, 0) + ((wait - 1) * rate) / 1000 < 0, 'waitMs is longer than needed');
        }
      }),
      { numRuns: 500 },
    );
  });
});
