/**
 * The license key format, version 1 (docs/key-format.md, sections 1 and 2): its bytes and text.
 *
 * Binary key (89 bytes):  payload (23) | Ed25519 signature (64) | CRC-16 (2)
 *
 *     off size field          off size field
 *     0   1    version        14  2    expires (0 = perpetual)
 *     1   1    key_id         16  2    updates_until (0 = no limit)
 *     2   2    product        18  2    seats
 *     4   6    serial         20  1    edition
 *     10  2    email_check    21  2    flags
 *     12  2    issued (days since 2000-01-01)
 *
 * APPEND-ONLY RULE: fields are never reordered, resized, removed or given a new meaning; a new
 * field is a new version number. The version is always the first byte and the CRC the last two,
 * so any reader can tell a typo from a key it is too old to understand.
 */

import { concatBytes, utf8 } from "./bytes.js";
import { LicenseError, Reason } from "./errors.js";
import { License } from "./license.js";

export const FORMAT_VERSION = 1;
export const PAYLOAD_BYTES = 23;
export const SIGNATURE_BYTES = 64;
export const KEY_BYTES = PAYLOAD_BYTES + SIGNATURE_BYTES + 2;
export const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; // Crockford: no I, L, O, U
/** Longer text (in characters, i.e. code points) is refused before any work. */
export const MAX_TEXT_INPUT = 1024;
export const SIGNED_CONTEXT = utf8("licensing.v1/key\u0000");

const SKIP = -1;
const BAD = -2;
// Code point -> digit value, SKIP for a separator; anything absent is BAD.
const ASCII_TABLE = new Int8Array(128).fill(BAD);
const UNICODE_SEPARATORS = new Set([0xa0, 0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0x202f, 0x2007, 0x3000]);
for (let value = 0; value < 32; value++) {
  ASCII_TABLE[ALPHABET.charCodeAt(value)] = value;
  ASCII_TABLE[ALPHABET.toLowerCase().charCodeAt(value)] = value;
}
for (const [lookAlike, value] of [["O", 0], ["I", 1], ["L", 1]] as const) {
  ASCII_TABLE[lookAlike.charCodeAt(0)] = value;
  ASCII_TABLE[lookAlike.toLowerCase().charCodeAt(0)] = value;
}
for (const separator of " \t\n\r\f\v-") ASCII_TABLE[separator.charCodeAt(0)] = SKIP;

/** CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor. */
export function crc16(data: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function malformed(message: string): LicenseError {
  return new LicenseError(Reason.MALFORMED, message);
}

/**
 * The bytes a key's text encodes, of any version (reading steps 0-4 of section 2.2: size,
 * alphabet, length, pad bits, CRC); throws LicenseError(MALFORMED).
 */
export function decodeKeyText(text: string): Uint8Array {
  if (typeof text !== "string") throw malformed("a license key must be text");
  // Characters are code points: a string longer than 2048 UTF-16 units has more than 1024.
  if (text.length > MAX_TEXT_INPUT && (text.length > 2 * MAX_TEXT_INPUT || [...text].length > MAX_TEXT_INPUT)) {
    throw malformed("the text is far too long to be a license key");
  }
  const digits: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const value = unit < 128 ? ASCII_TABLE[unit] : UNICODE_SEPARATORS.has(unit) ? SKIP : BAD;
    if (value === BAD) throw malformed("the key contains a character that is not used in keys");
    if (value !== SKIP) digits.push(value);
  }
  const byteCount = Math.floor((digits.length * 5) / 8);
  const padBits = digits.length * 5 - byteCount * 8;
  if (byteCount < 3 || padBits > 4) {
    throw malformed("the key is too short or too long: check for a missing or extra character");
  }
  const raw = new Uint8Array(byteCount);
  let accumulator = 0;
  let bits = 0;
  let at = 0;
  for (const digit of digits) {
    accumulator = (accumulator << 5) | digit;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      raw[at++] = (accumulator >> bits) & 0xff;
      accumulator &= (1 << bits) - 1;
    }
  }
  if (accumulator !== 0) throw malformed("the last character of the key is wrong");
  // A CRC without reflection or final xor, run over the data and its own CRC, gives 0.
  if (crc16(raw) !== 0) throw malformed("the key has a typo: a character is wrong or two are swapped");
  return raw;
}

/**
 * The 89 bytes of a version-1 key (CRC included), after the reading rules of section 2.2 in
 * their order: size, alphabet, length, pad bits, CRC, version, exact length. The CRC comes
 * before the version so a typo is reported as a typo, the version before the exact length so a
 * longer key of a later version is UNSUPPORTED_VERSION.
 */
export function readKeyBytes(text: string): Uint8Array {
  const raw = decodeKeyText(text);
  if (raw[0] !== FORMAT_VERSION) {
    throw new LicenseError(
      Reason.UNSUPPORTED_VERSION,
      `the key is in format version ${raw[0]}; this program reads version ${FORMAT_VERSION}`,
    );
  }
  if (raw.length !== KEY_BYTES) throw malformed("the key has the wrong length for format version 1");
  return raw;
}

/** The exact bytes the Ed25519 signature covers: context, payload, the full email digest. */
export function signedMessage(payload: Uint8Array, emailDigest: Uint8Array): Uint8Array {
  return concatBytes(SIGNED_CONTEXT, payload, emailDigest);
}

/** The license terms in a version-1 payload (not yet verified: check the signature first). */
export function decodePayload(payload: Uint8Array): License {
  const u16 = (at: number): number => (payload[at] << 8) | payload[at + 1];
  const issuedDay = u16(12);
  if (issuedDay === 0) throw malformed("the key has no issue date");
  return new License({
    keyId: payload[1],
    product: u16(2),
    serial: u16(4) * 2 ** 32 + ((payload[6] << 24) >>> 0) + (payload[7] << 16) + (payload[8] << 8) + payload[9],
    issuedDay,
    expiresDay: u16(14),
    updatesUntilDay: u16(16),
    seats: u16(18),
    edition: payload[20],
    flags: u16(21),
  });
}

/** The text of a key from its payload and signature (used by tests; the service writes keys). */
export function formatKey(payload: Uint8Array, signature: Uint8Array): string {
  if (payload.length !== PAYLOAD_BYTES || signature.length !== SIGNATURE_BYTES) {
    throw new RangeError("a version-1 key has a 23-byte payload and a 64-byte signature");
  }
  const body = concatBytes(payload, signature);
  const crc = crc16(body);
  const raw = concatBytes(body, new Uint8Array([crc >> 8, crc & 0xff]));
  let text = "";
  let accumulator = 0;
  let bits = 0;
  for (const byte of raw) {
    accumulator = ((accumulator << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      text += ALPHABET[(accumulator >> bits) & 31];
    }
  }
  if (bits > 0) text += ALPHABET[(accumulator << (5 - bits)) & 31];
  return text.match(/.{1,8}/g)!.join("-");
}
