/**
 * Which server auth keys the gateway gets: the keys given by flag, variable or config file,
 * plus those of the keys file; or, with none at all, a key generated for this run. Pure
 * (the generator is passed in).
 */
import { InvalidOptionError } from '../errors.js';
import type { AuthKeys } from './gateway-options.js';
import { isEmptyKeysFile, type KeysFile } from './keys-file.js';

/** The keys chosen, and how they came about. */
export interface ServerKeys {
  keys: AuthKeys;
  /** The key generated because none was configured; to be printed once for the operator. */
  generated?: string;
  /**
   * True when only per-ID keys were configured: the default key is a random one nobody is
   * told, so servers whose ID is not listed cannot authenticate.
   */
  onlyListedIds: boolean;
}

/**
 * @param given keys from `--server-auth-key` (or its variable or config key).
 * @param file the parsed keys file, if one was configured, and its path (for errors).
 * @throws InvalidOptionError when a keys file is configured but holds no key.
 */
export function chooseServerKeys(
  given: readonly string[],
  file: { path: string; keys: KeysFile } | undefined,
  generate: () => string,
): ServerKeys {
  if (file !== undefined && isEmptyKeysFile(file.keys)) {
    throw new InvalidOptionError('--server-auth-keys-file', `${file.path} holds no key (only blank lines and comments)`);
  }
  const authKey = [...new Set([...given, ...(file?.keys.keys ?? [])])];
  const authKeysById = file?.keys.byId ?? {};
  if (authKey.length > 0) return { keys: { authKey, authKeysById }, onlyListedIds: false };
  if (Object.keys(authKeysById).length > 0) return { keys: { authKey: [generate()], authKeysById }, onlyListedIds: true };
  const generated = generate();
  return { keys: { authKey: [generated] }, generated, onlyListedIds: false };
}
