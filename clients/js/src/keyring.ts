/**
 * The public keyring a program is built with: key IDs, Ed25519 public keys, their status, and
 * product codes (docs/key-format.md, section 5).
 *
 *     {"format": "licensing-keyring/1",
 *      "keys": [{"key_id": 3, "public_key": "<64 hex>", "status": "active"}, ...],
 *      "products": {"photo-pro": 1}}
 */

import { fromHex } from "./bytes.js";
import { KeyringError } from "./errors.js";
import { type Document, isObject, member, parseObject, wholeNumber } from "./json.js";

export const KEYRING_FORMAT = "licensing-keyring/1";
export const KEY_STATUSES = ["active", "verify-only", "retired"] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

/** One signing key's public half, checked on construction. */
export class PublicKey {
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  readonly status: KeyStatus;

  constructor(keyId: number, publicKey: Uint8Array, status: KeyStatus = "active") {
    if (wholeNumber(keyId, 1, 255) === null) throw new KeyringError("a key_id is a whole number from 1 to 255");
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
      throw new KeyringError(`key ${keyId}: a public key is exactly 32 bytes`);
    }
    if (!KEY_STATUSES.includes(status)) {
      throw new KeyringError(`key ${keyId}: status must be one of ${KEY_STATUSES.join(", ")}`);
    }
    this.keyId = keyId;
    this.publicKey = Uint8Array.from(publicKey);
    this.status = status;
    Object.freeze(this);
  }

  get retired(): boolean {
    return this.status === "retired";
  }
}

/** The vendor's public keys by key ID, and product codes by name (in document order). */
export class PublicKeyring {
  readonly keys: ReadonlyMap<number, PublicKey>;
  readonly products: ReadonlyMap<string, number>;

  constructor(keys: Iterable<PublicKey>, products: Iterable<[string, number]> = []) {
    const byId = new Map<number, PublicKey>();
    for (const key of keys) {
      if (byId.has(key.keyId)) throw new KeyringError(`key ${key.keyId} appears twice`);
      byId.set(key.keyId, key);
    }
    const byCode = new Map<string, number>();
    for (const [code, number] of products) {
      if (wholeNumber(number, 1, 0xffff) === null) {
        throw new KeyringError(`product ${JSON.stringify(code)} needs a number from 1 to 65535`);
      }
      byCode.set(code, number === 0 ? 0 : number);
    }
    this.keys = byId;
    this.products = byCode;
    Object.freeze(this);
  }

  /** Read a keyring document (text, or the bytes of a file); throw KeyringError when it breaks a rule. */
  static fromJSON(document: Document): PublicKeyring {
    const data = parseObject(document);
    if (data === null) throw new KeyringError("the keyring is not a JSON document with an object at the top");
    if (member(data, "format") !== KEYRING_FORMAT) throw new KeyringError(`the keyring's format is not '${KEYRING_FORMAT}'`);
    const entries = member(data, "keys");
    const given = member(data, "products");
    const products = given === undefined ? {} : given;
    if (!Array.isArray(entries) || !isObject(products)) {
      throw new KeyringError("the keyring needs a list of keys and an optional products map");
    }
    const keys: PublicKey[] = [];
    for (const entry of entries) {
      if (!isObject(entry)) throw new KeyringError("each key in the keyring is an object");
      const keyId = wholeNumber(member(entry, "key_id"), 1, 255);
      if (keyId === null) throw new KeyringError("a key_id is a whole number from 1 to 255");
      const publicKey = fromHex(member(entry, "public_key"), 32);
      if (publicKey === null) throw new KeyringError(`key ${keyId}: public_key must be 64 hex digits`);
      const given = member(entry, "status");
      const status = given === undefined ? "active" : given; // only a missing status means active
      if (typeof status !== "string" || !(KEY_STATUSES as readonly string[]).includes(status)) {
        throw new KeyringError(`key ${keyId}: status must be one of ${KEY_STATUSES.join(", ")}`);
      }
      keys.push(new PublicKey(keyId, publicKey, status as KeyStatus));
    }
    return new PublicKeyring(keys, Object.entries(products) as [string, number][]);
  }

  /** A product number, given either the number (as a number or decimal digits) or a code named here. */
  productNumber(product: number | string): number {
    if (typeof product === "number") return product;
    if (/^[0-9]+$/.test(product)) return Number(product);
    const number = this.products.get(product);
    if (number === undefined) throw new KeyringError(`product ${JSON.stringify(product)} is not named in the keyring`);
    return number;
  }
}
