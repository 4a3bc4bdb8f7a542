"""Free text people type into notes and consent sources: honest text, and card numbers.

`honest_notes` are what support staff write (dates, times, phone numbers, order and ticket
references, amounts); the card screen must let them through. `card_numbers` are test card
numbers of every network, written with every separator people use.
"""

from __future__ import annotations

import random

# Public test card numbers (networks' documented test numbers), one per network and length.
TEST_CARDS = [
    "4111111111111111", "4012888888881881", "4222222222222", "4111111111111111003",
    "5555555555554444", "5105105105105100", "2223000048400011", "2720992593319364",
    "378282246310005", "371449635398431", "30569309025904", "38520000023237",
    "6011111111111117", "6011000990139424", "6445644564456445", "3530111333300000",
    "3566002020360505", "6200000000000005", "6759649826438453", "2200000000000004",
]  # fmt: skip
SEPARATORS = [" ", "-", ".", "_", "/", "+", "#", ":", "  ", "--", "..", " - ", "\t", " / "]


def _spell(number: str, separator: str, rng: random.Random) -> str:
    if len(number) == 15 and rng.random() < 0.6:  # American Express prints 4-6-5
        groups = [number[:4], number[4:10], number[10:]]
    else:
        size = 4  # how cards are printed, and so typed
        groups = [number[i : i + size] for i in range(0, len(number), size)]
    return separator.join(groups)


def card_numbers(rng: random.Random) -> list[str]:
    """Every test card with every separator, bare and inside a sentence."""
    texts = []
    for number in TEST_CARDS:
        texts.append(number)
        for separator in SEPARATORS:
            spelled = _spell(number, separator, rng)
            texts.append(spelled)
            texts.append(f"customer read out card {spelled} on the phone")
    return texts


def honest_notes(count: int, rng: random.Random) -> list[str]:
    makers = [
        lambda: f"refund {rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
        lambda: f"chargeback case #{rng.randint(10**5, 10**9)} opened {rng.randint(1, 28)}/{rng.randint(1, 12)}/{rng.randint(2019, 2026)}",
        lambda: f"called +{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        lambda: f"ticket {rng.randint(10**6, 10**8)}, order GPA.{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}-{rng.randint(10000, 99999)}",
        lambda: f"amazon order {rng.randint(100, 999)}-{rng.randint(10**6, 10**7 - 1)}-{rng.randint(10**6, 10**7 - 1)}",
        lambda: f"refunded {rng.randint(1, 999)}.{rng.randint(0, 99):02d} EUR on {rng.randint(2019, 2026)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
        lambda: f"newsletter-form/{rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}",
        lambda: f"FS order PFE{rng.randint(180101, 301231)}-{rng.randint(1000, 9999)}-{rng.randint(10000, 99999)}",
        lambda: f"IBAN DE{rng.randint(10, 99)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)} {rng.randint(10, 99)}",
        lambda: f"webinar {rng.randint(2019, 2026)}.{rng.randint(1, 12):02d}.{rng.randint(1, 28):02d} {rng.randint(8, 20)}:{rng.randint(0, 59):02d}",
        lambda: f"serial {rng.randint(0, 2**48):012X} replaced",
        lambda: f"{rng.randint(1, 9)}{rng.randint(10**15, 10**16 - 1)} ebay-{rng.randint(10, 99)}-{rng.randint(10000, 99999)}-{rng.randint(10000, 99999)}",
    ]  # fmt: skip
    return [rng.choice(makers)() for _ in range(count)]
