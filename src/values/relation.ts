/**
 * Relations between two options, checked where options are validated once each has been
 * checked on its own (as smux's `VerifyConfig` does): the error names both options. Pure.
 */
import { InvalidOptionError } from '../errors.js';

/**
 * Checks `value` (the option `name`) ≥ `floor`, which the other option `floorName` sets;
 * `why` says what goes wrong below it.
 * @throws InvalidOptionError naming `name`, `floorName` and the floor.
 */
export function checkAtLeast(name: string, value: number, floorName: string, floor: number, why: string): number {
  if (value < floor) throw new InvalidOptionError(name, `must be at least ${floorName} (${floor}): ${why}; got ${value}`);
  return value;
}

/**
 * Checks `value` (the option `name`) ≤ `ceiling`, which the other option `ceilingName` sets;
 * `why` says what goes wrong above it.
 * @throws InvalidOptionError naming `name`, `ceilingName` and the ceiling.
 */
export function checkAtMost(name: string, value: number, ceilingName: string, ceiling: number, why: string): number {
  if (value > ceiling) throw new InvalidOptionError(name, `must be at most ${ceilingName} (${ceiling}): ${why}; got ${value}`);
  return value;
}

/**
 * Checks `value` (the option `name`) < `limit`, which the other option `limitName` sets;
 * `why` says what goes wrong at or above it.
 * @throws InvalidOptionError naming `name`, `limitName` and the limit.
 */
export function checkBelow(name: string, value: number, limitName: string, limit: number, why: string): number {
  if (value >= limit) throw new InvalidOptionError(name, `must be less than ${limitName} (${limit}): ${why}; got ${value}`);
  return value;
}
