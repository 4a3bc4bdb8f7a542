#!/usr/bin/env node
/**
 * The conformance runner (tests/vectors/README.md): JSON lines in on stdin, one JSON line out
 * per line, in order, written at once. Every client has one; tests/conformance/ requires their
 * outputs to be byte-identical, so the output is written as Python's json.dumps writes it.
 *
 *     node clients/js/dist/conformance-runner.js < requests.jsonl
 */

import { createInterface } from "node:readline";

import { fromHex, toHex } from "./bytes.js";
import { parseDate, parseInstant } from "./days.js";
import {
  emailDigest,
  LicenseError,
  normalizeEmail,
  PublicKeyring,
  readKeyBytes,
  RevocationList,
  validate,
  verifyEd25519 as verify,
} from "./index.js";
import { pyDumps, type PyValue } from "./pyjson.js";

type Request = Record<string, unknown>;

const str = (value: unknown): string => {
  if (typeof value !== "string") throw new TypeError("expected a string");
  return value;
};

function keyringOrNull(text: unknown): PublicKeyring | null {
  try {
    return PublicKeyring.fromJSON(str(text));
  } catch {
    return null;
  }
}

function revocationsOrNull(text: unknown, keyring: PublicKeyring): RevocationList | null {
  try {
    return RevocationList.fromJSON(str(text), keyring);
  } catch {
    return null;
  }
}

function emailOp(request: Request): PyValue {
  let normalized: string;
  try {
    normalized = normalizeEmail(str(request.email));
  } catch {
    return { normalized: null };
  }
  return { normalized, digest: toHex(emailDigest(normalized)) };
}

function keyringOp(request: Request): PyValue {
  const keyring = keyringOrNull(request.keyring);
  if (keyring === null) return { ok: false };
  const keys = [...keyring.keys.values()].sort((a, b) => a.keyId - b.keyId).map((k) => [k.keyId, toHex(k.publicKey), k.status]);
  // Sorted by code, as Python sorts strings: by code point (not by UTF-16 unit, as JS's sort does).
  const byCodePoint = (a: string, b: string): number => {
    const [x, y] = [Array.from(a, (c) => c.codePointAt(0)!), Array.from(b, (c) => c.codePointAt(0)!)];
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  };
  const products = new Map([...keyring.products].sort(([a], [b]) => byCodePoint(a, b)));
  return { ok: true, keys, products };
}

function revocationsOp(request: Request): PyValue {
  const keyring = keyringOrNull(request.keyring);
  const list = keyring === null ? null : revocationsOrNull(request.revocations, keyring);
  if (list === null) return { ok: false };
  return {
    ok: true,
    key_id: list.keyId,
    sequence: list.sequence,
    issue_time: list.issueTime,
    serials: [...list.serials].sort((a, b) => a - b),
  };
}

function validateOp(request: Request): PyValue {
  const keyring = keyringOrNull(request.keyring);
  if (keyring === null) return { error: "KEYRING" };
  let revocations: RevocationList | null = null;
  if (request.revocations !== null && request.revocations !== undefined) {
    revocations = revocationsOrNull(request.revocations, keyring);
    if (revocations === null) return { error: "REVOCATIONS" };
  }
  const now = parseInstant(str(request.now));
  if (now === null) throw new TypeError("now is not an ISO 8601 instant with an offset");
  const buildDate = request.build_date === null || request.build_date === undefined ? null : str(request.build_date);
  if (buildDate !== null && parseDate(buildDate) === null) throw new TypeError("build_date is not YYYY-MM-DD");
  try {
    const license = validate(str(request.key), str(request.email), request.product as number, keyring, now, {
      buildDate,
      revocations,
    });
    return { valid: true, license: { ...license.toJSON() } };
  } catch (error) {
    if (error instanceof LicenseError) return { valid: false, reason: error.reason };
    throw error;
  }
}

function verifyOp(request: Request): PyValue {
  const publicKey = fromHex(request.public_key, 32);
  const signature = fromHex(request.signature, 64);
  const messageHex = request.message;
  const message = typeof messageHex === "string" && messageHex.length % 2 === 0 ? fromHex(messageHex, messageHex.length / 2) : null;
  const ok = publicKey !== null && signature !== null && message !== null && verify(signature, message, publicKey);
  return { ok };
}

function decodeOp(request: Request): PyValue {
  try {
    return { bytes: toHex(readKeyBytes(str(request.key))) };
  } catch (error) {
    if (error instanceof LicenseError) return { reason: error.reason };
    throw error;
  }
}

const OPS: Record<string, (request: Request) => PyValue> = {
  email: emailOp,
  keyring: keyringOp,
  revocations: revocationsOp,
  validate: validateOp,
  verify: verifyOp,
  decode: decodeOp,
};

/** One output line for one input line. A request the protocol does not allow gets {"error": "REQUEST"}. */
export function answer(line: string): string {
  let result: PyValue;
  try {
    const request = JSON.parse(line) as unknown;
    if (typeof request !== "object" || request === null || Array.isArray(request)) throw new TypeError("not an object");
    const op = (request as Request).op;
    const handler = typeof op === "string" && Object.prototype.hasOwnProperty.call(OPS, op) ? OPS[op] : undefined;
    if (handler === undefined) throw new TypeError("unknown op");
    result = handler(request as Request);
  } catch {
    result = { error: "REQUEST" };
  }
  return pyDumps(result);
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  process.stdout.write(answer(line) + "\n");
});
