"""Shared fixtures of the client tests: the committed vectors and what they describe."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from licensing_client import PublicKeyring, RevocationList

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS = REPO_ROOT / "tests" / "vectors"
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def load_generator() -> ModuleType:
    """tests/vectors/generate.py as a module (it is a script, not part of a package)."""
    name = "licensing_vectors_generate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, VECTORS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def generator() -> ModuleType:
    return load_generator()


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "keys.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def keyring() -> PublicKeyring:
    return PublicKeyring.load(VECTORS / "keyring.json")


@pytest.fixture(scope="session")
def revocations(keyring: PublicKeyring) -> RevocationList:
    return RevocationList.load(VECTORS / "revocations.json", keyring)
