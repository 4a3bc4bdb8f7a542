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

// Each round runs the contenders in alternating batches of BATCH keys, so that load from other
// processes falls on all of them alike; wall and CPU time are summed per contender.
const BATCH = 20;
function round() {
  const names = Object.keys(contenders);
  const wall = Object.fromEntries(names.map((n) => [n, 0]));
  const cpu = Object.fromEntries(names.map((n) => [n, 0]));
  for (let done = 0, turn = 0; done < KEYS; done += BATCH, turn++) {
    for (const name of turn % 2 ? [...names].reverse() : names) {
      const run = contenders[name];
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < BATCH; i++) run();
      wall[name] += Number(process.hrtime.bigint() - t0) / 1e9;
      const c = process.cpuUsage(c0);
      cpu[name] += (c.user + c.system) / 1e6;
    }
  }
  const keys = Math.ceil(KEYS / BATCH) * BATCH;
  return Object.fromEntries(names.map((n) => [n, { wall: keys / wall[n], cpu: keys / cpu[n] }]));
}

for (const run of Object.values(contenders)) for (let i = 0; i < 30; i++) run(); // warm-up
const rates = Object.fromEntries(Object.keys(contenders).map((name) => [name, { wall: [], cpu: [] }]));
const ratios = { wall: [], cpu: [] };
for (let r = 0; r < ROUNDS; r++) {
  const got = round();
  for (const [name, value] of Object.entries(got)) {
    rates[name].wall.push(value.wall);
    rates[name].cpu.push(value.cpu);
  }
  for (const kind of ["wall", "cpu"]) ratios[kind].push(got.validate[kind] / got["raw verify (this package)"][kind]);
}
console.log(`Node ${process.version}, ${ROUNDS} rounds of ${KEYS} keys per contender, in alternating batches of ${BATCH}`);
console.log("throughput, keys per second of wall time | of CPU time: median (min..max)");
for (const [name, { wall, cpu }] of Object.entries(rates)) {
  console.log(`  ${name.padEnd(28)}wall ${summary(wall)}   cpu ${summary(cpu)}`);
}
console.log(`  validate / raw verify:       wall ${summary(ratios.wall, 3)}   cpu ${summary(ratios.cpu, 3)}  (target >= 0.90)`);

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
