/** Small byte helpers: hex, concatenation, UTF-8. No Node APIs, so the core runs in a renderer. */

const HEX_DIGITS = "0123456789abcdef";

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += HEX_DIGITS[byte >> 4] + HEX_DIGITS[byte & 15];
  return out;
}

/** Exactly `length` bytes written as 2*length hex digits (either case), or null. */
export function fromHex(text: unknown, length: number): Uint8Array | null {
  if (typeof text !== "string" || text.length !== 2 * length || !/^[0-9a-fA-F]*$/.test(text)) return null;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A little-endian unsigned integer. */
export function readLE(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}
