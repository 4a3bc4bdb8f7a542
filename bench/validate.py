"""How fast the offline validator is, next to what it is built on and what it replaces.

    .venv/bin/python bench/validate.py                               # full run, prints a table
    .venv/bin/python bench/validate.py --quick                       # under 10 s, for a smoke test
    .venv/bin/python bench/validate.py --write docs/benchmarks.md    # also update its section there

Throughput, on one core (the process pins itself to one CPU where it can): `validate()` of
v1 keys, next to a raw `nacl.signing.VerifyKey.verify` of exactly the bytes each key's signature
covers (the floor: validate does that verification and more), and next to PyJWT decoding an
EdDSA token with the same claims (what a key check would cost with JWTs instead). The three are
timed in interleaved rounds of about 0.3 s each, in a rotating order, over 64 different keys (so no result
can be cached), in CPU time of this process (time spent waiting for a CPU on a shared machine is
not the validator's), and the report gives the median rate of each and the median of the
per-round ratios: neighbouring batches see the same machine, so their ratio cancels most drift.

Start-up, as whole processes: `python -c "import licensing_client; <validate one key>"` against
`python -c "import nacl.signing"`, alternated, median of N runs each, wall time and peak RSS.
Each process's peak RSS comes from os.wait4, i.e. getrusage for that one child (RUSAGE_CHILDREN
would give the largest of all children so far).

Targets (docs/benchmarks.md): validate at least 90% of the raw verify rate and faster than
PyJWT; start-up within 5 ms and 2 MiB of the nacl-only process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jwt
import nacl
import nacl.signing
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from licensing_client import License, PublicKey, PublicKeyring, validate
from licensing_client.email import email_digest, normalize_email
from licensing_client.keyformat import encode_payload, format_key, signed_message

BEGIN, END = "<!-- bench:validate -->", "<!-- /bench:validate -->"
KEYS = 64  # distinct keys cycled through: a power of two, indexed with & (KEYS - 1)
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
SEED = hashlib.sha256(b"licensing benchmark key").digest()

TARGET_VERIFY_RATIO = 0.90
TARGET_START_MS = 5.0
TARGET_START_MIB = 2.0


@dataclass(frozen=True)
class Sample:
    """One key in three forms: our key text, the raw signed bytes, and a JWT with its claims."""

    text: str
    email: str
    message: bytes
    signature: bytes
    token: str


def make_samples() -> tuple[list[Sample], PublicKeyring, nacl.signing.VerifyKey, Ed25519PublicKey]:
    signing_key = nacl.signing.SigningKey(SEED)
    jwt_key = Ed25519PrivateKey.from_private_bytes(SEED)
    samples = []
    for i in range(KEYS):
        email = f"customer{i}@example.com"
        license = License(
            key_id=3,
            product=1,
            serial=100_000 + i,
            issued=dt.date(2026, 1, 15),
            expires=dt.date(2027, 1, 14),
            updates_until=dt.date(2026, 12, 31),
            seats=1 + i % 5,
            edition=0,
            flags=0,
        )
        digest = email_digest(normalize_email(email))
        payload = encode_payload(license, digest)
        message = signed_message(payload, digest)
        signature = signing_key.sign(message).signature
        claims = {
            "sub": email,
            "product": license.product,
            "serial": license.serial,
            "seats": license.seats,
            "edition": license.edition,
            "flags": license.flags,
            "iat": int(dt.datetime(2026, 1, 15, tzinfo=dt.UTC).timestamp()),
            "exp": int(dt.datetime(2027, 1, 15, tzinfo=dt.UTC).timestamp()),
            "updates_until": "2026-12-31",
            "kid": 3,
        }
        token = jwt.encode(claims, jwt_key, algorithm="EdDSA")
        samples.append(Sample(format_key(payload, signature), email, message, signature, token))
    public = bytes(signing_key.verify_key)
    keyring = PublicKeyring.of([PublicKey(3, public)], {"bench": 1})
    return samples, keyring, nacl.signing.VerifyKey(public), jwt_key.public_key()


def make_runners(
    samples: list[Sample],
    keyring: PublicKeyring,
    verify_key: nacl.signing.VerifyKey,
    jwt_public: Ed25519PublicKey,
) -> dict[str, Callable[[int], None]]:
    """Each runner checks n keys, cycling through the samples, with the same loop around it."""
    texts = [(s.text, s.email) for s in samples]
    signed = [(s.message, s.signature) for s in samples]
    tokens = [s.token for s in samples]
    mask = KEYS - 1
    verify = verify_key.verify
    decode = jwt.decode

    def run_validate(n: int) -> None:
        for i in range(n):
            text, email = texts[i & mask]
            validate(text, email, 1, keyring, NOW)

    def run_verify(n: int) -> None:
        for i in range(n):
            message, signature = signed[i & mask]
            verify(message, signature)

    def run_jwt(n: int) -> None:
        for i in range(n):
            decode(tokens[i & mask], jwt_public, algorithms=["EdDSA"])

    # Every runner must succeed on every sample before it is timed.
    for runner in (run_validate, run_verify, run_jwt):
        runner(KEYS)
    return {"validate()": run_validate, "VerifyKey.verify": run_verify, "PyJWT EdDSA": run_jwt}


def measure_throughput(
    runners: dict[str, Callable[[int], None]], rounds: int, round_seconds: float
) -> dict[str, list[float]]:
    """Keys per second of each runner, per round. A round runs each runner for about
    `round_seconds` of CPU (whole batches of the 64 keys, the count calibrated once per runner),
    the order rotating from round to round: neighbours see the same moments of a shared machine,
    and a round long enough that its rate is not one scheduler tick's luck gives a range over
    rounds that means something (batches of a few milliseconds ranged from half to 1.4 times the
    median ratio)."""
    batches: dict[str, int] = {}
    for name, runner in runners.items():  # calibration: the CPU time of a few batches
        start = time.process_time_ns()
        for _ in range(5):
            runner(KEYS)
        per_batch = (time.process_time_ns() - start) / 5 / 1e9
        batches[name] = max(1, round(round_seconds / per_batch))
    rates: dict[str, list[float]] = {name: [] for name in runners}
    names = list(runners)
    gc.collect()
    gc.disable()  # a collection would land in whichever round happened to be running
    try:
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                runner, count = runners[name], batches[name]
                start = time.process_time_ns()
                for _ in range(count):
                    runner(KEYS)
                rates[name].append(count * KEYS * 1e9 / (time.process_time_ns() - start))
    finally:
        gc.enable()
    return rates


# Runs the start-up probes. It is a separate small process because a child's peak RSS counts
# the memory of the process it was forked from (Linux carries the high-water mark across exec):
# forked from this benchmark, with PyJWT and cryptography loaded, every probe would read ~34 MiB.
_LAUNCHER = r"""
import json, os, sys, time
programs, runs = json.loads(sys.argv[1])
env = dict(os.environ)
env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure as installed: with bytecode caches

# The probe times its own code too (after the interpreter has started) and writes that to fd 1.
WRAP = "import time as _t\n_s = _t.perf_counter()\n{}\nprint(_t.perf_counter() - _s)\n"

def spawn(code):
    argv = [sys.executable, "-c", WRAP.format(code)]
    read_end, write_end = os.pipe()
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[(os.POSIX_SPAWN_DUP2, write_end, 1)])
    os.close(write_end)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    with os.fdopen(read_end) as output:
        inner = float(output.read())
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("start-up probe failed: " + code)
    return [wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, inner]

for code in programs.values():  # once to write the bytecode caches and warm the file cache
    spawn(code)
results = {name: [] for name in programs}
for _ in range(runs):
    for name, code in programs.items():
        results[name].append(spawn(code))
print(json.dumps(results))
"""

BASELINE = "import nacl.signing"
STDLIB = "import nacl.signing, datetime, json"
WITH_JSON = "licensing_client, validate one key (keyring from JSON)"
IN_CODE = "licensing_client, validate one key (keyring in code)"


def startup_programs(sample: Sample, keyring: PublicKeyring) -> dict[str, str]:
    """The probes: ours as a program starts (its keyring embedded as JSON, as the client's README
    shows, or built in code), the nacl-only baseline, and that baseline plus the two stdlib
    modules a program checking keys needs anyway (datetime for `now`, json for a keyring)."""
    check = f"lc.validate({sample.text!r}, {sample.email!r}, 1, keyring, dt.datetime.now(dt.timezone.utc))\n"
    public = keyring.keys[3].public_key.hex()
    return {
        BASELINE: BASELINE,
        STDLIB: STDLIB,
        WITH_JSON: "import datetime as dt\nimport licensing_client as lc\n"
        f"keyring = lc.PublicKeyring.from_json({keyring.to_json()!r})\n" + check,
        IN_CODE: "import datetime as dt\nimport licensing_client as lc\n"
        f"keyring = lc.PublicKeyring.of([lc.PublicKey(3, bytes.fromhex({public!r}))])\n" + check,
    }


# Per run: wall seconds, peak RSS KiB, CPU seconds, and the seconds the probe's own code took
# once the interpreter was up (what it adds, without the noise of starting an interpreter).
Runs = list[tuple[float, int, float, float]]


def measure_startup(programs: dict[str, str], runs: int) -> dict[str, Runs]:
    """Each probe `runs` times, alternating, from a small launcher process (see _LAUNCHER)."""
    result = subprocess.run(
        [sys.executable, "-S", "-c", _LAUNCHER, json.dumps([programs, runs])],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(result.stdout)
    return {name: [(wall, rss, cpu, inner) for wall, rss, cpu, inner in rows] for name, rows in data.items()}


def _idle_times() -> dict[int, int]:
    """Idle jiffies per CPU, from /proc/stat (empty where there is none)."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return {}
    return {
        int(fields[0][3:]): int(fields[4]) + int(fields[5])
        for fields in (line.split() for line in lines)
        if fields[0].startswith("cpu") and fields[0] != "cpu"
    }


def pin_to_one_cpu(cpu: int | None) -> str:
    """Pin this process to `cpu`, or to the CPU that was idlest over the last quarter second."""
    try:
        allowed = os.sched_getaffinity(0)
        if cpu is None:
            before = _idle_times()
            time.sleep(0.25)
            after = _idle_times()
            idle = {n: after.get(n, 0) - before.get(n, 0) for n in allowed}
            cpu = max(sorted(allowed), key=lambda n: idle[n])
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        return "not pinned"
    return f"pinned to CPU {cpu}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


NOTES = """\
How to read this. `validate()` does the raw verification plus everything around it: reading
the 160 characters (translation table, base-32 to integer, CRC), normalising and hashing the
email, building the 72-byte signed message, decoding the payload into a `License` and checking
the terms. That is a few microseconds of Python against tens for the Ed25519 verification, so
the ratio to the raw verify is the share of time spent in the signature check. What was cut
after profiling (cProfile, and per-step timings): the text length check is arithmetic, not a
table; the CRC is checked as a zero residue in one call; payload dates come from ordinals and
the `License` from `_make`; SHA-256 comes from the interpreter's built-in module rather than
hashlib. Nothing is cached between calls: the benchmark cycles through 64 different keys and
emails, so a cache would not help it and none is there.

Start-up: starting an interpreter here takes tens of milliseconds and varies by more than the
few milliseconds being measured, so besides whole-process wall and CPU time each probe reports
the time its own code took once the interpreter was up; the target is judged on that (the
whole-process difference is shown beside it). The difference over `import nacl.signing` is
mostly the standard library a key check
needs anyway (`datetime` for `now`, `json` for a keyring document), shown on its own row;
the client's own modules are the rest: loading eight small modules, building the `Reason` enum,
two NamedTuples and the email regular expression, and often a full garbage collection that
CPython 3.11 happens to start during the import (1 to 2 ms here; it disappears with the
collector off). Modules are loaded with their bytecode caches (`PYTHONDONTWRITEBYTECODE` is
dropped for the probes), as an installed package is. Kept out of start-up: hashlib (OpenSSL's
libcrypto, ~3.5 MiB), dataclasses (inspect, ast, dis), importlib.resources, json until a
keyring document is read, and the clock and revocation-list modules until first use; the
NamedTuples have real, not string, annotations (each string became a compiled ForwardRef).

On a shared machine (this one has 2 CPUs and other work running) the figures move from run to
run; the ratios, taken within each round, move least.
"""


def _median(rows: Runs, field: int) -> float:
    return statistics.median(row[field] for row in rows)


def _quartiles(values: list[float]) -> tuple[float, float]:
    """The first and third quartiles: where the middle half of the rounds lies (a shared machine's
    worst and best moments widen min and max; the middle half says how steady the median is)."""
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4)
    return q1, q3


def report(
    rates: dict[str, list[float]],
    startup: dict[str, Runs],
    *,
    rounds: int,
    round_seconds: float,
    runs: int,
    pinned: str,
    command: str,
) -> tuple[str, bool]:
    """The Markdown section, and whether every target was met."""
    per_round = list(zip(rates["validate()"], rates["VerifyKey.verify"], rates["PyJWT EdDSA"], strict=True))
    verify_ratios = [v / raw for v, raw, _ in per_round]
    verify_ratio = statistics.median(verify_ratios)
    jwt_ratio = statistics.median(v / j for v, _, j in per_round)
    base = startup[BASELINE]

    def extra(name: str) -> tuple[float, float, float]:
        """(wall ms, in-program ms, RSS MiB) over the nacl-only process, medians."""
        rows = startup[name]
        return (
            (_median(rows, 0) - _median(base, 0)) * 1000,
            (_median(rows, 3) - _median(base, 3)) * 1000,
            (_median(rows, 1) - _median(base, 1)) / 1024,
        )

    start_wall_ms, start_ms, start_mib = extra(WITH_JSON)
    checks = {
        "verify": verify_ratio >= TARGET_VERIFY_RATIO,
        "jwt": jwt_ratio > 1.0,
        "start_ms": start_ms <= TARGET_START_MS,
        "start_mib": start_mib <= TARGET_START_MIB,
    }

    def mark(ok: bool) -> str:
        return "met" if ok else "**missed**"

    lines = [
        "## Offline validation (`bench/validate.py`)",
        "",
        (
            f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d} with `{command}`: Python "
            f"{platform.python_version()}, PyNaCl {nacl.__version__}, PyJWT {jwt.__version__}, "
            f"{cpu_model()} ({os.cpu_count()} CPUs; this process {pinned}). Throughput: {rounds} "
            f"interleaved rounds of about {round_seconds:g} s of CPU per check, over {KEYS} distinct keys; "
            f"start-up: {runs} runs of each probe, alternated."
        ),
        "",
        "| check, one core | keys/s (median) | validate() against it (median of rounds) |",
        "| --- | ---: | ---: |",
        (
            "| `validate()`: read the key, normalise and hash the email, verify, check the terms | "
            f"{statistics.median(rates['validate()']):,.0f} | |"
        ),
        (
            "| `VerifyKey.verify` of the same signed bytes (the floor) | "
            f"{statistics.median(rates['VerifyKey.verify']):,.0f} | {verify_ratio:.1%} of its rate "
            f"(rounds {min(verify_ratios):.1%} to {max(verify_ratios):.1%}; the middle half "
            f"{_quartiles(verify_ratios)[0]:.1%} to {_quartiles(verify_ratios)[1]:.1%}) |"
        ),
        (
            '| PyJWT `jwt.decode(token, key, algorithms=["EdDSA"])`, same claims | '
            f"{statistics.median(rates['PyJWT EdDSA']):,.0f} | {jwt_ratio:.2f}x as fast |"
        ),
        "",
        "| start-up, whole process (medians) | wall ms | CPU ms | its own code, ms | peak RSS MiB"
        + " | over nacl alone: wall, own code, RSS |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, rows in startup.items():
        wall, inner, mib = extra(name)
        over = "" if name == BASELINE else f"{wall:+.1f} ms, {inner:+.1f} ms, {mib:+.2f} MiB"
        lines.append(
            f"| `{name}` | {_median(rows, 0) * 1000:.1f} | {_median(rows, 2) * 1000:.1f} | "
            f"{_median(rows, 3) * 1000:.1f} | {_median(rows, 1) / 1024:.1f} | {over} |"
        )
    lines += [
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
        (
            f"| validate() at least {TARGET_VERIFY_RATIO:.0%} of the raw verify rate | {verify_ratio:.1%} | "
            f"{mark(checks['verify'])} |"
        ),
        f"| validate() faster than PyJWT EdDSA | {jwt_ratio:.2f}x | {mark(checks['jwt'])} |",
        (
            f"| start-up within {TARGET_START_MS:g} ms of nacl alone (keyring from JSON; its own code) | "
            f"{start_ms:+.1f} ms (whole process: {start_wall_ms:+.1f} ms) | {mark(checks['start_ms'])} |"
        ),
        (
            f"| start-up within {TARGET_START_MIB:g} MiB of nacl alone (keyring from JSON) | {start_mib:+.2f} MiB | "
            f"{mark(checks['start_mib'])} |"
        ),
    ]
    return "\n".join(lines) + "\n\n" + NOTES, all(checks.values())


def write_section(path: Path, section: str) -> None:
    """Put `section` between this benchmark's markers in `path`, keeping everything else."""
    block = f"{BEGIN}\n{section}{END}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under 10 s)")
    parser.add_argument("--write", metavar="MARKDOWN", type=Path, help="update this file's section")
    parser.add_argument("--rounds", type=int, help="throughput rounds (default 15, quick 5)")
    parser.add_argument(
        "--round-seconds", type=float, help="CPU seconds of each check per round (default 0.3, quick 0.05)"
    )
    parser.add_argument(
        "--startup-runs", type=int, help="start-up runs of each program (default 21, quick 5)"
    )
    parser.add_argument("--cpu", type=int, help="the CPU to run on (default: the idlest one)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 15)
    round_seconds = args.round_seconds or (0.05 if args.quick else 0.3)
    runs = args.startup_runs or (5 if args.quick else 31)

    pinned = pin_to_one_cpu(args.cpu)
    samples, keyring, verify_key, jwt_public = make_samples()
    runners = make_runners(samples, keyring, verify_key, jwt_public)
    rates = measure_throughput(runners, rounds, round_seconds)
    startup = measure_startup(startup_programs(samples[0], keyring), runs)

    command = "python bench/validate.py" + (" --quick" if args.quick else "")
    section, all_met = report(
        rates, startup, rounds=rounds, round_seconds=round_seconds, runs=runs, pinned=pinned, command=command
    )
    print(section)
    if args.write:
        write_section(args.write, section)
        print(f"updated {args.write}")
    if not all_met:
        print("some targets were missed: see the table above", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
