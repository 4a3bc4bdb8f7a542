// Start-up probe: load the package, read the keyring, validate one key, report this process's CPU time.
const started = performance.now();
const { PublicKeyring, validate } = await import("../dist/index.js");
const { readFileSync } = await import("node:fs");
const [keyringPath, key, email] = process.argv.slice(2);
const keyring = PublicKeyring.fromJSON(readFileSync(keyringPath));
const license = validate(key, email, 1, keyring, new Date("2026-06-01T00:00:00Z"));
if (license.serial !== 1001) throw new Error("unexpected license");
const cpu = process.cpuUsage();
process.stdout.write(JSON.stringify({ cpu_ms: (cpu.user + cpu.system) / 1000, in_js_ms: performance.now() - started }));
