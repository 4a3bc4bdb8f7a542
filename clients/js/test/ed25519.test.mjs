// Raw Ed25519 under docs/key-format.md section 1.2: the reference's verdict on every CCTV and
// Wycheproof case (tests/vectors/ed25519-verdicts.json), with no disagreement allowed.
import assert from "node:assert/strict";
import { test } from "node:test";

import { verifyEd25519 } from "../dist/index.js";
import { hex, readJSON } from "./helpers.mjs";

const { cases } = readJSON("ed25519-verdicts.json");

test("the verdicts cover every CCTV and Wycheproof case", () => {
  const cctv = readJSON("ed25519/cctv-ed25519vectors.json");
  const wycheproof = readJSON("ed25519/wycheproof-ed25519_test.json").testGroups.flatMap((g) => g.tests);
  assert.equal(cases.filter((c) => c.source.startsWith("cctv/")).length, cctv.length);
  assert.equal(cases.filter((c) => c.source.startsWith("wycheproof/")).length, wycheproof.length);
  assert.equal(cases.filter((c) => c.source.startsWith("cctv/") && c.valid).length, 43);
});

test("every verdict equals the reference's", () => {
  const disagreements = cases.filter((c) => verifyEd25519(hex(c.signature), hex(c.message), hex(c.public_key)) !== c.valid);
  assert.deepEqual(disagreements.map((c) => `${c.source}: reference says ${c.valid}`), []);
});

test("the CCTV cases agree with their own files, read directly", () => {
  const cctv = readJSON("ed25519/cctv-ed25519vectors.json");
  const verdicts = new Map(cases.map((c) => [c.source, c.valid]));
  for (const c of cctv) {
    const got = verifyEd25519(hex(c.sig), new TextEncoder().encode(c.msg), hex(c.key));
    assert.equal(got, verdicts.get(`cctv/${c.number}`), `cctv/${c.number} ${c.flags}`);
  }
});

test("wrong lengths and a flipped bit are refused", () => {
  const good = cases.find((c) => c.source.startsWith("wycheproof/") && c.valid);
  const [sig, msg, pk] = [hex(good.signature), hex(good.message), hex(good.public_key)];
  assert.equal(verifyEd25519(sig, msg, pk), true);
  assert.equal(verifyEd25519(sig.subarray(0, 63), msg, pk), false);
  assert.equal(verifyEd25519(sig, msg, pk.subarray(0, 31)), false);
  for (let bit = 0; bit < 512; bit += 37) {
    const flipped = Uint8Array.from(sig);
    flipped[bit >> 3] ^= 1 << (bit & 7);
    assert.equal(verifyEd25519(flipped, msg, pk), false, `bit ${bit}`);
  }
});

test("[s]B - [k]A by the wNAF pass equals noble's separate multiplications", async () => {
  const { doubleScalarMultiply } = await import("../dist/ed25519.js");
  const { ed25519 } = await import("@noble/curves/ed25519.js");
  const { sha512 } = await import("@noble/hashes/sha2.js");
  const { Point } = ed25519;
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const scalar = (seed) => BigInt("0x" + Buffer.from(sha512(new TextEncoder().encode(seed))).toString("hex")) % L;
  const scalars = [0n, 1n, 2n, 15n, 16n, 31n, L - 1n, L - 16n, 2n ** 252n];
  for (let i = 0; i < 12; i++) scalars.push(scalar(`s${i}`));
  const points = [Point.BASE, Point.BASE.multiply(scalar("a")), Point.fromBytes(hex(cases.find((c) => c.valid).public_key))];
  for (const a of points) {
    for (let i = 0; i < scalars.length; i++) {
      const [s, k] = [scalars[i], scalars[(i * 7 + 3) % scalars.length]];
      const expected = Point.BASE.multiplyUnsafe(s).subtract(a.multiplyUnsafe(k));
      assert.ok(doubleScalarMultiply(s, k, a).equals(expected), `s=${s} k=${k}`);
    }
  }
});
