// What the built package may touch: no network API anywhere, no node: module in the validation
// core (it runs in Electron's renderer), and the clock helper.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";

import { checkClock, DEFAULT_TOLERANCE_MS } from "../dist/index.js";
import { PACKAGE } from "./helpers.mjs";

const dist = join(PACKAGE, "dist");
const files = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
const built = files(dist).filter((f) => f.endsWith(".js"));
const NODE_ALLOWED = new Set(["cli.js", "conformance-runner.js", "files.js"]);

test("no built file references a network API", () => {
  const network = /\b(https?|net|tls|dgram|fetch|XMLHttpRequest|WebSocket|EventSource|sendBeacon)\b/;
  assert.ok(built.length > 10);
  for (const file of built) {
    const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ""); // comments may say "network"
    assert.doesNotMatch(code, network, relative(PACKAGE, file));
  }
});

test("the runtime dependencies reference no network API either", () => {
  const noble = [join(PACKAGE, "node_modules", "@noble", "curves"), join(PACKAGE, "node_modules", "@noble", "hashes")];
  for (const file of noble.flatMap(files).filter((f) => f.endsWith(".js") && !f.includes("/src/"))) {
    const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    assert.doesNotMatch(code, /\b(require|import)\s*\(?\s*["'](node:)?(https?|net|tls|dgram)["']|\bfetch\s*\(|XMLHttpRequest|WebSocket/, file);
  }
});

test("the validation core imports no node: module", () => {
  for (const file of built) {
    if (NODE_ALLOWED.has(relative(dist, file))) continue;
    const code = readFileSync(file, "utf8");
    assert.doesNotMatch(code, /from\s+["']node:|require\(|import\(["']node:|\bprocess\.|\bBuffer\b/, relative(PACKAGE, file));
  }
});

test("checkClock keeps the latest time and flags a clock set back beyond the tolerance", () => {
  const t = (iso) => new Date(iso);
  const first = checkClock(t("2026-05-01T12:00:00Z"), null);
  assert.deepEqual(first, { highWaterMark: t("2026-05-01T12:00:00Z"), setBack: false, setBackByMs: 0 });
  const later = checkClock(t("2026-05-02T00:00:00Z"), first.highWaterMark);
  assert.equal(later.highWaterMark.toISOString(), "2026-05-02T00:00:00.000Z");
  const slightly = checkClock(t("2026-05-01T00:00:00Z"), later.highWaterMark);
  assert.deepEqual([slightly.setBack, slightly.setBackByMs, slightly.highWaterMark], [false, 86_400_000, later.highWaterMark]);
  const far = checkClock(new Date(later.highWaterMark.getTime() - DEFAULT_TOLERANCE_MS - 1), later.highWaterMark);
  assert.equal(far.setBack, true);
  assert.throws(() => checkClock(new Date(NaN), null), TypeError);
});
