"""The email rules use Unicode 3.2 alone: checked against libidn's copy of the RFC 3454 tables.

Python's `stringprep.map_table_b2` lower-cases with the host's Unicode database, so the reference
filters it (email.py, `_map_b2`). Here the result is compared, code point by code point, with
table B.2 as GNU libidn ships it (compiled from the RFC's text), read through ctypes, so a Python
upgrade that moves a mapping fails this test instead of silently changing whose keys validate.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import stringprep

import pytest
from licensing_client import InvalidEmail, normalize_email
from licensing_client.email import _map_b2

MAX_MAP = 4


class _Element(ctypes.Structure):
    _fields_ = [("start", ctypes.c_uint32), ("end", ctypes.c_uint32), ("map", ctypes.c_uint32 * MAX_MAP)]


def _libidn() -> ctypes.CDLL:
    name = ctypes.util.find_library("idn")
    if name is None:
        if os.environ.get("CI"):
            pytest.fail("libidn is not installed (the Makefile's C-client set-up installs libidn-dev)")
        pytest.skip("libidn is not installed")
    return ctypes.CDLL(name)


def _table(lib: ctypes.CDLL, symbol: str) -> list[tuple[int, int, tuple[int, ...]]]:
    first = ctypes.cast(getattr(lib, symbol), ctypes.POINTER(_Element))
    rows = []
    index = 0
    while first[index].start or first[index].end:
        row = first[index]
        rows.append((row.start, row.end or row.start, tuple(c for c in row.map if c)))
        index += 1
    return rows


def test_table_b2_is_unicode_3_2_as_rfc_3454_prints_it() -> None:
    lib = _libidn()
    reference = {
        start: "".join(map(chr, mapping)) for start, _, mapping in _table(lib, "stringprep_rfc3454_B_2")
    }
    assert len(reference) > 1300
    wrong = [
        f"U+{cp:04X}"
        for cp in range(0x110000)
        if not 0xD800 <= cp <= 0xDFFF
        and not stringprep.in_table_a1(chr(cp))
        and _map_b2(chr(cp)) != reference.get(cp, chr(cp))
    ]
    assert wrong == []


@pytest.mark.parametrize(
    "symbol", ["A_1", "B_1", "C_1_2", "C_2_2", "C_3", "C_4", "C_5", "C_6", "C_7", "C_8", "C_9", "D_1", "D_2"]
)
def test_python_stringprep_tables_match_libidn(symbol: str) -> None:
    lib = _libidn()
    ours = getattr(stringprep, "in_table_" + symbol.replace("_", "").lower())
    listed: set[int] = set()
    for start, end, _ in _table(lib, "stringprep_rfc3454_" + symbol):
        listed.update(range(start, end + 1))
    differ = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and ours(chr(cp)) != (cp in listed)]
    assert differ == []


@pytest.mark.parametrize(
    "raw",
    [
        "\u13a0\u13a1@example.com",  # Cherokee capitals: folded by a current Python, not by 3.2
        "x@\u13a0.example",
        "\u10a0\u10a1@example.ge",  # Georgian Asomtavruli
        "\u04c0@example.com",
        "\u2132@example.com",
    ],
)
def test_letters_whose_case_mapping_came_after_3_2_are_kept(raw: str) -> None:
    local, _, domain = normalize_email(raw).partition("@")
    assert local == raw.partition("@")[0] or domain.startswith("xn--")
    assert normalize_email(normalize_email(raw)) == normalize_email(raw)


@pytest.mark.parametrize("cp", [0x1F600, 0x1F130, 0x0221, 0xAB70, 0x1E9E, 0xF951, 0x2F868])
def test_unstable_code_points_are_refused_with_a_name_not_the_address(cp: int) -> None:
    for raw in (f"secret{chr(cp)}@example.com", f"secret@x{chr(cp)}.example"):
        with pytest.raises(InvalidEmail) as caught:
            normalize_email(raw)
        assert f"U+{cp:04X}" in str(caught.value) and "secret" not in str(caught.value)
