/**
 * The JSON rules both documents follow (docs/key-format.md, section 5): UTF-8 with one optional
 * byte-order mark, an object at the top, the last duplicate member wins, numbers by value (any
 * notation of a whole number in range), unknown members ignored.
 */

/** A document given as text or as the bytes of a file. */
export type Document = string | Uint8Array;

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The top-level object of a document, or null when it is not JSON or not an object. */
export function parseObject(document: Document): Record<string, unknown> | null {
  let text: string;
  if (typeof document === "string") {
    text = document;
  } else if (document instanceof Uint8Array) {
    try {
      text = decoder.decode(document);
    } catch {
      return null;
    }
  } else {
    return null;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** A JSON number whose value is a whole number in min..max (-0 read as 0), else null. */
export function wholeNumber(value: unknown, min: number, max: number): number | null {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) return null;
  return value === 0 ? 0 : value;
}

/** A member of a parsed object, own properties only ("__proto__" and friends are data here). */
export function member(object: Record<string, unknown>, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(object, name) ? object[name] : undefined;
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
