// Benchmark of the TypeScript client (clients/js/README.md reports its figures).
//
//   node bench/bench.mjs [--rounds 7] [--keys 300] [--starts 15]
//
// 1. Throughput: keys validated per second (validate(): read, email, signature, terms) against
//    the package's own raw Ed25519 verify of the same signed message, and noble's verify, in
//    interleaved rounds. The target is validate >= 0.90x the raw verify.
// 2. Start-up: a Node process that loads the package and validates one key, against one that
//    only loads @noble/curves; CPU and wall time, in interleaved rounds. The target is within 10 ms.
// Figures are medians with the range (min..max) over the rounds.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { ed25519 } from "@noble/curves/ed25519.js";

import { emailDigest, normalizeEmail, PublicKeyring, readKeyBytes, signedMessage, validate, verifyEd25519 } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const vectors = join(here, "..", "..", "..", "tests", "vectors");
const argument = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
};
const ROUNDS = argument("--rounds", 7);
const KEYS = argument("--keys", 300);
const STARTS = argument("--starts", 15);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const summary = (values, digits = 0) =>
  `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}..${Math.max(...values).toFixed(digits)})`;

const keyringText = readFileSync(join(vectors, "keyring.json"));
const keyring = PublicKeyring.fromJSON(keyringText);
const vector = JSON.parse(readFileSync(join(vectors, "keys.json"), "utf8")).keys.find((v) => v.name === "valid/perpetual");
const now = new Date(vector.now);
const raw = readKeyBytes(vector.key);
const message = signedMessage(raw.subarray(0, 23), emailDigest(normalizeEmail(vector.email)));
const signature = raw.slice(23, 87);
const publicKey = keyring.keys.get(raw[1]).publicKey;

const contenders = {
  validate: () => validate(vector.key, vector.email, vector.product, keyring, now),
  "raw verify (this package)": () => {
    if (!verifyEd25519(signature, message, publicKey)) throw new Error("verify failed");
  },
  "noble ed25519.verify": () => {
    if (!ed25519.verify(signature, message, publicKey, { zip215: false })) throw new Error("verify failed");
  },
};

function rate(run) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < KEYS; i++) run();
  return KEYS / (Number(process.hrtime.bigint() - start) / 1e9);
}

for (const run of Object.values(contenders)) for (let i = 0; i < 30; i++) run(); // warm-up
const rates = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
const ratios = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = Object.keys(contenders);
  if (round % 2) order.reverse(); // interleaved, alternating order
  const got = {};
  for (const name of order) got[name] = rate(contenders[name]);
  for (const name of order) rates[name].push(got[name]);
  ratios.push(got.validate / got["raw verify (this package)"]);
}
console.log(`Node ${process.version}, ${ROUNDS} rounds of ${KEYS} keys each`);
console.log("throughput, per second: median (min..max)");
for (const [name, values] of Object.entries(rates)) console.log(`  ${name.padEnd(28)}${summary(values)}`);
console.log(`  validate / raw verify, per round: ${summary(ratios, 3)}  (target >= 0.90)`);

function start(script, args) {
  const begin = process.hrtime.bigint();
  const child = spawnSync(process.execPath, [join(here, script), ...args], { encoding: "utf8" });
  const wall = Number(process.hrtime.bigint() - begin) / 1e6;
  if (child.status !== 0) throw new Error(`${script} failed: ${child.stderr}`);
  return { wall, ...JSON.parse(child.stdout) };
}

const probes = {
  "package + validate one key": ["startup-package.mjs", [join(vectors, "keyring.json"), vector.key, vector.email]],
  "@noble/curves only": ["startup-noble.mjs", []],
};
const starts = Object.fromEntries(Object.keys(probes).map((name) => [name, { wall: [], cpu: [] }]));
const deltas = { wall: [], cpu: [] };
start(...probes["@noble/curves only"]); // the first start pays for the disk cache
for (let round = 0; round < STARTS; round++) {
  const order = Object.keys(probes);
  if (round % 2) order.reverse();
  const got = {};
  for (const name of order) got[name] = start(...probes[name]);
  for (const name of order) {
    starts[name].wall.push(got[name].wall);
    starts[name].cpu.push(got[name].cpu_ms);
  }
  deltas.wall.push(got["package + validate one key"].wall - got["@noble/curves only"].wall);
  deltas.cpu.push(got["package + validate one key"].cpu_ms - got["@noble/curves only"].cpu_ms);
}
console.log(`start-up of a Node process, ms, ${STARTS} interleaved rounds: median (min..max)`);
for (const [name, { wall, cpu }] of Object.entries(starts)) {
  console.log(`  ${name.padEnd(28)}wall ${summary(wall, 1)}   cpu ${summary(cpu, 1)}`);
}
console.log(`  difference, per round:       wall ${summary(deltas.wall, 1)}   cpu ${summary(deltas.cpu, 1)}  (target within 10 ms)`);
