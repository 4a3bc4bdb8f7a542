#!/usr/bin/env python3
"""The figures of docs/reliability.md, "Real-world input": what the input checks accept and refuse.

    .venv/bin/python scripts/real_world_figures.py

Order references in the shapes of real stores (tests/realworld/orders.py), honest support notes
and card numbers with every separator (tests/realworld/notes.py), and emails across scripts
(tests/conformance/cases.py), through today's checks and, for comparison, through the order
reference rule of version 1.0 (a Luhn run of 13 to 19 digits anywhere, spaces refused).
"""

from __future__ import annotations

import random
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conformance.cases import random_email
from licensing_client import InvalidEmail, normalize_email
from realworld.names import addresses
from realworld.notes import card_numbers, honest_notes
from realworld.orders import corpus

from licensing.errors import InvalidArgument
from licensing.inputs import check_order_ref, looks_like_card_number

_OLD_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#+-]{0,63}")
_OLD_RUN = re.compile(r"\d(?:[ -]?\d){12,18}")


def _old_luhn(digits: list[int]) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _old_refused(reference: str) -> bool:
    if not _OLD_REF.fullmatch(reference):
        return True
    for match in _OLD_RUN.finditer(reference):
        digits = [int(ch) for ch in match.group() if ch.isdigit()]
        for start in range(len(digits) - 12):
            for end in range(start + 13, min(len(digits), start + 19) + 1):
                if _old_luhn(digits[start:end]):
                    return True
    return False


def main() -> int:
    per_shape = 1000
    print("| order reference shape | tried | refused now | refused by 1.0 |\n| --- | ---: | ---: | ---: |")
    for shape, references in corpus(per_shape).items():
        now = 0
        for reference in references:
            try:
                check_order_ref(reference)
            except InvalidArgument:
                now += 1
        old = sum(_old_refused(reference) for reference in references)
        print(f"| {shape} | {len(references):,} | {now} | {old} ({old / len(references):.0%}) |")
    notes = honest_notes(20_000, random.Random(11))
    refused_notes = sum(looks_like_card_number(note) for note in notes)
    cards = card_numbers(random.Random(3))
    caught = sum(looks_like_card_number(text) for text in cards)
    print(f"\nhonest notes: {len(notes):,} tried, {refused_notes} refused ({refused_notes / len(notes):.3%})")
    print(
        f"card numbers (20 test cards x 14 separators, bare and in a sentence): {len(cards):,} tried, {caught} caught"
    )
    rng = random.Random(20261130)
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for _ in range(20_000):
        email = random_email(rng)
        try:
            normalize_email(email)
            outcomes["accepted"] += 1
        except InvalidEmail as exc:
            outcomes["refused"] += 1
            reasons["unassigned in Unicode 3.2" if "Unicode 3.2" in str(exc) else "other rules"] += 1
    print(f"\nemails across scripts (the differential test's generator, refusals included on purpose): "
          f"{sum(outcomes.values()):,} tried, {outcomes['accepted']:,} accepted, {outcomes['refused']:,} refused "
          f"({dict(reasons)})")  # fmt: skip
    by_script: Counter[str] = Counter()
    refused_by_script: Counter[str] = Counter()
    for script, address in addresses(random.Random(5), 5000):
        by_script[script] += 1
        try:
            normalize_email(address)
        except InvalidEmail:
            refused_by_script[script] += 1
    print("\n| names in (tests/realworld/names.py) | addresses tried | refused |\n| --- | ---: | ---: |")
    for script, tried in sorted(by_script.items()):
        print(f"| {script} | {tried:,} | {refused_by_script[script]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
