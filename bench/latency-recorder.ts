import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/** Round trips up to this many µs are counted in a flat array at 1 µs resolution. */
const FLAT_RANGE_US = 1 << 16;

/** A fresh HDR histogram for round trips in µs (1 µs to 1 min, 3 significant digits). */
export function createHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

/**
 * Records round-trip times cheaply on the hot path and hands them over as an HDR histogram.
 *
 * `hdr-histogram-js` costs about 100 ns per `recordValue`, which at millions of messages per
 * second would make the generator the bottleneck. Values up to 65 ms are counted in a flat
 * array (one increment each, exact to the µs); only slower ones go to the histogram at once.
 * {@link toHistogram} folds the array in.
 */
export class LatencyRecorder {
  private readonly flat = new Float64Array(FLAT_RANGE_US);
  private slow = createHistogram();
  /** Round trips recorded since the last reset. */
  count = 0;

  /** Records one round trip of `us` microseconds. */
  record(us: number): void {
    const v = us < 1 ? 1 : Math.round(us);
    this.count++;
    if (v < FLAT_RANGE_US) this.flat[v]!++;
    else this.slow.recordValue(v);
  }

  reset(): void {
    this.flat.fill(0);
    this.slow = createHistogram();
    this.count = 0;
  }

  /** Everything recorded since the last reset, as an HDR histogram. */
  toHistogram(): Histogram {
    const h = createHistogram();
    h.add(this.slow);
    const flat = this.flat;
    for (let v = 1; v < FLAT_RANGE_US; v++) {
      const n = flat[v]!;
      if (n > 0) h.recordValueWithCount(v, n);
    }
    return h;
  }

  /** {@link toHistogram}, compressed for sending to the parent. */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.toHistogram());
  }
}

/** Decodes what {@link LatencyRecorder.encode} produced. */
export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded);
}
