// The RFC 3454 tables: the committed file is what scripts/gen_stringprep.py makes from Python's
// stringprep module, and the host's NFKC equals Unicode 3.2's wherever the email rules use it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

import * as T from "../dist/generated/stringprep.js";
import { inRanges, mapB2 } from "../dist/stringprep.js";
import { PACKAGE } from "./helpers.mjs";

const python = (args, input) => execFileSync("python3", args, { cwd: PACKAGE, input, encoding: "utf8", maxBuffer: 1 << 28 });

test("src/generated/stringprep.ts is what the script makes now", () => {
  // --check exits 1 (execFileSync throws) when the committed file has drifted.
  python([join("scripts", "gen_stringprep.py"), "--check"]);
});

test("the range tables are sorted, disjoint and answer like Python's stringprep", () => {
  for (const [name, table] of Object.entries(T)) {
    if (!Array.isArray(table) || name === "B2") continue;
    for (let i = 1; i < table.length; i++) assert.ok(table[i - 1] < table[i] || (i % 2 === 1 && table[i - 1] === table[i]), name);
  }
  assert.ok(inRanges(T.A1, 0x221) && inRanges(T.A1, 0x1f600) && inRanges(T.A1, 0xab70) && !inRanges(T.A1, 0x41));
  assert.ok(inRanges(T.B1, 0xad) && inRanges(T.B1, 0x200b) && inRanges(T.C5, 0xd800) && inRanges(T.C3, 0xe000));
  assert.equal(mapB2(0xdf), "ss");
  assert.equal(mapB2(0x130), "i\u0307");
  assert.equal(mapB2(0x13a0), "\u13a0"); // Cherokee capital: lower-cased only after Unicode 3.2
});

// For every code point assigned in Unicode 3.2 (not in A.1, not one of the six corrected, not a
// surrogate), and for every B.2 mapping, Python's ucd_3_2_0 NFKC, written where it changes the text.
const REFERENCE_NFKC = String.raw`
import json, stringprep, sys
from unicodedata import ucd_3_2_0
six = {0xF951, 0x2F868, 0x2F874, 0x2F91F, 0x2F95F, 0x2F9BF}
single, b2 = {}, {}
count = 0
for cp in range(0x110000):
    ch = chr(cp)
    if 0xD800 <= cp <= 0xDFFF or cp in six or stringprep.in_table_a1(ch):
        continue
    count += 1
    out = ucd_3_2_0.normalize("NFKC", ch)
    if out != ch:
        single[cp] = out
mapping = json.loads(sys.stdin.read())
for cp, text in mapping:
    b2[cp] = ucd_3_2_0.normalize("NFKC", text)
print(json.dumps({"count": count, "single": single, "b2": b2}))
`;

test("the host's NFKC equals Unicode 3.2's on every code point the email rules let through", () => {
  const pairs = [];
  for (let i = 0; i < T.B2.length; i += 2) pairs.push([T.B2[i], T.B2[i + 1]]);
  const reference = JSON.parse(python(["-c", REFERENCE_NFKC], JSON.stringify(pairs)));
  const six = new Set([0xf951, 0x2f868, 0x2f874, 0x2f91f, 0x2f95f, 0x2f9bf]);
  const differences = [];
  let count = 0;
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if ((cp >= 0xd800 && cp <= 0xdfff) || six.has(cp) || inRanges(T.A1, cp)) continue;
    count++;
    const ch = String.fromCodePoint(cp);
    const expected = reference.single[cp] ?? ch;
    if (ch.normalize("NFKC") !== expected) differences.push(cp.toString(16));
  }
  assert.equal(count, reference.count);
  for (const [cp, text] of pairs) if (text.normalize("NFKC") !== reference.b2[cp]) differences.push(`B.2 ${cp.toString(16)}`);
  assert.deepEqual(differences, []);
});

test("the corrected code points are where Unicode 3.2 and the host disagree", () => {
  // Why step 4 refuses them: without it, the host's NFKC would differ from the reference's.
  const script = "import json; from unicodedata import ucd_3_2_0 as u; print(json.dumps([u.normalize('NFKC', chr(c)) for c in (0xF951, 0x2F868, 0x2F874, 0x2F91F, 0x2F95F, 0x2F9BF)]))";
  const reference = JSON.parse(python(["-c", script]));
  const host = [0xf951, 0x2f868, 0x2f874, 0x2f91f, 0x2f95f, 0x2f9bf].map((c) => String.fromCodePoint(c).normalize("NFKC"));
  // Python's 3.2 data already carries the correction of U+F951; the other five differ.
  assert.ok(host.filter((text, i) => text !== reference[i]).length >= 5);
});
