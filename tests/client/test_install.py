"""licensing-client installs alone into an empty virtual environment, brings only PyNaCl (and
PyNaCl's own cffi and pycparser), and its installed license-check validates a vector key.

This is what a vendor shipping the validator gets: it guards the "one dependency" promise of
clients/python/pyproject.toml against a stray import or requirement. Slow (pip), but it runs by
default; it needs the package index or a warm pip cache, like any install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from .conftest import REPO_ROOT, VECTORS

ALLOWED = {"licensing-client", "pynacl", "cffi", "pycparser", "pip", "setuptools"}


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


@pytest.mark.slow
def test_install_into_an_empty_venv(tmp_path: Path) -> None:
    target = tmp_path / "venv"
    venv.create(target, with_pip=True, system_site_packages=False, clear=True)
    python = target / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    def pip(*args: str) -> str:
        result = subprocess.run(
            [str(python), "-m", "pip", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, (
            f"pip {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
        return result.stdout

    # From a copy of the package source: setuptools builds in place, and the work tree is shared.
    source = tmp_path / "licensing-client"
    ignore = shutil.ignore_patterns("*.egg-info", "build", "dist", "__pycache__")
    shutil.copytree(REPO_ROOT / "clients" / "python", source, ignore=ignore)
    pip("install", "--quiet", str(source))

    installed = {_canonical(entry["name"]) for entry in json.loads(pip("list", "--format=json"))}
    assert {"licensing-client", "pynacl"} <= installed
    assert installed <= ALLOWED, f"unexpected packages: {sorted(installed - ALLOWED)}"

    # The installed package, not the work tree's: run from tmp_path with no PYTHONPATH.
    where = subprocess.run(
        [str(python), "-c", "import licensing_client; print(licensing_client.__file__)"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=True,
    )  # fmt: skip
    assert str(target) in where.stdout

    case = next(
        c
        for c in json.loads((VECTORS / "keys.json").read_text("utf-8"))["keys"]
        if c["name"] == "valid/expiring"
    )
    result = subprocess.run(
        [
            str(target / "bin" / "license-check"),
            "--key", case["key"], "--email", case["email"], "--product", "video-max",
            "--keyring", str(VECTORS / "keyring.json"), "--now", case["now"], "--json",
        ],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["license"]["serial"] == case["expected"]["license"]["serial"]
