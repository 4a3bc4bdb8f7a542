"""The three validators (Python, TypeScript, C) give byte-identical answers on 20,000+ inputs.

Each client's conformance runner (tests/vectors/README.md) reads the same JSON lines from
tests/conformance/cases.py: emails across scripts, keys as people type them, revocation lists and
keyrings as other tools write them, every public Ed25519 edge case. A disagreement is a bug in a
client or a hole in docs/key-format.md; the assertion names the first ones.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from . import cases as generator

REPO = Path(__file__).resolve().parents[2]
RUNNERS = {
    "python": [sys.executable, str(REPO / "tests" / "conformance" / "runner_python.py")],
    "js": ["node", str(REPO / "clients" / "js" / "dist" / "conformance-runner.js")],
    "c": [str(REPO / "clients" / "c" / "build" / "license_conformance")],
}


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return [json.dumps(case) for case in generator.cases()]


def _run(name: str, lines: list[str]) -> list[str]:
    command = RUNNERS[name]
    program = command[-1] if name != "c" else command[0]
    if not Path(program).exists() or (name == "js" and shutil.which("node") is None):
        message = f"the {name} conformance runner is not built ({program}); run `make test`, which builds it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        command,
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{name} runner failed: {result.stderr[-2000:]}"
    output = result.stdout.splitlines()
    assert len(output) == len(lines), f"{name} runner answered {len(output)} of {len(lines)} lines"
    return output


def test_enough_cases_of_every_kind(lines: list[str]) -> None:
    kinds = Counter(json.loads(line)["op"] for line in lines)
    assert sum(kinds.values()) >= 20_000
    assert set(kinds) == {"email", "validate", "revocations", "keyring", "verify", "decode"}


@pytest.mark.parametrize("other", ["js", "c"])
def test_clients_agree_with_the_reference(lines: list[str], other: str) -> None:
    reference = _run("python", lines)
    answers = _run(other, lines)
    disagreements = [
        (i, lines[i], reference[i], answers[i]) for i in range(len(lines)) if reference[i] != answers[i]
    ]
    by_op = Counter(json.loads(line)["op"] for _, line, _, _ in disagreements)
    examples = "\n".join(
        f"  in  {line}\n  py  {mine}\n  {other:3} {theirs}" for _, line, mine, theirs in disagreements[:5]
    )
    assert not disagreements, f"{len(disagreements)} of {len(lines)} disagree ({dict(by_op)}):\n{examples}"
