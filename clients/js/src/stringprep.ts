/**
 * Lookups in the RFC 3454 tables (src/generated/stringprep.ts, made from Python's stringprep
 * module), and Nameprep's mapping, normalisation and prohibition steps (RFC 3491 sections 3-5).
 */

import * as T from "./generated/stringprep.js";

/** Binary search in a flattened, sorted list of inclusive [start, end] pairs. */
export function inRanges(table: readonly number[], code: number): boolean {
  let low = 0;
  let high = table.length / 2 - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (code < table[2 * mid]) high = mid - 1;
    else if (code > table[2 * mid + 1]) low = mid + 1;
    else return true;
  }
  return false;
}

let b2: Map<number, string> | null = null;

/** Table B.2's mapping of one code point (itself when it has none). */
export function mapB2(code: number): string {
  if (b2 === null) {
    b2 = new Map();
    for (let i = 0; i < T.B2.length; i += 2) b2.set(T.B2[i] as number, T.B2[i + 1] as string);
  }
  return b2.get(code) ?? String.fromCodePoint(code);
}

// The six code points whose decomposition Unicode corrected after 3.2 (section 3, step 4).
const CORRECTED = new Set([0xf951, 0x2f868, 0x2f874, 0x2f91f, 0x2f95f, 0x2f9bf]);

/** Step 4 of section 3: unassigned in Unicode 3.2 (table A.1), or one of the six corrected. */
export function isUnassignedOrCorrected(code: number): boolean {
  return CORRECTED.has(code) || inRanges(T.A1, code);
}

const PROHIBITED = [T.C12, T.C22, T.C3, T.C4, T.C5, T.C6, T.C7, T.C8, T.C9];

export function isProhibited(code: number): boolean {
  for (const table of PROHIBITED) if (inRanges(table, code)) return true;
  return false;
}

export const isRandAL = (code: number): boolean => inRanges(T.D1, code);
export const isL = (code: number): boolean => inRanges(T.D2, code);

/**
 * Nameprep's map (B.1 removed, B.2 applied), NFKC and prohibition (C.1.2, C.2.2, C.3-C.9), and
 * when `bidi` is set its bidirectional check (RFC 3454 section 6). Returns the code points, or
 * null when a rule fails. The caller has already refused A.1 and the six corrected code points:
 * only because of that is the host's NFKC the same as Unicode 3.2's (tests/nfkc.test.mjs).
 */
export function nameprep(codes: readonly number[], bidi: boolean): number[] | null {
  let mapped = "";
  for (const code of codes) if (!inRanges(T.B1, code)) mapped += mapB2(code);
  const out: number[] = [];
  for (const char of mapped.normalize("NFKC")) {
    const code = char.codePointAt(0)!;
    if (isProhibited(code)) return null;
    out.push(code);
  }
  if (bidi && out.some(isRandAL)) {
    if (out.some(isL)) return null;
    if (!isRandAL(out[0]) || !isRandAL(out[out.length - 1])) return null;
  }
  return out;
}
