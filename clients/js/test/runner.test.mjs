// The conformance runner (tests/vectors/README.md): one line out per line in, written as
// Python's json.dumps(obj, separators=(",", ":")) writes it. The 21,065-case comparison with the
// reference runs in tests/conformance/test_differential.py.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

import { pyDumps } from "../dist/pyjson.js";
import { PACKAGE, readJSON, readVector } from "./helpers.mjs";

const runner = join(PACKAGE, "dist", "conformance-runner.js");
const run = (requests) =>
  execFileSync("node", [runner], { input: requests.map((r) => JSON.stringify(r)).join("\n") + "\n", encoding: "utf8" })
    .split("\n")
    .slice(0, -1);

test("strings are escaped as Python's ensure_ascii does", () => {
  const samples = ["plain", 'q"b\\s', "\n\r\t\b\f\u0000\u001f\u007f", "é\u00a0\u2028", "😀", "\ud800", "~ "];
  const python = execFileSync(
    "python3",
    ["-c", "import json,sys; print('\\n'.join(json.dumps(s, separators=(',', ':')) for s in json.load(sys.stdin)))"],
    { input: JSON.stringify(samples), encoding: "utf8" },
  );
  assert.deepEqual(samples.map((s) => pyDumps(s)), python.trimEnd().split("\n"));
  assert.equal(pyDumps(new Map([["2", 1], ["10", 2]])), '{"2":1,"10":2}');
  assert.equal(pyDumps({ valid: false, reason: "EXPIRED" }, false), '{"valid": false, "reason": "EXPIRED"}');
});

test("every key vector through the runner gives the result document", () => {
  const vectors = readJSON("keys.json").keys;
  const keyring = readVector("keyring.json").toString("utf8");
  const revocations = readVector("revocations.json").toString("utf8");
  const requests = vectors.map((v) => ({
    op: "validate",
    key: v.key,
    email: v.email,
    product: v.product,
    now: v.now,
    build_date: v.build_date,
    keyring,
    revocations,
  }));
  const answers = run(requests).map((line) => JSON.parse(line));
  // The result document carries no terms on failure (docs/key-format.md section 4).
  const expected = vectors.map((v) => (v.expected.valid ? v.expected : { valid: false, reason: v.expected.reason }));
  assert.deepEqual(answers, expected);
});

test("each op answers in the protocol's shape and order", () => {
  const keyring = readVector("keyring.json").toString("utf8");
  const answers = run([
    { op: "email", email: "Jürgen@Example.DE" },
    { op: "email", email: "nobody" },
    { op: "keyring", keyring },
    { op: "keyring", keyring: "{}" },
    { op: "revocations", keyring, revocations: readVector("revocations.json").toString("utf8") },
    { op: "validate", key: "x", email: "a@b.c", product: 1, now: "2026-01-01T00:00:00Z", build_date: null, keyring: "[]", revocations: null },
    { op: "validate", key: "x", email: "a@b.c", product: 1, now: "2026-01-01T00:00:00+02:00", build_date: null, keyring, revocations: "{}" },
    { op: "decode", key: "0000" },
    { op: "verify", public_key: "00".repeat(32), signature: "00".repeat(64), message: "" },
  ]);
  assert.match(answers[0], /^\{"normalized":"j\\u00fcrgen@example\.de","digest":"[0-9a-f]{64}"\}$/);
  assert.equal(answers[1], '{"normalized":null}');
  assert.match(answers[2], /^\{"ok":true,"keys":\[\[1,"[0-9a-f]{64}","retired"\],\[2,.*"products":\{"audio-lite":300,"photo-pro":1,"video-max":2\}\}$/);
  assert.equal(answers[3], '{"ok":false}');
  assert.equal(answers[4], '{"ok":true,"key_id":3,"sequence":7,"issue_time":1772323200,"serials":[1638,68719476737,281474976710655]}');
  assert.equal(answers[5], '{"error":"KEYRING"}');
  assert.equal(answers[6], '{"error":"REVOCATIONS"}');
  assert.equal(answers[7], '{"reason":"MALFORMED"}');
  assert.equal(answers[8], '{"ok":false}');
});
