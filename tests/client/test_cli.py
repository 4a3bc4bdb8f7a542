"""license-check as a person or a script runs it: a real process, its exit status and output."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import VECTORS, issue, make_license
from .test_revocation import signed_list

KEYRING = str(VECTORS / "keyring.json")
REVOCATIONS = str(VECTORS / "revocations.json")
_CASES = {case["name"]: case for case in json.loads((VECTORS / "keys.json").read_text("utf-8"))["keys"]}
PERPETUAL = _CASES["valid/perpetual"]
EXPIRING = _CASES["valid/expiring"]
REVOKED = _CASES["revoked"]
NOW = "2026-06-15T12:00:00Z"


def run(*args: str, module: bool = True) -> subprocess.CompletedProcess[str]:
    """license-check with `args`, as `python -m licensing_client` or as the installed script."""
    if module:
        command = [sys.executable, "-m", "licensing_client", *args]
    else:
        command = [str(Path(sys.executable).parent / "license-check"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def check(
    case: dict[str, Any], *extra: str, now: str | None = NOW, **kw: Any
) -> subprocess.CompletedProcess[str]:
    args = ["--key", case["key"], "--email", case["email"], "--product", str(case["product"])]
    args += ["--keyring", KEYRING]
    if now is not None:
        args += ["--now", now]
    return run(*args, *extra, **kw)


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_valid_key_prints_the_license_and_exits_0() -> None:
    result = check(EXPIRING, module=False)  # the console script, as installed
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("valid\n")
    assert "product:" in result.stdout and "2 (video-max)" in result.stdout
    assert "000000001002" in result.stdout and "end of 2026-12-31" in result.stdout
    assert result.stderr == ""


def test_valid_key_as_json() -> None:
    result = check(EXPIRING, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    license = EXPIRING["expected"]["license"]
    assert document == {"valid": True, "license": license}  # the vectors' result document


def test_product_by_code_from_the_keyring() -> None:
    assert check({**PERPETUAL, "product": "photo-pro"}).returncode == 0
    result = check({**PERPETUAL, "product": "video-max"}, "--json")
    assert result.returncode == 1 and json.loads(result.stdout)["reason"] == "WRONG_PRODUCT"


def test_invalid_key_exits_1_with_reason_and_message() -> None:
    result = check(EXPIRING, now="2027-01-01T00:00:00+00:00")
    assert result.returncode == 1
    assert result.stdout.startswith("not valid: EXPIRED\n")
    assert "expired at the end of 2026-12-31" in result.stdout
    assert_no_traceback(result)


def test_invalid_key_as_json() -> None:
    result = check({**PERPETUAL, "key": PERPETUAL["key"][:-1]}, "--json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document == {"valid": False, "reason": "MALFORMED"}  # a failure carries no terms
    expired = json.loads(check(EXPIRING, "--json", now="2027-01-01T00:00:00+00:00").stdout)
    assert expired == {"valid": False, "reason": "EXPIRED"}


def test_time_zones_and_build_date() -> None:
    assert check(EXPIRING, now="2026-12-31T20:00:00-05:00").returncode == 1
    assert check(EXPIRING, now="2027-01-01T08:00:00+09:00").returncode == 0
    assert check(EXPIRING, now="2026-12-31").returncode == 0  # a date alone: midnight UTC
    carol = _CASES["updates-expired"]
    result = check(carol, "--build-date", "2026-10-01", "--json")
    assert result.returncode == 1 and json.loads(result.stdout)["reason"] == "UPDATES_EXPIRED"
    assert check(carol, "--build-date", "2026-09-30").returncode == 0


def test_now_defaults_to_the_real_clock() -> None:
    today = dt.datetime.now(dt.UTC).date()
    past = issue(make_license(issued=today - dt.timedelta(days=400)))
    future = issue(make_license(issued=today + dt.timedelta(days=400)))
    base = {"email": "alice@example.com", "product": 1}
    assert check({**base, "key": past}, now=None).returncode == 0
    result = check({**base, "key": future}, "--json", now=None)
    assert result.returncode == 1 and json.loads(result.stdout)["reason"] == "NOT_YET_VALID"


def test_revocation_list() -> None:
    result = check(REVOKED, "--revocations", REVOCATIONS, "--json")
    assert result.returncode == 1 and json.loads(result.stdout)["reason"] == "REVOKED"
    assert check(PERPETUAL, "--revocations", REVOCATIONS).returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--product", "nope"], "not named in the keyring"),
        (["--product", "0"], "1 to 65535"),
        (["--product", "70000"], "1 to 65535"),
        (["--now", "yesterday"], "--now"),
        (["--build-date", "2026-13-01"], "--build-date"),
        (["--keyring", "/nonexistent/keyring.json"], "cannot read the keyring /nonexistent/keyring.json"),
        (["--revocations", "/nonexistent/list.json"], "cannot read the revocation list"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    """`args` come after a complete command line (argparse keeps the last value of an option)."""
    base = ["--key", PERPETUAL["key"], "--email", PERPETUAL["email"], "--product", "1", "--keyring", KEYRING]
    result = run(*base, *args)
    assert result.returncode == 2
    assert message in result.stderr and result.stdout == ""
    assert_no_traceback(result)


def test_missing_arguments_exit_2() -> None:
    result = run("--key", "K", "--email", "e@example.com", "--product", "1")
    assert result.returncode == 2 and "--keyring" in result.stderr and "usage:" in result.stderr
    assert_no_traceback(result)


def test_bad_documents_exit_2_and_say_which(tmp_path: Path) -> None:
    bad_keyring = tmp_path / "keyring.json"
    bad_keyring.write_text("{}", encoding="utf-8")
    result = run("--key", "K", "--email", "e@example.com", "--product", "1", "--keyring", str(bad_keyring))
    assert result.returncode == 2 and f"keyring {bad_keyring}" in result.stderr
    assert_no_traceback(result)

    forged = json.loads(signed_list())
    forged["serials"] = [1, 2, 3]
    forged_path = tmp_path / "revocations.json"
    forged_path.write_text(json.dumps(forged), encoding="utf-8")
    result = check(PERPETUAL, "--revocations", str(forged_path))
    assert result.returncode == 2
    assert (
        f"revocation list {forged_path}" in result.stderr and "signature does not check out" in result.stderr
    )
    assert_no_traceback(result)
    verbose = check(PERPETUAL, "--revocations", str(forged_path), "-v")
    assert verbose.returncode == 2 and "Traceback" in verbose.stderr


def test_help_exits_0() -> None:
    result = run("--help")
    assert result.returncode == 0 and "--keyring" in result.stdout and "Exit status" in result.stdout
