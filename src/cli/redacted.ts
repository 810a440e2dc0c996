/**
 * The placeholder `--print-config` (and the `starting` log event) shows instead of a secret,
 * and why it is refused where a key belongs: fed back with `--config`, the printed output
 * would otherwise make the placeholder itself a server key, one that everyone who saw the
 * output knows. Pure.
 */

/** What is shown in place of a key. */
export const REDACTED = '<redacted>';

/** Why a key that is the placeholder is refused. */
export const REDACTED_KEY_PROBLEM =
  `is ${JSON.stringify(REDACTED)}, the placeholder --print-config shows in place of a key, not a key: ` +
  'put the real key back (or leave the key out to have one generated); as a key it would be known to everyone who saw the output';
