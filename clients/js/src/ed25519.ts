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
type Point = InstanceType<typeof Point>;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

// [S]B - [k]A by one interleaved width-5 wNAF pass (Straus), with small tables of odd
// multiples made per call for A and once for B. noble's Point.BASE.multiplyUnsafe would first
// build a ~1,400-point table for B: about 20 ms at a program's first check, for little gain on
// one key (bench/bench.mjs). The group law is noble's (complete twisted Edwards formulas).
const WINDOW = 5;
const ODD_MULTIPLES = 1 << (WINDOW - 2); // P, 3P, ..., 15P

function oddMultiples(point: Point): Point[] {
  const twice = point.double();
  const table = [point];
  for (let i = 1; i < ODD_MULTIPLES; i++) table.push(table[i - 1].add(twice));
  return table;
}

let baseTable: Point[] | null = null;

/** Width-5 NAF digits of 0 <= n < 2^253, least significant first: odd values in -15..15 or 0. */
function wnaf(n: bigint): Int8Array {
  const digits = new Int8Array(256);
  const full = 1n << BigInt(WINDOW);
  const half = full >> 1n;
  for (let i = 0; n > 0n; i++, n >>= 1n) {
    if (n & 1n) {
      let digit = n & (full - 1n);
      if (digit >= half) digit -= full;
      digits[i] = Number(digit);
      n -= digit;
    }
  }
  return digits;
}

/** [s]B - [k]A for scalars 0 <= s, k < L. */
export function doubleScalarMultiply(s: bigint, k: bigint, a: Point): Point {
  baseTable ??= oddMultiples(Point.BASE);
  const minusA = oddMultiples(a.negate());
  const sDigits = wnaf(s);
  const kDigits = wnaf(k);
  let top = 255;
  while (top >= 0 && sDigits[top] === 0 && kDigits[top] === 0) top--;
  let sum = Point.ZERO;
  for (let i = top; i >= 0; i--) {
    sum = sum.double();
    const sd = sDigits[i];
    if (sd > 0) sum = sum.add(baseTable[sd >> 1]);
    else if (sd < 0) sum = sum.subtract(baseTable[-sd >> 1]);
    const kd = kDigits[i];
    if (kd > 0) sum = sum.add(minusA[kd >> 1]);
    else if (kd < 0) sum = sum.subtract(minusA[-kd >> 1]);
  }
  return sum;
}

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
  const check = doubleScalarMultiply(s, k, a).toBytes();
  for (let i = 0; i < 32; i++) if (check[i] !== r[i]) return false;
  return true;
}
