"""Addresses made of real names in 24 scripts: every one is accepted and normalises stably."""

from __future__ import annotations

import random
import sys
import unicodedata
from pathlib import Path

from licensing_client import normalize_email

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from realworld.names import addresses


def test_names_in_every_script_are_accepted() -> None:
    refused = []
    for script, address in addresses(random.Random(5), 5000):
        try:
            normal = normalize_email(address)
        except ValueError as exc:
            refused.append((script, address, str(exc)))
            continue
        # The same address typed decomposed, or with other case, is the same address.
        assert normalize_email(unicodedata.normalize("NFD", address)) == normal
        assert normalize_email(normal) == normal
    assert refused == []
