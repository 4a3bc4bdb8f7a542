"""The TypeScript client's own test suite (clients/js/test, Node's test runner) runs in `make test`.

It checks the JS validator against every shared vector in tests/vectors, every Ed25519 verdict,
the generated stringprep tables and Node's NFKC against Unicode 3.2; `make test` builds the
package first (the Makefile's js-client target).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[2] / "clients" / "js"


def test_js_client_suite_passes() -> None:
    npm = shutil.which("npm")
    if npm is None or not (JS / "node_modules").is_dir():
        message = "clients/js is not installed: run `make js-client` (make test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [npm, "test", "--silent", "--prefix", str(JS)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"npm test failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
