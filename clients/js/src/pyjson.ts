/**
 * JSON text byte-identical to Python's `json.dumps(value, separators=...)` with its default
 * ensure_ascii=True: every UTF-16 unit outside ' '..'~' is written as a lower-case \uXXXX
 * escape (non-BMP characters as their surrogate pair), except the short escapes Python uses.
 * The conformance runner's outputs are compared as bytes with every other client's.
 */

const SHORT: Record<number, string> = { 0x22: '\\"', 0x5c: "\\\\", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t", 0x08: "\\b", 0x0c: "\\f" };

function dumpString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const short = SHORT[unit];
    if (short !== undefined) out += short;
    else if (unit >= 0x20 && unit <= 0x7e) out += text[i];
    else out += "\\u" + unit.toString(16).padStart(4, "0");
  }
  return out + '"';
}

export type PyValue = null | boolean | number | string | readonly PyValue[] | ReadonlyMap<string, PyValue> | { readonly [key: string]: PyValue };

/** `compact`: separators (",", ":"); otherwise Python's default (", ", ": "). */
export function pyDumps(value: PyValue, compact = true): string {
  const item = compact ? "," : ", ";
  const key = compact ? ":" : ": ";
  const dump = (v: PyValue): string => {
    if (v === null) return "null";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) throw new RangeError("only whole numbers are written");
      return String(v === 0 ? 0 : v);
    }
    if (typeof v === "string") return dumpString(v);
    if (Array.isArray(v)) return "[" + v.map(dump).join(item) + "]";
    const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
    return "{" + entries.map(([k, x]) => dumpString(k) + key + dump(x as PyValue)).join(item) + "}";
  };
  return dump(value);
}
