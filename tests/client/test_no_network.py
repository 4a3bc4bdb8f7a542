"""The validator sends nothing: it imports no network module, and its tests pass with no sockets.

(a) A fresh interpreter imports licensing_client and validates a key; the modules it loaded,
    less those a bare interpreter loads, hold nothing that can talk to a network.
(b) The rest of the client suite runs in a process where creating a socket raises, and passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import licensing_client
import nacl

from .conftest import REPO_ROOT, VECTORS

# Top-level modules that open, or exist to serve, network connections.
NETWORK_MODULES = frozenset(
    {
        "socket", "_socket", "ssl", "_ssl", "select", "selectors", "asyncio", "http", "urllib",
        "email", "ftplib", "smtplib", "poplib", "imaplib", "nntplib", "telnetlib", "xmlrpc",
        "socketserver", "webbrowser", "mailbox", "requests", "urllib3", "httpx", "aiohttp", "grpc",
    }
)  # fmt: skip

# -S: no site module, so nothing a .pth file or an editable install pulls in at start-up counts
# for the baseline; the two paths below are all the validator needs.
_PATHS = [str(Path(licensing_client.__file__).parents[1]), str(Path(nacl.__file__).parents[1])]
_PRELUDE = f"import sys; sys.path[:0] = {_PATHS!r}\n"
_VALIDATE = """
import datetime as dt, json
from licensing_client import PublicKeyring, RevocationList, validate
import licensing_client.cli
keyring = PublicKeyring.from_json(open(KEYRING, 'rb').read())
revocations = RevocationList.from_json(open(REVOCATIONS, 'rb').read(), keyring)
case = CASE
license = validate(case['key'], case['email'], case['product'], keyring,
                   dt.datetime.fromisoformat(case['now']), revocations=revocations)
assert license.serial == case['expected']['license']['serial']
"""


def _modules_after(code: str) -> set[str]:
    script = _PRELUDE + code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-S", "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_validating_imports_no_network_module() -> None:
    cases = json.loads((VECTORS / "keys.json").read_text(encoding="utf-8"))["keys"]
    case = next(c for c in cases if c["name"] == "valid/unicode-email")
    code = (
        f"KEYRING = {str(VECTORS / 'keyring.json')!r}\n"
        f"REVOCATIONS = {str(VECTORS / 'revocations.json')!r}\n"
        f"CASE = {case!r}\n" + _VALIDATE
    )
    baseline = _modules_after("")
    loaded = _modules_after(code) - baseline
    assert "licensing_client.validate" in loaded and "nacl.bindings" in loaded  # it did run
    network = sorted(name for name in loaded if name.split(".")[0] in NETWORK_MODULES)
    assert not network, f"licensing_client imported network modules: {network}"


def test_client_suite_passes_without_sockets() -> None:
    env = dict(os.environ)
    blocker = str(Path(__file__).parent / "no_socket")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (blocker, env.get("PYTHONPATH")) if p)
    env.pop("LICENSING_NETWORK_BLOCKED", None)

    canary = subprocess.run(
        [sys.executable, "-c", "import socket; socket.socket()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert canary.returncode != 0 and "NetworkBlocked" in canary.stderr, "the socket blocker is not active"

    here = Path(__file__).parent
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(here), "-q", "-p", "no:cacheprovider",
            "--ignore", str(here / "test_no_network.py"),
            "--ignore", str(here / "test_install.py"),  # pip needs the package index: it is the exception
        ],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1:] or [""]
    assert result.returncode == 0, f"client suite failed without sockets:\n{result.stdout[-4000:]}"
    assert " passed" in summary[0] and "failed" not in summary[0], summary
