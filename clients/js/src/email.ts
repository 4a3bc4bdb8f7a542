/**
 * The one email normalisation (docs/key-format.md, section 3), and the digest that binds a key
 * to an address. It uses only Unicode 3.2 data through the RFC 3454 tables, so it agrees byte
 * for byte with the service and every other validator, whatever Unicode version the host has.
 */

import { sha256 } from "@noble/hashes/sha2.js";

import { concatBytes, utf8 } from "./bytes.js";
import { punycodeEncode } from "./punycode.js";
import { isUnassignedOrCorrected, nameprep } from "./stringprep.js";

export const EMAIL_DIGEST_CONTEXT = utf8("licensing.v1/email\u0000");
export const MAX_EMAIL_LENGTH = 254;
export const MAX_LOCAL_LENGTH = 64;
const MAX_INPUT_LENGTH = 4 * MAX_EMAIL_LENGTH;

/** The text is not an email address. The message never repeats the address. */
export class InvalidEmail extends Error {
  override name = "InvalidEmail";
}

const WHITESPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
  0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);
const FORBIDDEN_IN_LOCAL = new Set([...' "(),:;<>@[\\]'].map((c) => c.charCodeAt(0)));
const DOTS = new Set([0x2e, 0x3002, 0xff0e, 0xff61]);
const AT = 0x40;

const isAscii = (codes: readonly number[]): boolean => codes.every((code) => code < 0x80);
const lowerAscii = (code: number): number => (code >= 0x41 && code <= 0x5a ? code + 32 : code);
const text = (codes: readonly number[]): string => String.fromCodePoint(...codes);

function invalid(message: string): never {
  throw new InvalidEmail(message);
}

/** Return the normal form of an email address or throw InvalidEmail. */
export function normalizeEmail(raw: string): string {
  if (typeof raw !== "string") invalid("the email must be text");
  if (raw.length > 2 * MAX_INPUT_LENGTH) invalid("the email is too long");
  const codes = Array.from(raw, (char) => char.codePointAt(0)!);
  if (codes.length > MAX_INPUT_LENGTH) invalid("the email is too long");
  let start = 0;
  let end = codes.length;
  while (start < end && WHITESPACE.has(codes[start])) start++;
  while (end > start && WHITESPACE.has(codes[end - 1])) end--;
  const at = codes.lastIndexOf(AT, end - 1);
  if (at < start || at === start || at === end - 1) invalid("the email must have the form name@domain");
  let local = codes.slice(start, at);
  const domain = codes.slice(at + 1, end);
  if (codes.slice(start, end).some(isUnassignedOrCorrected)) {
    invalid("the email contains a character unassigned in Unicode 3.2");
  }
  if (isAscii(local)) {
    local = local.map(lowerAscii);
  } else {
    const prepared = nameprep(local, false);
    if (prepared === null) invalid("the part before @ contains a character that is not allowed");
    local = prepared;
  }
  if (local.length > MAX_LOCAL_LENGTH) invalid(`the part before @ is longer than ${MAX_LOCAL_LENGTH} characters`);
  if (local.some((code) => code < 0x20 || code === 0x7f || FORBIDDEN_IN_LOCAL.has(code))) {
    invalid("the part before @ contains a space, a control or a reserved character");
  }
  const asciiDomain = domainToAscii(domain.map(lowerAscii));
  const address = text(local) + "@" + asciiDomain;
  if (local.length + 1 + asciiDomain.length > MAX_EMAIL_LENGTH) {
    invalid(`the email is longer than ${MAX_EMAIL_LENGTH} characters`);
  }
  return address;
}

/**
 * Steps 6 and 7: labels to ASCII (IDNA 2003 ToASCII for the non-ASCII ones), then the rules on
 * each label as it came out (a label whose Nameprep made a '.' is refused, not split again).
 */
function domainToAscii(domain: readonly number[]): string {
  const labels: string[] = [];
  if (isAscii(domain)) {
    labels.push(...text(domain).split("."));
  } else {
    let label: number[] = [];
    for (const code of [...domain, 0x2e]) {
      if (!DOTS.has(code)) {
        label.push(code);
        continue;
      }
      labels.push(isAscii(label) ? text(label) : toAscii(label));
      label = [];
    }
  }
  if (labels.length < 2) invalid("the domain must contain a dot");
  for (const label of labels) {
    if (label.length < 1 || label.length > 63) invalid("the domain has an empty or over-long label");
    if (!/^[a-z0-9-]+$/.test(label) || label.startsWith("-") || label.endsWith("-")) {
      invalid("the domain may contain only letters, digits, dots and hyphens");
    }
  }
  return labels.join(".");
}

/** RFC 3490 ToASCII of a non-ASCII label, AllowUnassigned and UseSTD3ASCIIRules off. */
function toAscii(label: readonly number[]): string {
  const prepared = nameprep(label, true);
  if (prepared === null) invalid("the domain is not a valid internationalised domain name");
  let ascii: string;
  if (isAscii(prepared)) {
    ascii = text(prepared);
  } else {
    if (text(prepared.slice(0, 4)).toLowerCase() === "xn--") invalid("the domain is not a valid internationalised domain name");
    ascii = "xn--" + punycodeEncode(prepared);
  }
  if (ascii.length < 1 || ascii.length > 63) invalid("the domain has an empty or over-long label");
  return ascii;
}

/** SHA-256 of the context string and the normalised address: 32 bytes, signed into keys. */
export function emailDigest(normalized: string): Uint8Array {
  return sha256(concatBytes(EMAIL_DIGEST_CONTEXT, utf8(normalized)));
}
