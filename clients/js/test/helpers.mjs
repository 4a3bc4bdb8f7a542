// Shared by the tests: the repository's conformance vectors, read from ../../tests/vectors.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), "..");
export const VECTORS = join(PACKAGE, "..", "..", "tests", "vectors");

export const readVector = (name) => readFileSync(join(VECTORS, name));
export const readJSON = (name) => JSON.parse(readFileSync(join(VECTORS, name), "utf8"));
export const hex = (text) => Uint8Array.from(Buffer.from(text, "hex"));
export const toHex = (bytes) => Buffer.from(bytes).toString("hex");
