// The JSON rules of docs/key-format.md section 5, on the keyring and the revocation list.
import assert from "node:assert/strict";
import { test } from "node:test";

import { KeyringError, PublicKeyring, RevocationList, RevocationListError } from "../dist/index.js";
import { readJSON, readVector } from "./helpers.mjs";

const ringText = readVector("keyring.json").toString("utf8");
const listText = readVector("revocations.json").toString("utf8");
const ring = readJSON("keyring.json");
const list = readJSON("revocations.json");
const keyring = PublicKeyring.fromJSON(ringText);
const withKey = (changes) => JSON.stringify({ ...ring, keys: [{ ...ring.keys[2], ...changes }] });
const listWith = (text) => RevocationList.fromJSON(text, keyring);

test("a byte-order mark at the very start is skipped, as text or as bytes", () => {
  assert.equal(PublicKeyring.fromJSON("\ufeff" + ringText).keys.size, 3);
  assert.equal(PublicKeyring.fromJSON(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(ringText)])).keys.size, 3);
  assert.throws(() => PublicKeyring.fromJSON("\ufeff\ufeff" + ringText), KeyringError);
  assert.throws(() => PublicKeyring.fromJSON(Buffer.from([0xff, 0x7b, 0x7d])), KeyringError); // not UTF-8
});

test("numbers are read by value; true, strings and fractions are not numbers", () => {
  for (const notation of ["3", "3.0", "3e0", "0.3e1", "30e-1"]) {
    assert.equal([...PublicKeyring.fromJSON(withKey({}).replace('"key_id":3', `"key_id":${notation}`)).keys.keys()][0], 3);
  }
  for (const bad of ["3.5", "true", '"3"', "null", "0", "256", "-1", "1e400"]) {
    assert.throws(() => PublicKeyring.fromJSON(withKey({}).replace('"key_id":3', `"key_id":${bad}`)), KeyringError, bad);
  }
  const negativeZero = listText.replace('"key_id": 3', '"key_id": 3').replace('"sequence": 7', '"sequence": -0');
  assert.throws(() => listWith(negativeZero), RevocationListError); // -0 is 0, signed as 7: the signature fails
});

test("integers above 2^53 - 1 are refused", () => {
  assert.throws(() => listWith(listText.replace('"sequence": 7', '"sequence": 9007199254740992')), RevocationListError);
  assert.throws(() => listWith(listText.replace('"sequence": 7', '"sequence": 9007199254740993')), RevocationListError);
});

test("hex is exact: 64 digits of either case, nothing else", () => {
  const key = ring.keys[2].public_key;
  assert.equal(PublicKeyring.fromJSON(withKey({ public_key: key.toUpperCase() })).keys.size, 1);
  for (const bad of [key.slice(2), key + "00", "0x" + key.slice(2), key.slice(0, 62) + " 0", key.slice(0, 63) + "g"]) {
    assert.throws(() => PublicKeyring.fromJSON(withKey({ public_key: bad })), KeyringError);
  }
  assert.throws(() => listWith(JSON.stringify({ ...list, signature: list.signature.slice(0, 126) })), RevocationListError);
});

test("unknown members are ignored at every level; the last duplicate wins", () => {
  const extra = JSON.stringify({ ...ring, comment: [1, 2], keys: ring.keys.map((k) => ({ ...k, note: { a: 1 } })) });
  assert.equal(PublicKeyring.fromJSON(extra).keys.size, 3);
  const duplicate = ringText.replace('"format": "licensing-keyring/1"', '"format": "other", "format": "licensing-keyring/1"');
  assert.equal(PublicKeyring.fromJSON(duplicate).keys.size, 3);
  assert.equal(listWith(JSON.stringify({ ...list, extra: true })).sequence, 7);
});

test("a document that breaks a rule is refused whole", () => {
  for (const bad of [
    "[]",
    "not json",
    JSON.stringify({ ...ring, format: "licensing-keyring/2" }),
    JSON.stringify({ ...ring, keys: {} }),
    JSON.stringify({ ...ring, products: null }),
    JSON.stringify({ ...ring, products: { x: 0 } }),
    JSON.stringify({ ...ring, products: { x: 1.5 } }),
    JSON.stringify({ ...ring, keys: [...ring.keys, ring.keys[0]] }),
    withKey({ status: "revoked" }),
    withKey({ status: null }),
  ]) {
    assert.throws(() => PublicKeyring.fromJSON(bad), KeyringError, bad.slice(0, 60));
  }
  assert.equal(PublicKeyring.fromJSON(JSON.stringify({ format: ring.format, keys: [{ key_id: 9, public_key: ring.keys[0].public_key }] })).keys.get(9).status, "active");
});

test("a revocation list from a retired or unknown key, or with a bad signature, is refused", () => {
  const retiredOnly = PublicKeyring.fromJSON(JSON.stringify({ ...ring, keys: [{ ...ring.keys[2], status: "retired" }] }));
  assert.throws(() => RevocationList.fromJSON(listText, retiredOnly), /retired/);
  const verifyOnly = PublicKeyring.fromJSON(JSON.stringify({ ...ring, keys: [{ ...ring.keys[2], status: "verify-only" }] }));
  assert.equal(RevocationList.fromJSON(listText, verifyOnly).sequence, 7);
  assert.throws(() => listWith(JSON.stringify({ ...list, key_id: 2 })), RevocationListError);
  assert.throws(() => listWith(JSON.stringify({ ...list, key_id: 9 })), /does not know/);
  assert.throws(() => listWith(JSON.stringify({ ...list, serials: [1638] })), /signature/);
  // Unsorted, duplicated serials are the same signed list.
  assert.equal(listWith(JSON.stringify({ ...list, serials: [...list.serials].reverse().concat(1638) })).serials.size, 3);
});

test("newestRevocations keeps the list with the higher sequence, and toJSON round-trips", async () => {
  const { newestRevocations } = await import("../dist/index.js");
  const shipped = listWith(listText);
  const again = listWith(JSON.stringify(shipped.toJSON()));
  assert.equal(again.sequence, 7);
  assert.equal(newestRevocations(shipped, null), shipped);
  assert.equal(newestRevocations(null, shipped), shipped);
  assert.equal(newestRevocations(null, null), null);
  assert.equal(newestRevocations(shipped, again), shipped); // equal sequence: the shipped one
  // A newer list, signed here with test key 3's public seed (keys.json signing_keys).
  const { ed25519 } = await import("@noble/curves/ed25519.js");
  const { revocationMessage } = await import("../dist/index.js");
  const seed = Buffer.from(readJSON("keys.json").signing_keys.find((k) => k.key_id === 3).seed, "hex");
  const signature = Buffer.from(ed25519.sign(revocationMessage(3, 8, 1772323300, [5]), seed)).toString("hex");
  const newer = listWith(JSON.stringify({ ...list, sequence: 8, issue_time: 1772323300, serials: [5], signature }));
  assert.equal(newestRevocations(shipped, newer), newer);
  assert.equal(newestRevocations(newer, shipped), newer);
});
