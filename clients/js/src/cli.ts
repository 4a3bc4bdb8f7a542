#!/usr/bin/env node
/**
 * `license-check`: validate one key from a shell, for support staff and scripts; the same
 * flags, output and exit status as the Python client's `license-check`.
 *
 *     license-check --key K --email E --product P --keyring FILE
 *                   [--revocations FILE] [--now ISO8601] [--build-date DATE] [--json] [-v]
 *
 * Exit status: 0 the key is valid, 1 it is not, 2 the check could not be run (bad arguments,
 * an unreadable keyring or revocation list, a revocation list whose signature fails).
 * This is the one place in the package that reads the clock: `--now` defaults to it.
 */

import { existsSync, openSync, readFileSync, renameSync, writeSync, closeSync } from "node:fs";

import { parseDate, parseInstant } from "./days.js";
import { ClientError, type License, LicenseError, newestRevocations, PublicKeyring, RevocationList, validate } from "./index.js";
import { pyDumps } from "./pyjson.js";

const EXIT_VALID = 0;
const EXIT_INVALID = 1;
const EXIT_USAGE = 2;
const PROG = "license-check";
const USAGE = `usage: ${PROG} [-h] --key KEY --email EMAIL --product PRODUCT --keyring FILE
                     [--revocations FILE] [--revocations-state FILE] [--now ISO8601]
                     [--build-date DATE] [--json] [-v]`;
const HELP = `${USAGE}

Check a license key offline against the vendor's public keyring.

options:
  -h, --help          show this help message and exit
  --key KEY           the license key, as typed or pasted
  --email EMAIL       the email address the key was issued to
  --product PRODUCT   product number, or a product code named in the keyring
  --keyring FILE      public keyring JSON document
  --revocations FILE  signed revocation list JSON document
  --revocations-state FILE
                      keep the newest revocation list seen here, so an older one given later cannot
                      un-revoke a key
  --now ISO8601       check as of this time instead of the clock (UTC when it has no offset)
  --build-date DATE   the program's build date, checked against updates-until
  --json              print one JSON object
  -v, --verbose       show tracebacks of errors

Exit status: 0 valid, 1 not valid, 2 the check could not be run.
`;

class UsageError extends Error {
  constructor(
    message: string,
    readonly cause_?: unknown,
  ) {
    super(message);
  }
}

const VALUED = ["--key", "--email", "--product", "--keyring", "--revocations", "--revocations-state", "--now", "--build-date"] as const;
const FLAGS = ["--json", "--verbose", "--help"] as const;
type Options = Partial<Record<(typeof VALUED)[number], string>> & { json: boolean; verbose: boolean; help: boolean };

/** argparse's rules, as the Python tool: --opt VALUE or --opt=VALUE, unambiguous prefixes, -v, -h. */
function parseArguments(argv: readonly string[]): Options {
  const options: Options = { json: false, verbose: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-v") {
      options.verbose = true;
      continue;
    }
    if (arg === "-h") {
      options.help = true;
      continue;
    }
    if (!arg.startsWith("--")) throw new UsageError(`unrecognized arguments: ${arg}`);
    const [name, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const all = [...VALUED, ...FLAGS] as string[];
    const matches = all.includes(name) ? [name] : all.filter((option) => option.startsWith(name));
    if (matches.length === 0) throw new UsageError(`unrecognized arguments: ${arg}`);
    if (matches.length > 1) throw new UsageError(`ambiguous option: ${name} could match ${matches.join(", ")}`);
    const option = matches[0];
    if ((FLAGS as readonly string[]).includes(option)) {
      if (inline !== undefined) throw new UsageError(`argument ${option}: ignored explicit argument '${inline}'`);
      options[option.slice(2) as "json" | "verbose" | "help"] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length || (argv[i + 1].startsWith("-") && argv[i + 1] !== "-")) {
        throw new UsageError(`argument ${option}: expected one argument`);
      }
      value = argv[++i];
    }
    options[option as (typeof VALUED)[number]] = value;
  }
  if (options.help) return options;
  const missing = ["--key", "--email", "--product", "--keyring"].filter((name) => options[name as (typeof VALUED)[number]] === undefined);
  if (missing.length > 0) throw new UsageError(`the following arguments are required: ${missing.join(", ")}`);
  return options;
}

function readDocument(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UsageError(`cannot read the ${what} ${path}: ${typeof code === "string" ? code : String(error)}`);
  }
}

/** The newer of the given list and the one kept in `path`, which is updated to it (0600, atomically). */
function keepNewest(path: string, given: RevocationList | null, keyring: PublicKeyring): RevocationList | null {
  let kept: RevocationList | null = null;
  if (existsSync(path)) {
    try {
      kept = RevocationList.fromJSON(readDocument(path, "revocation state"), keyring);
    } catch (error) {
      if (error instanceof ClientError) throw new UsageError(`revocation state ${path}: ${error.message}`, error);
      throw error;
    }
  }
  const newest = newestRevocations(given, kept);
  if (newest !== null && newest !== kept) {
    const descriptor = openSync(path + ".tmp", "w", 0o600);
    try {
      writeSync(descriptor, pyDumps(newest.toJSON() as never, false));
    } finally {
      closeSync(descriptor);
    }
    renameSync(path + ".tmp", path);
  }
  return newest;
}

function productLabel(keyring: PublicKeyring, number: number): string {
  const codes = [...keyring.products].filter(([, value]) => value === number).map(([code]) => code).sort();
  return codes.length > 0 ? `${number} (${codes.join(", ")})` : String(number);
}

function licenseRows(license: License, keyring: PublicKeyring): string {
  const rows: [string, string][] = [
    ["product", productLabel(keyring, license.product)],
    ["serial", license.serialText],
    ["issued", license.issued],
    ["expires", license.expires === null ? "never" : `end of ${license.expires} (UTC)`],
    ["updates until", license.updatesUntil ?? "no limit"],
    ["seats", String(license.seats)],
    ["edition", String(license.edition)],
    ["flags", "0x" + license.flags.toString(16).toUpperCase().padStart(4, "0")],
    ["signing key", String(license.keyId)],
  ];
  return rows.map(([name, value]) => `  ${(name + ":").padEnd(15)}${value}\n`).join("");
}

/** Run the command; returns the exit status. */
export function main(argv: readonly string[], out: (text: string) => void, err: (text: string) => void): number {
  let verbose = argv.includes("-v") || argv.includes("--verbose");
  try {
    const options = parseArguments(argv);
    verbose = options.verbose;
    if (options.help) {
      out(HELP);
      return EXIT_VALID;
    }
    let now = new Date();
    if (options["--now"] !== undefined) {
      const parsed = parseInstant(options["--now"].trim(), true);
      if (parsed === null) {
        throw new UsageError(`--now '${options["--now"]}' is not an ISO 8601 date or time (e.g. 2026-05-01T12:00:00Z)`);
      }
      now = parsed;
    }
    const buildDate = options["--build-date"]?.trim() ?? null;
    if (buildDate !== null && parseDate(buildDate) === null) {
      throw new UsageError(`--build-date '${options["--build-date"]}' is not a date of the form YYYY-MM-DD`);
    }
    const keyringPath = options["--keyring"]!;
    let keyring: PublicKeyring;
    try {
      keyring = PublicKeyring.fromJSON(readDocument(keyringPath, "keyring"));
    } catch (error) {
      if (error instanceof ClientError) throw new UsageError(`keyring ${keyringPath}: ${error.message}`, error);
      throw error;
    }
    let product: number;
    try {
      product = keyring.productNumber(options["--product"]!);
    } catch (error) {
      if (error instanceof ClientError) throw new UsageError(`--product: ${error.message}`, error);
      throw error;
    }
    if (!(product >= 1 && product <= 0xffff)) throw new UsageError(`--product: a product number is from 1 to 65535, not ${product}`);
    let revocations: RevocationList | null = null;
    const revocationsPath = options["--revocations"];
    if (revocationsPath !== undefined) {
      try {
        revocations = RevocationList.fromJSON(readDocument(revocationsPath, "revocation list"), keyring);
      } catch (error) {
        if (error instanceof ClientError) throw new UsageError(`revocation list ${revocationsPath}: ${error.message}`, error);
        throw error;
      }
    }
    const statePath = options["--revocations-state"];
    if (statePath !== undefined) revocations = keepNewest(statePath, revocations, keyring);
    let license: License;
    try {
      license = validate(options["--key"]!, options["--email"]!, product, keyring, now, { buildDate, revocations });
    } catch (error) {
      if (!(error instanceof LicenseError)) throw error;
      if (verbose) err(`${error.stack ?? error}\n`);
      if (options.json) {
        out(pyDumps({ valid: false, reason: error.reason }, false) + "\n");
      } else {
        out(`not valid: ${error.reason}\n  ${error.message}\n`);
        if (error.license !== null) out(licenseRows(error.license, keyring));
      }
      return EXIT_INVALID;
    }
    if (options.json) out(pyDumps({ valid: true, license: { ...license.toJSON() } }, false) + "\n");
    else out("valid\n" + licenseRows(license, keyring));
    return EXIT_VALID;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (verbose && error.cause_ !== undefined) err(`${(error.cause_ as Error).stack ?? error.cause_}\n`);
    err(`${USAGE}\n${PROG}: error: ${error.message}\n`);
    return EXIT_USAGE;
  }
}

process.exitCode = main(process.argv.slice(2), (text) => process.stdout.write(text), (text) => process.stderr.write(text));
