// Start-up baseline: only load @noble/curves' ed25519, report this process's CPU time.
const started = performance.now();
const { ed25519 } = await import("@noble/curves/ed25519.js");
if (typeof ed25519.verify !== "function") throw new Error("no verify");
const cpu = process.cpuUsage();
process.stdout.write(JSON.stringify({ cpu_ms: (cpu.user + cpu.system) / 1000, in_js_ms: performance.now() - started }));
