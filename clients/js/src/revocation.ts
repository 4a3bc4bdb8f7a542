/**
 * Signed revocation lists: how a refund reaches software that never goes online
 * (docs/key-format.md, section 6). The vendor ships the list with program updates.
 *
 * The signature covers canonical bytes, never the JSON text, so spacing and member order do not
 * matter. A program should keep the highest `sequence` it has accepted and refuse an older list
 * (`newerThan`), so an old list cannot be replayed to un-revoke a serial.
 */

import { concatBytes, fromHex, toHex, utf8 } from "./bytes.js";
import { verify } from "./ed25519.js";
import { RevocationListError } from "./errors.js";
import { type Document, member, parseObject, wholeNumber } from "./json.js";
import type { PublicKeyring } from "./keyring.js";

export const REVOCATIONS_FORMAT = "licensing-revocations/1";
const REVOCATIONS_CONTEXT = utf8("licensing.v1/revocations\u0000");
const MAX_SERIAL = 2 ** 48 - 1;
const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER; // 2^53 - 1
const MAX_ISSUE_TIME = 253402300799; // 9999-12-31T23:59:59Z

function bigEndian(value: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = value % 256;
    value = Math.floor(value / 256);
  }
  return out;
}

/** The exact bytes a revocation list's signature covers; serials are sorted and unique. */
export function revocationMessage(keyId: number, sequence: number, issueTime: number, serials: Iterable<number>): Uint8Array {
  const ordered = [...new Set(serials)].sort((a, b) => a - b);
  return concatBytes(
    REVOCATIONS_CONTEXT,
    bigEndian(keyId, 1),
    bigEndian(sequence, 8),
    bigEndian(issueTime, 8),
    bigEndian(ordered.length, 4),
    ...ordered.map((serial) => bigEndian(serial, 6)),
  );
}

/** A revocation list whose signature has been checked against a keyring. */
export class RevocationList {
  readonly keyId: number;
  readonly sequence: number;
  /** Unix seconds, UTC. */
  readonly issueTime: number;
  readonly serials: ReadonlySet<number>;
  readonly signature: Uint8Array;

  private constructor(keyId: number, sequence: number, issueTime: number, serials: ReadonlySet<number>, signature: Uint8Array) {
    this.keyId = keyId;
    this.sequence = sequence;
    this.issueTime = issueTime;
    this.serials = serials;
    this.signature = signature;
    Object.freeze(this);
  }

  /** The document again, for a program to keep (the signature covers values, not the text). */
  toJSON(): Record<string, unknown> {
    return {
      format: REVOCATIONS_FORMAT,
      key_id: this.keyId,
      sequence: this.sequence,
      issue_time: this.issueTime,
      serials: [...this.serials].sort((a, b) => a - b),
      signature: toHex(this.signature),
    };
  }

  has(serial: number): boolean {
    return this.serials.has(serial);
  }

  newerThan(sequence: number): boolean {
    return this.sequence > sequence;
  }

  /** Parse and verify; throw RevocationListError unless the document is valid and its signature checks out. */
  static fromJSON(document: Document, keyring: PublicKeyring): RevocationList {
    const data = parseObject(document);
    if (data === null) throw new RevocationListError("the revocation list is not a JSON document with an object at the top");
    if (member(data, "format") !== REVOCATIONS_FORMAT) {
      throw new RevocationListError(`the revocation list's format is not '${REVOCATIONS_FORMAT}'`);
    }
    const keyId = wholeNumber(member(data, "key_id"), 0, 255);
    const sequence = wholeNumber(member(data, "sequence"), 0, MAX_SEQUENCE);
    const issueTime = wholeNumber(member(data, "issue_time"), 0, MAX_ISSUE_TIME);
    if (keyId === null || sequence === null || issueTime === null) {
      throw new RevocationListError("key_id, sequence and issue_time must be whole numbers in range");
    }
    const rawSerials = member(data, "serials");
    if (!Array.isArray(rawSerials)) throw new RevocationListError("serials must be a list of whole numbers");
    const serials: number[] = [];
    for (const value of rawSerials) {
      const serial = wholeNumber(value, 0, MAX_SERIAL);
      if (serial === null) throw new RevocationListError("serials must be whole numbers below 2**48");
      serials.push(serial);
    }
    const signatureText = member(data, "signature");
    if (typeof signatureText !== "string") throw new RevocationListError("the revocation list has no signature");
    const key = keyring.keys.get(keyId);
    if (key === undefined) {
      throw new RevocationListError(`the revocation list is signed by key ${keyId}, which this program does not know`);
    }
    if (key.retired) {
      throw new RevocationListError(`the revocation list is signed by key ${keyId}, which the vendor has retired`);
    }
    const signature = fromHex(signatureText, 64);
    if (signature === null || !verify(signature, revocationMessage(keyId, sequence, issueTime, serials), key.publicKey)) {
      throw new RevocationListError("the revocation list's signature does not check out");
    }
    return new RevocationList(keyId, sequence, issueTime, new Set(serials), signature);
  }
}

/**
 * The revocation list to use: the one shipped now, unless a newer one (higher sequence) was
 * kept from before. A program keeps what this returns (JSON.stringify(list), in its settings)
 * and passes it back as `kept` at the next start, so reinstalling an older build, which ships an
 * older list, cannot un-revoke a key. Both lists must be verified already. Pure: no storage.
 */
export function newestRevocations(shipped: RevocationList | null, kept: RevocationList | null): RevocationList | null {
  if (kept === null) return shipped;
  if (shipped === null || kept.sequence > shipped.sequence) return kept;
  return shipped;
}
