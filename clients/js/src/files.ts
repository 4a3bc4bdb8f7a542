/**
 * The file helpers, for Node and Electron's main process only (they use node:fs): read a
 * keyring or a revocation list the program ships beside itself.
 */

import { readFileSync } from "node:fs";

// From the package's entry (one bundled file once built), so these are the very classes a
// program imports from "licensing-client" and instanceof holds across the two entries.
import { KeyringError, PublicKeyring, RevocationList, RevocationListError } from "./index.js";

function why(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : String(error);
}

/** PublicKeyring.fromJSON of a file's bytes; KeyringError when it cannot be read. */
export function loadKeyring(path: string): PublicKeyring {
  let document: Uint8Array;
  try {
    document = readFileSync(path);
  } catch (error) {
    throw new KeyringError(`cannot read the keyring file ${path}: ${why(error)}`);
  }
  return PublicKeyring.fromJSON(document);
}

/** RevocationList.fromJSON of a file's bytes; RevocationListError when it cannot be read. */
export function loadRevocations(path: string, keyring: PublicKeyring): RevocationList {
  let document: Uint8Array;
  try {
    document = readFileSync(path);
  } catch (error) {
    throw new RevocationListError(`cannot read the revocation list ${path}: ${why(error)}`);
  }
  return RevocationList.fromJSON(document, keyring);
}
