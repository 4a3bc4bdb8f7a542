"""Order references in the shapes real stores and payment providers use, generated.

Each generator returns one reference in a documented or commonly seen shape; the shapes are
what matter (a filter that refuses FastSpring's references refuses real buyers), not any real
reference. `corpus(n)` gives n of each, deterministically.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

Generator = Callable[[random.Random], str]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _alnum(rng: random.Random, n: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _date(rng: random.Random) -> str:
    return f"{rng.randint(18, 30):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"


SHAPES: dict[str, Generator] = {
    # FastSpring order reference: store prefix, date, two digit groups (e.g. PFE260413-8805-25715).
    "fastspring": lambda r: (
        f"{_alnum(r, 3, string.ascii_uppercase)}{_date(r)}-{_digits(r, 4)}-{_digits(r, 5)}"
    ),
    # Google Play order ID: GPA.1234-5678-9012-34567, with an optional ..N renewal suffix.
    "google-play": lambda r: (
        f"GPA.{_digits(r, 4)}-{_digits(r, 4)}-{_digits(r, 4)}-{_digits(r, 5)}"
        + (f"..{r.randint(0, 40)}" if r.random() < 0.3 else "")
    ),
    # Amazon order number: 3-7-7 digits.
    "amazon": lambda r: f"{r.randint(100, 999)}-{_digits(r, 7)}-{_digits(r, 7)}",
    # eBay order number: 2-5-5 digits.
    "ebay": lambda r: f"{_digits(r, 2)}-{_digits(r, 5)}-{_digits(r, 5)}",
    # Plain order numbers of 9 to 19 digits (2Checkout REFNO, shop systems, ERP exports).
    "plain-digits": lambda r: str(r.randint(1, 9)) + _digits(r, r.randint(8, 18)),
    # Apple App Store order ID (e.g. MK7F3B2C9D) and transaction ID (15-16 digits).
    "apple": lambda r: (
        _alnum(r, 10) if r.random() < 0.5 else str(r.randint(1, 9)) + _digits(r, r.randint(14, 15))
    ),
    # Shopify order names (#1001, #SHOP1001-2) and Shopify order IDs (13 digits).
    "shopify": lambda r: r.choice(
        [
            f"#{r.randint(1000, 999999)}",
            f"#SHOP{r.randint(1000, 99999)}-{r.randint(1, 9)}",
            str(r.randint(10**12, 10**13 - 1)),
        ]
    ),
    # Paddle Billing transaction (txn_01h...) and Paddle Classic order IDs (12345678-1234567).
    "paddle": lambda r: (
        f"txn_01{_alnum(r, 24, string.ascii_lowercase + string.digits)}"
        if r.random() < 0.5
        else f"{_digits(r, 8)}-{_digits(r, 7)}"
    ),
    # Stripe PaymentIntent / Checkout Session IDs.
    "stripe": lambda r: (
        r.choice(["pi_3", "cs_live_a1", "ch_3"]) + _alnum(r, 24, string.ascii_letters + string.digits)
    ),
    # PayPal transaction IDs (17 alphanumerics) and order IDs.
    "paypal": lambda r: _alnum(r, 17),
    # WooCommerce order keys and numbers; Magento increment IDs.
    "woocommerce": lambda r: r.choice(
        [
            f"wc_order_{_alnum(r, 13, string.ascii_letters + string.digits)}",
            f"{r.randint(100000000, 999999999)}",
            f"#{r.randint(1, 99999)}",
        ]
    ),
    # 2Checkout (Verifone) REFNO and external references with spaces and slashes.
    "2checkout": lambda r: r.choice(
        [str(r.randint(10**7, 10**9)), f"ORDER {r.randint(1, 99999)}/{r.randint(2019, 2026)}"]
    ),
    # Marketplaces and shops outside the ASCII world (Japanese, Chinese, Cyrillic, German).
    "international": lambda r: r.choice(
        [
            f"注文番号-{_digits(r, 8)}",
            f"订单{_digits(r, 12)}",
            f"ЗАКАЗ №{_digits(r, 6)}",
            f"Bestellung {_digits(r, 6)}",
            f"Commande n° {_digits(r, 7)}",
        ]
    ),
    # Order numbers printed with the spaces of a card or an IBAN by an ERP: 4-4-4-4 digits.
    "grouped-16": lambda r: " ".join(_digits(r, 4) for _ in range(4)),
}


def corpus(per_shape: int, seed: int = 20261130) -> dict[str, list[str]]:
    rng = random.Random(seed)
    return {shape: [make(rng) for _ in range(per_shape)] for shape, make in SHAPES.items()}
