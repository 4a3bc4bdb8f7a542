/**
 * The offline check of (email, key): text and arguments in, a License or a LicenseError out.
 *
 * No I/O and no clock: `now` is an argument, so a program captures the time once and tests
 * never patch it. The order of checks is part of the contract (docs/key-format.md, section 4):
 * the signature is checked before any field is believed.
 */

import { parseDate, utcDay } from "./days.js";
import { verify } from "./ed25519.js";
import { emailDigest, InvalidEmail, normalizeEmail } from "./email.js";
import { LicenseError, Reason } from "./errors.js";
import { decodePayload, PAYLOAD_BYTES, readKeyBytes, SIGNATURE_BYTES, signedMessage } from "./keyformat.js";
import type { PublicKeyring } from "./keyring.js";
import type { License } from "./license.js";

/** Anything that says whether a serial is revoked: a RevocationList (already verified), a Set. */
export interface Revocations {
  has(serial: number): boolean;
}

export interface ValidateOptions {
  /** The program's own build date ('YYYY-MM-DD', or a Date read as its UTC day), checked against updates-until. */
  buildDate?: string | Date | null;
  /** A revocation list already verified with RevocationList.fromJSON. */
  revocations?: Revocations | null;
}

/**
 * Return the license `keyText` grants to `email` for `product` at `now`, or throw LicenseError
 * (with `.reason`). `now` is an instant; only its UTC calendar day matters.
 */
export function validate(
  keyText: string,
  email: string,
  product: number,
  keyring: PublicKeyring,
  now: Date,
  options: ValidateOptions = {},
): License {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError("now must be a valid Date");
  const buildDay = buildDayOf(options.buildDate);
  const raw = readKeyBytes(keyText);
  const payload = raw.subarray(0, PAYLOAD_BYTES);
  const keyId = raw[1];
  const key = keyring.keys.get(keyId);
  if (key === undefined) {
    throw new LicenseError(Reason.UNKNOWN_KEY, `the key was signed by key ${keyId}, which this program does not know`);
  }
  if (key.retired) throw new LicenseError(Reason.KEY_RETIRED, `signing key ${keyId} has been retired by the vendor`);
  let digest: Uint8Array;
  try {
    digest = emailDigest(normalizeEmail(email));
  } catch (error) {
    if (error instanceof InvalidEmail) throw new LicenseError(Reason.INVALID_EMAIL, error.message);
    throw error;
  }
  const signature = raw.subarray(PAYLOAD_BYTES, PAYLOAD_BYTES + SIGNATURE_BYTES);
  if (!verify(signature, signedMessage(payload, digest), key.publicKey)) {
    if (raw[10] !== digest[0] || raw[11] !== digest[1]) {
      throw new LicenseError(Reason.EMAIL_MISMATCH, "the key was issued to a different email address");
    }
    throw new LicenseError(Reason.BAD_SIGNATURE, "the key is not genuine: its signature does not check out");
  }
  const license = decodePayload(payload);
  checkTerms(license, product, now, buildDay, options.revocations ?? null);
  return license;
}

function buildDayOf(value: string | Date | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return utcDay(value);
  const day = typeof value === "string" ? parseDate(value) : null;
  if (day === null) throw new TypeError("buildDate must be a date of the form YYYY-MM-DD or a Date");
  return day;
}

/** Throw LicenseError when a verified license does not hold for this product, time and build. */
function checkTerms(license: License, product: number, now: Date, buildDay: number | null, revocations: Revocations | null): void {
  if (license.product !== product) {
    throw new LicenseError(Reason.WRONG_PRODUCT, `the key is for product ${license.product}, not ${product}`, license);
  }
  if (revocations !== null && revocations.has(license.serial)) {
    throw new LicenseError(Reason.REVOKED, `license ${license.serialText} has been revoked`, license);
  }
  const today = utcDay(now);
  if (today < license.issuedDay) {
    throw new LicenseError(Reason.NOT_YET_VALID, `the key is valid from ${license.issued}: check the computer's date`, license);
  }
  if (license.expiresDay !== 0 && today > license.expiresDay) {
    throw new LicenseError(Reason.EXPIRED, `the license expired at the end of ${license.expires}`, license);
  }
  if (buildDay !== null && license.updatesUntilDay !== 0 && buildDay > license.updatesUntilDay) {
    throw new LicenseError(
      Reason.UPDATES_EXPIRED,
      `this version was built after the license's updates ended on ${license.updatesUntil}`,
      license,
    );
  }
}
