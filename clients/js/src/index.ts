/**
 * Offline validation of license keys: `validate(keyText, email, product, keyring, now)`.
 *
 * The core takes text and bytes and returns results: no file, no network, no `node:` module,
 * so it runs in Node, in Electron's main process and in its renderer. Files are read by
 * `licensing-client/node` (files.ts). Nothing here sends anything, ever.
 */

export { checkClock, DEFAULT_TOLERANCE_MS, type ClockCheck } from "./clock.js";
export { emailDigest, InvalidEmail, normalizeEmail } from "./email.js";
export { verify as verifyEd25519 } from "./ed25519.js";
export { ClientError, KeyringError, LicenseError, Reason, RevocationListError } from "./errors.js";
export { crc16, decodeKeyText, formatKey, readKeyBytes, signedMessage } from "./keyformat.js";
export { KEYRING_FORMAT, PublicKey, PublicKeyring, type KeyStatus } from "./keyring.js";
export { License, type LicenseJSON } from "./license.js";
export { newestRevocations, RevocationList, REVOCATIONS_FORMAT, revocationMessage } from "./revocation.js";
export { validate, type Revocations, type ValidateOptions } from "./validate.js";
