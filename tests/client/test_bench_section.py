"""bench/validate.py --write updates only its own section of docs/benchmarks.md."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from .conftest import REPO_ROOT


def _bench() -> ModuleType:
    """bench/validate.py as a module (it is a script; dataclasses needs it in sys.modules)."""
    name = "licensing_bench_validate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "bench" / "validate.py")
        assert spec is not None and spec.loader is not None
        sys.modules[name] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_write_section_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    bench = _bench()
    path = tmp_path / "benchmarks.md"
    path.write_text(
        "# Benchmarks\n\nIntro.\n\n<!-- bench:server -->\nserver figures\n<!-- /bench:server -->\n"
    )
    bench.write_section(path, "first run\n")
    bench.write_section(path, "second run\n")
    text = path.read_text()
    assert text.count(bench.BEGIN) == 1 and text.count(bench.END) == 1
    assert "second run" in text and "first run" not in text
    assert text.startswith("# Benchmarks\n\nIntro.\n") and "server figures" in text


def test_write_section_creates_the_file(tmp_path: Path) -> None:
    bench = _bench()
    path = tmp_path / "new.md"
    bench.write_section(path, "figures\n")
    assert path.read_text() == f"# Benchmarks\n\n{bench.BEGIN}\nfigures\n{bench.END}\n"


def test_the_committed_section_is_there() -> None:
    text = (REPO_ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    bench = _bench()
    assert text.count(bench.BEGIN) == 1 and text.count(bench.END) == 1
