/**
 * Ed25519 verification under the rules of docs/key-format.md section 1.2 (libsodium's
 * crypto_sign_verify_detached, the reference's), on top of @noble/curves' point arithmetic.
 *
 * noble's own verify() checks the cofactored equation, so on crafted signatures it would
 * disagree with the reference; here every rule is applied as the specification states it,
 * and tests/ed25519.test.mjs pins the verdict on every CCTV and Wycheproof case.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";

import { concatBytes, readLE } from "./bytes.js";

const Point = ed25519.Point;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

// The seven small-order encodings, compared on the first 31 bytes and the last byte without
// its top bit (rule 2 for R, rule 4 for A).
const SMALL_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map((hex) => Uint8Array.from(hex.match(/../g)!, (pair) => parseInt(pair, 16)));

function isSmallOrderEncoding(point: Uint8Array): boolean {
  for (const bad of SMALL_ORDER) {
    let diff = (point[31] & 0x7f) ^ bad[31];
    for (let i = 0; i < 31; i++) diff |= point[i] ^ bad[i];
    if (diff === 0) return true;
  }
  return false;
}

/** The low 255 bits, little-endian, are below p = 2^255 - 19. */
function isCanonicalPoint(point: Uint8Array): boolean {
  if ((point[31] & 0x7f) !== 0x7f) return true;
  for (let i = 30; i > 0; i--) if (point[i] !== 0xff) return true;
  return point[0] < 0xed;
}

/**
 * True when `signature` (64 bytes) is a valid Ed25519 signature of `message` by `publicKey`
 * (32 bytes) under the rules of section 1.2; false for any other input, of any length.
 */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  const r = signature.subarray(0, 32);
  const s = readLE(signature.subarray(32, 64));
  if (s >= L) return false; // rule 1
  if (isSmallOrderEncoding(r)) return false; // rule 2
  if (!isCanonicalPoint(publicKey) || isSmallOrderEncoding(publicKey)) return false; // rules 3, 4
  let a;
  try {
    a = Point.fromBytes(publicKey, false); // rule 5
  } catch {
    return false;
  }
  const k = readLE(sha512(concatBytes(r, publicKey, message))) % L;
  // Rule 6, cofactorless: [S]B - [k]A encoded byte for byte equal to R.
  const check = Point.BASE.multiplyUnsafe(s).subtract(a.multiplyUnsafe(k)).toBytes();
  for (let i = 0; i < 32; i++) if (check[i] !== r[i]) return false;
  return true;
}
