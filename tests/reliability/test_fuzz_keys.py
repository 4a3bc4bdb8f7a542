"""The key reader, fuzzed in-process: the CI-sized run of fuzz_keys.py, and Hypothesis on top.

`make fuzz` runs fuzz_keys.py with 100,000+ inputs; here LICENSING_FUZZ_INPUTS (default 5000).
"""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from .fuzz_keys import EMAILS, FuzzReport, Genuine, check_one, fuzz, genuine_keys
from .kit import figure, size
from .strategies import hostile_text

INPUTS = size("LICENSING_FUZZ_INPUTS", 5000)
SEED = size("LICENSING_FUZZ_SEED", 1)
IN_CI = bool(os.environ.get("CI"))
KEYRING, GENUINE = genuine_keys()


def test_the_key_reader_never_crashes_and_accepts_no_forgery() -> None:
    report = fuzz(INPUTS, SEED)
    figure(
        "fuzz.key_reader",
        inputs=report.inputs,
        seed=SEED,
        crashes=len(report.crashes),
        forgeries_accepted=len(report.forgeries),
        parsed=report.parsed,
        valid_all_genuine=report.accepted,
        inputs_per_second=round(report.rate),
        slowest_ms=round(report.slowest * 1e3, 2),
    )
    assert report.crashes == [], report.crashes[:3]
    assert report.forgeries == [], report.forgeries[:3]
    assert report.slow == [], report.slow[:3]
    assert report.parsed and report.accepted  # the mutations reach the signature check, and past it


ANY_TEXT = st.one_of(hostile_text(max_size=300), st.text(st.characters(), max_size=300))  # surrogates too


@settings(
    max_examples=size("LICENSING_FUZZ_EXAMPLES", 300),
    deadline=None,
    derandomize=IN_CI,
    database=None if IN_CI else settings().database,  # the active profile's example database
)
@given(
    text=ANY_TEXT, email=st.one_of(st.sampled_from(EMAILS), hostile_text()), original=st.sampled_from(GENUINE)
)
def test_any_text_is_read_without_crashing(text: str, email: str, original: Genuine) -> None:
    report = FuzzReport()
    check_one(text, None, KEYRING, email, report)
    check_one(original.text[:40] + text + original.text[40:], original, KEYRING, email, report)
    assert report.forgeries == []
