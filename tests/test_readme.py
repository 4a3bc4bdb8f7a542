"""The README's promises, run as a newcomer would: a fresh clone, `make serve`, then its snippets.

Slow (it builds a virtual environment from scratch), and the only test that does: it is what
proves that the two commands set everything up on a fresh machine.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shell_blocks(readme: str, section: str) -> list[str]:
    """The ```sh blocks under the heading `section`."""
    part = readme.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", part, flags=re.DOTALL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_fresh_clone_make_serve_then_the_readme_snippets_work(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LICENSING_", "VIRTUAL_ENV"))}
    env["ADDRESS"] = f"127.0.0.1:{port}"
    server = subprocess.Popen(
        ["make", "serve"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output = []
        assert server.stdout is not None
        deadline = time.monotonic() + 600
        for line in server.stdout:
            output.append(line)
            if "listening on port" in line or time.monotonic() > deadline:
                break
        assert any("listening on port" in line for line in output), "".join(output[-40:])

        readme = (clone / "README.md").read_text()
        script = "set -euo pipefail\n" + "\n".join(
            shell_blocks(readme, "The order system: issuing a key")
            + shell_blocks(readme, "The desktop software: checking a key offline")
        )
        run_env = dict(env, LICENSING_ADDRESS=f"127.0.0.1:{port}")
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=clone,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        key = result.stdout.splitlines()[0]
        assert len(key) <= 160 and key.count("-") == 17
        assert "serial" in result.stdout.lower()  # license-check printed the license it accepted
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
