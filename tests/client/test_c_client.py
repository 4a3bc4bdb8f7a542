"""The C validator (clients/c): its own ctest suite over tests/vectors/, its email rules against the
reference on every BMP code point and on random addresses from every plane, its license-check
against the reference's, and no network in its library.

`make test` builds clients/c first (`make c-client`); here the build is only brought up to date.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from licensing_client import InvalidEmail, normalize_email
from licensing_client.email import email_digest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "clients" / "c" / "build"
VECTORS = REPO / "tests" / "vectors"
KEY = (
    "041G0080-000000Z9-VDAJA9R0-00000001-00000NM5-V5FFPM0K-E9EM39QR-XWQJXGJK-6DHZWHVA-"
    "EG4TE8VF-HG22XRRQ-EPB26C4X-JCGEZ76G-07BWKAKY-AQ30YC6P-PHAW18AW-N22FQ1W8-EW78H1G"
)  # vector valid/perpetual: alice@example.com, product 1, serial 1001 (0x3E9), key 3


@pytest.fixture(scope="module")
def build() -> Path:
    if not (BUILD / "CMakeCache.txt").exists() or shutil.which("cmake") is None:
        message = "clients/c is not configured; run `make c-client` (a prerequisite of `make test`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        ["cmake", "--build", str(BUILD), "-j2"], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, (
        f"building clients/c failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    )
    return BUILD


def test_ctest_passes(build: Path) -> None:
    result = subprocess.run(
        ["ctest", "--output-on-failure"], cwd=build, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout[-5000:]
    assert "0 tests failed" in result.stdout


def _reference(email: str) -> str:
    try:
        normalized = normalize_email(email)
    except InvalidEmail:
        return json.dumps({"normalized": None}, separators=(",", ":"))
    return json.dumps(
        {"normalized": normalized, "digest": email_digest(normalized).hex()}, separators=(",", ":")
    )


def _disagreements(build: Path, emails: list[str]) -> list[str]:
    lines = "".join(json.dumps({"op": "email", "email": e}) + "\n" for e in emails)
    result = subprocess.run(
        [str(build / "license_conformance")],
        input=lines,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answers = result.stdout.splitlines()
    assert len(answers) == len(emails)
    return [
        f"{e!r}: reference {want}, C {got}"
        for e, got in zip(emails, answers, strict=True)
        if got != (want := _reference(e))
    ]


def _code_points(planes: range) -> list[str]:
    return [
        chr(c) for plane in planes for c in range(plane << 16, (plane + 1) << 16) if not 0xD800 <= c <= 0xDFFF
    ]


def test_every_bmp_code_point_in_the_local_part_and_the_domain(build: Path) -> None:
    """libidn's Unicode 3.2 tables against the reference's, one code point at a time."""
    emails = []
    for ch in _code_points(range(1)):
        emails.append(f"Ab{ch}c@example.com")
        emails.append(f"ab@x{ch}Y.example")
    wrong = _disagreements(build, emails)
    assert not wrong, f"{len(wrong)} of {len(emails)} disagree, e.g.:\n" + "\n".join(wrong[:10])


def test_a_nul_anywhere_is_refused(build: Path) -> None:
    """libidn ends its strings at U+0000; the C code refuses it first, as the rules do in the end."""
    emails = [
        "\u00e9\x00b@example.com",
        "a@\u00e9\x00.com",
        "a\x00\u00e9@example.com",
        "ab@x.\u0440\x00\u0444",
    ]
    assert all(_reference(e) == '{"normalized":null}' for e in emails)
    wrong = _disagreements(build, emails)
    assert not wrong, "\n".join(wrong)


def test_random_addresses_from_every_plane(build: Path) -> None:
    """Several code points together: mapping, NFKC composition and bidi interact across them."""
    rng = random.Random(20261130)
    assigned = [ch for ch in _code_points(range(3)) if not _unassigned(ch)] + _code_points(range(14, 15))
    ascii_part = "abcXYZ019.-_+"

    def part(length: int) -> str:
        return "".join(
            rng.choice(assigned) if rng.random() < 0.6 else rng.choice(ascii_part) for _ in range(length)
        )

    emails = [
        rng.choice(["", " ", "\u3000"])
        + part(rng.randint(1, 8))
        + "@"
        + part(rng.randint(1, 6))
        + rng.choice([".", "\u3002", "\uff0e"])
        + rng.choice(["com", part(3)])
        for _ in range(20_000)
    ]
    wrong = _disagreements(build, emails)
    assert not wrong, f"{len(wrong)} of {len(emails)} disagree, e.g.:\n" + "\n".join(wrong[:10])


def _unassigned(ch: str) -> bool:
    import stringprep

    return stringprep.in_table_a1(ch)


def _both(
    build: Path, args: list[str], cwd: Path
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    c = subprocess.run(
        [str(build / "license-check"), *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    py = subprocess.run(
        [sys.executable, "-m", "licensing_client", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    return c, py


@pytest.mark.parametrize(
    "extra",
    [
        ["--product", "photo-pro", "--json"],
        ["--product", "1"],
        ["--product", "2", "--json"],
        ["--product", "1", "--json", "--build-date", "2030-01-01"],
        ["--product", "1", "--json", "--now", "2026-01-14T23:59:59Z"],
        ["--product", "1", "--json", "--now", "2026-01-15T08:00:00+09:00"],
    ],
)
def test_license_check_prints_what_the_reference_prints(
    build: Path, tmp_path: Path, extra: list[str]
) -> None:
    args = ["--key", KEY, "--email", " Alice@Example.com", "--keyring", str(VECTORS / "keyring.json")]
    if "--now" not in extra:
        args += ["--now", "2026-06-15T12:00:00Z"]
    c, py = _both(build, args + extra, tmp_path)
    assert (c.returncode, c.stdout) == (py.returncode, py.stdout)


@pytest.mark.parametrize(
    "extra",
    [
        ["--product", "nope"],
        ["--product", "0"],
        ["--product", "1", "--now", "yesterday"],
        ["--product", "1", "--build-date", "2026-13-01"],
        ["--product", "1", "--revocations", "missing.json"],
        ["--product", "1", "--revocations", "tampered.json"],
        ["--product", "1", "--keyring", "missing.json"],
        ["--product"],
        ["--bogus"],
    ],
)
def test_license_check_usage_errors_exit_2(build: Path, tmp_path: Path, extra: list[str]) -> None:
    document = json.loads((VECTORS / "revocations.json").read_text())
    document["serials"] = [1001]
    (tmp_path / "tampered.json").write_text(json.dumps(document))
    args = ["--key", KEY, "--email", "alice@example.com", "--keyring", str(VECTORS / "keyring.json")]
    c, py = _both(build, args + extra, tmp_path)
    assert c.returncode == py.returncode == 2
    assert c.stdout == ""
    last = c.stderr.strip().splitlines()[-1]
    assert last.startswith("license-check: error: ")
    assert KEY not in c.stderr and "alice" not in c.stderr


def test_revocation_state_keeps_the_newest_list(build: Path, tmp_path: Path) -> None:
    """An older list given after a newer one does not un-revoke; the state file is 0600."""
    from licensing_client.revocation import revocation_message

    from .conftest import signing_key

    def write(name: str, sequence: int, serials: list[int]) -> Path:
        message = revocation_message(3, sequence, 1772323200, serials)
        path = tmp_path / name
        path.write_text(
            json.dumps(
                {
                    "format": "licensing-revocations/1",
                    "key_id": 3,
                    "sequence": sequence,
                    "issue_time": 1772323200,
                    "serials": serials,
                    "signature": signing_key(3).sign(message).signature.hex(),
                }
            )
        )
        return path

    newer, older = write("newer.json", 9, [1001]), write("older.json", 8, [])
    base = [
        "--key",
        KEY,
        "--email",
        "alice@example.com",
        "--product",
        "1",
        "--now",
        "2026-06-15T12:00:00Z",
        "--keyring",
        str(VECTORS / "keyring.json"),
        "--json",
        "--revocations-state",
        "state.json",
    ]
    c, _ = _both(build, [*base, "--revocations", str(newer)], tmp_path)
    assert (c.returncode, json.loads(c.stdout)) == (1, {"valid": False, "reason": "REVOKED"})
    assert (tmp_path / "state.json").stat().st_mode & 0o777 == 0o600
    c, py = _both(build, [*base, "--revocations", str(older)], tmp_path)
    assert (
        (c.returncode, c.stdout)
        == (py.returncode, py.stdout)
        == (1, '{"valid": false, "reason": "REVOKED"}\n')
    )


def test_the_library_makes_no_network_calls(build: Path) -> None:
    """The library imports nothing that talks to a network (its dependencies neither: see README)."""
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm (binutils) is not installed")
    library = build / "liblicense_validator.so"
    undefined = subprocess.run(
        [nm, "-D", "--undefined-only", str(library)], capture_output=True, text=True, check=True
    )
    names = {line.split()[-1].split("@")[0] for line in undefined.stdout.splitlines() if line.strip()}
    network = {
        "socket",
        "connect",
        "getaddrinfo",
        "gethostbyname",
        "send",
        "sendto",
        "recv",
        "recvfrom",
        "bind",
    }
    assert not names & network
    assert "crypto_sign_verify_detached" in names and "idna_to_ascii_4i" in names
