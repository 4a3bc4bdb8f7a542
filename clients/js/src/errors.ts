/**
 * The client's errors and the one set of reasons a key is refused.
 *
 *     ClientError                    base of everything this package throws on purpose
 *     ├── LicenseError               a key is not valid; .reason says why (a Reason)
 *     ├── KeyringError               a public keyring document cannot be read
 *     └── RevocationListError        a revocation list is malformed or its signature fails
 *
 * The reason codes are the Python reference's and the server's (docs/key-format.md, section 4):
 * stable text, append-only, never renamed or reused.
 */

import type { License } from "./license.js";

export const Reason = {
  MALFORMED: "MALFORMED",
  UNSUPPORTED_VERSION: "UNSUPPORTED_VERSION",
  UNKNOWN_KEY: "UNKNOWN_KEY",
  KEY_RETIRED: "KEY_RETIRED",
  BAD_SIGNATURE: "BAD_SIGNATURE",
  WRONG_PRODUCT: "WRONG_PRODUCT",
  EMAIL_MISMATCH: "EMAIL_MISMATCH",
  INVALID_EMAIL: "INVALID_EMAIL",
  NOT_YET_VALID: "NOT_YET_VALID",
  EXPIRED: "EXPIRED",
  UPDATES_EXPIRED: "UPDATES_EXPIRED",
  REVOKED: "REVOKED",
} as const;

export type Reason = (typeof Reason)[keyof typeof Reason];

export class ClientError extends Error {
  override name = "ClientError";
}

/**
 * The key is not valid for this email, product and time. The message never repeats the key
 * or the email. `license` is set when the signature checked out and only the terms failed
 * (WRONG_PRODUCT, REVOKED, NOT_YET_VALID, EXPIRED, UPDATES_EXPIRED), so a program can say
 * "your license expired on ...".
 */
export class LicenseError extends ClientError {
  override name = "LicenseError";
  readonly reason: Reason;
  readonly license: License | null;

  constructor(reason: Reason, message: string, license: License | null = null) {
    super(message);
    this.reason = reason;
    this.license = license;
  }

  override toString(): string {
    return `${this.reason}: ${this.message}`;
  }
}

export class KeyringError extends ClientError {
  override name = "KeyringError";
}

export class RevocationListError extends ClientError {
  override name = "RevocationListError";
}
