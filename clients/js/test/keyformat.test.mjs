// Reading a key (docs/key-format.md section 2.2): separators, look-alikes, the size cap, the order of the checks.
import assert from "node:assert/strict";
import { test } from "node:test";

import { crc16, decodeKeyText, formatKey, readKeyBytes } from "../dist/index.js";
import { readJSON, toHex } from "./helpers.mjs";

const perpetual = readJSON("keys.json").keys.find((v) => v.name === "valid/perpetual");
const raw = readKeyBytes(perpetual.key);
const digits = perpetual.key.replaceAll("-", "");

test("format and read are inverse, and the text is 160 characters", () => {
  const text = formatKey(raw.subarray(0, 23), raw.subarray(23, 87));
  assert.equal(text, perpetual.key);
  assert.equal(text.length, 160);
  assert.equal(crc16(new TextEncoder().encode("123456789")), 0x29b1);
  assert.equal(crc16(new Uint8Array()), 0xffff);
});

test("every separator is skipped, letters are read in either case, look-alikes are digits", () => {
  const separators = " \t\n\r\f\v-\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u202f\u2007\u3000";
  for (const separator of separators) {
    assert.equal(toHex(readKeyBytes([...digits].join(separator))), perpetual.bytes);
  }
  assert.equal(toHex(readKeyBytes(digits.toLowerCase())), perpetual.bytes);
  const withZeros = digits.replaceAll("0", "o").replaceAll("1", "l");
  assert.equal(toHex(readKeyBytes(withZeros)), perpetual.bytes);
  assert.equal(toHex(readKeyBytes(digits.replaceAll("1", "I"))), perpetual.bytes);
});

test("other characters are MALFORMED: U, full-width digits, other spaces", () => {
  for (const bad of ["U", "u", "\uff11", "\u2009", "_", "\u0660", "\ud83d\ude00"]) {
    assert.throws(() => readKeyBytes(digits.slice(0, 10) + bad + digits.slice(10)), { reason: "MALFORMED" }, bad);
  }
});

test("text of more than 1024 characters is refused before any work, counted in code points", () => {
  const padded = (n, pad) => perpetual.key + pad.repeat(n);
  assert.equal(toHex(readKeyBytes(padded(1024 - 160, " "))), perpetual.bytes);
  assert.throws(() => readKeyBytes(padded(1025 - 160, " ")), { reason: "MALFORMED" });
  // 864 ideographic spaces are 864 characters: exactly at the cap.
  assert.equal(toHex(readKeyBytes(padded(1024 - 160, "\u3000"))), perpetual.bytes);
  // An astral character is one character but two UTF-16 units; either way it is not a key character.
  assert.throws(() => readKeyBytes("0".repeat(1030)), { reason: "MALFORMED" });
});

test("the order: CRC before version, version before exact length, pad bits", () => {
  const version2 = Uint8Array.from(raw);
  version2[0] = 2;
  const text2 = formatKey(version2.subarray(0, 23), version2.subarray(23, 87));
  assert.throws(() => readKeyBytes(text2), { reason: "UNSUPPORTED_VERSION" });
  // One more "0": 144 digits are 90 bytes with no pad bits, and a zero byte keeps the CRC residue
  // zero, so only the exact-length step refuses it.
  assert.equal(decodeKeyText(perpetual.key + "0").length, 90);
  assert.throws(() => readKeyBytes(perpetual.key + "0"), { reason: "MALFORMED" });
  assert.throws(() => readKeyBytes(digits.slice(0, -1) + "Z"), { reason: "MALFORMED" }); // pad bits set
  assert.throws(() => readKeyBytes(digits.slice(0, -1)), { reason: "MALFORMED" });
  assert.throws(() => readKeyBytes("00000"), { reason: "MALFORMED" }); // 3 bytes, CRC wrong
});
