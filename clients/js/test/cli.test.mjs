// license-check: the same flags, output and exit status as the Python client's.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { PACKAGE, readJSON, VECTORS } from "./helpers.mjs";

const cli = join(PACKAGE, "dist", "cli.js");
const vectors = readJSON("keys.json").keys;
const byName = (name) => vectors.find((v) => v.name === name);
const keyring = join(VECTORS, "keyring.json");
const revocations = join(VECTORS, "revocations.json");

function check(vector, ...extra) {
  const args = ["--key", vector.key, "--email", vector.email, "--product", String(vector.product), "--keyring", keyring, "--now", vector.now];
  return spawnSync("node", [cli, ...args, ...extra], { encoding: "utf8" });
}

test("a valid key: exit 0 and the terms; --json prints the result document", () => {
  const vector = byName("valid/perpetual");
  const plain = check(vector);
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stdout, /^valid\n {2}product: {7}1 \(photo-pro\)\n {2}serial: {8}0000000003E9\n/);
  const json = check(vector, "--json");
  assert.equal(json.status, 0);
  assert.deepEqual(JSON.parse(json.stdout), vector.expected);
  assert.match(json.stdout, /^\{"valid": true, "license": \{"key_id": 3, /); // Python's json.dumps spacing
});

test("an invalid key: exit 1 and the reason; --json without terms", () => {
  const vector = byName("revoked");
  const plain = check(vector, "--revocations", revocations);
  assert.equal(plain.status, 1);
  assert.match(plain.stdout, /^not valid: REVOKED\n {2}license 000000000666 has been revoked\n {2}product:/);
  const json = check(vector, "--revocations", revocations, "--json");
  assert.equal(json.status, 1);
  assert.equal(json.stdout, '{"valid": false, "reason": "REVOKED"}\n');
  assert.ok(!json.stdout.includes(vector.email) && !plain.stdout.includes(vector.key));
});

test("the check cannot run: exit 2 with one line naming what is wrong", () => {
  const vector = byName("valid/perpetual");
  const dir = mkdtempSync(join(tmpdir(), "license-check-"));
  writeFileSync(join(dir, "bad.json"), "{}");
  const cases = [
    [["--keyring", join(dir, "missing.json")], /cannot read the keyring/],
    [["--keyring", join(dir, "bad.json")], /keyring .*bad\.json: /],
    [["--revocations", join(dir, "bad.json")], /revocation list .*bad\.json: /],
    [["--product", "no-such-product"], /--product: product "no-such-product" is not named/],
    [["--product", "0"], /--product: a product number is from 1 to 65535, not 0/],
    [["--now", "yesterday"], /--now 'yesterday' is not an ISO 8601/],
    [["--build-date", "2026-13-01"], /--build-date '2026-13-01' is not a date/],
    [["--bogus"], /unrecognized arguments: --bogus/],
  ];
  for (const [extra, message] of cases) {
    const result = check(vector, ...extra);
    assert.equal(result.status, 2, extra.join(" "));
    assert.equal(result.stdout, "");
    assert.match(result.stderr.split("\n").at(-2), message);
    assert.match(result.stderr.split("\n").at(-2), /^license-check: error: /);
  }
  const missing = spawnSync("node", [cli, "--key", "x"], { encoding: "utf8" });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /the following arguments are required: --email, --product, --keyring/);
});

test("options by unambiguous prefix and with =, as argparse reads them", () => {
  const vector = byName("valid/perpetual");
  const result = spawnSync(
    "node",
    [cli, `--key=${vector.key}`, "--em", vector.email, "--prod", "photo-pro", "--keyr", keyring, "--now", vector.now, "--js"],
    { encoding: "utf8" },
  );
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), vector.expected);
});

test("--revocations-state keeps the newest list, so a later run without it still sees the revocation", async () => {
  const { statSync, readFileSync } = await import("node:fs");
  const vector = byName("revoked");
  const state = join(mkdtempSync(join(tmpdir(), "license-state-")), "revocations-state.json");
  const first = check(vector, "--revocations", revocations, "--revocations-state", state, "--json");
  assert.equal(first.status, 1);
  assert.equal(statSync(state).mode & 0o777, 0o600);
  assert.equal(JSON.parse(readFileSync(state, "utf8")).sequence, 7);
  const later = check(vector, "--revocations-state", state, "--json");
  assert.equal(later.stdout, '{"valid": false, "reason": "REVOKED"}\n');
  writeFileSync(state, "{}");
  assert.equal(check(vector, "--revocations-state", state).status, 2);
});
