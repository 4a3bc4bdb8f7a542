"""Generated inputs for the differential test of the three validators (tests/vectors/README.md).

Deterministic (a seeded random.Random): the same 20,000+ lines on every run and machine, in the
shapes the world produces: emails in many scripts, typed with the wrong case, decomposed, padded
with the spaces and invisible characters that copy and paste bring; keys with typos, look-alikes,
dropped and doubled characters, Unicode dashes; revocation lists and keyrings written by other
tools (a byte-order mark, 7.0 for 7, upper-case hex, extra members), and tampered ones.

    python tests/conformance/cases.py > cases.jsonl    # to feed a runner by hand
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nacl.signing
from licensing_client import InvalidEmail, License, normalize_email
from licensing_client.email import email_digest
from licensing_client.keyformat import encode_payload, format_key, signed_message
from licensing_client.revocation import REVOCATIONS_FORMAT, revocation_message

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
SEED = 20261130

# Code point pools by script, for local parts and domain labels. Some are there to be refused
# (emoji, scripts and letters added after Unicode 3.2, private use, controls).
SCRIPTS: dict[str, list[tuple[int, int]]] = {
    "latin": [(0x61, 0x7A), (0x41, 0x5A), (0x30, 0x39)],
    "latin-ext": [(0xC0, 0x17F), (0x180, 0x24F)],
    "greek": [(0x391, 0x3A9), (0x3B1, 0x3C9), (0x3C2, 0x3C2), (0x1F00, 0x1FFF)],
    "cyrillic": [(0x400, 0x4FF)],
    "armenian": [(0x531, 0x556), (0x561, 0x587)],
    "hebrew": [(0x5D0, 0x5EA)],
    "arabic": [(0x621, 0x64A), (0x660, 0x669)],
    "devanagari": [(0x905, 0x939), (0x93E, 0x94D)],
    "bengali": [(0x985, 0x9B9)],
    "tamil": [(0xB85, 0xBB9), (0xBBE, 0xBCD)],
    "thai": [(0xE01, 0xE30), (0xE31, 0xE3A)],
    "georgian": [(0x10A0, 0x10C5), (0x10D0, 0x10FA)],
    "hangul": [(0xAC00, 0xD7A3), (0x1100, 0x1159)],
    "cherokee": [(0x13A0, 0x13F4), (0xAB70, 0xABBF)],
    "ethiopic": [(0x1200, 0x1248)],
    "kana": [(0x3041, 0x3096), (0x30A1, 0x30FA), (0xFF66, 0xFF9D)],
    "cjk": [(0x4E00, 0x9FA5), (0x3400, 0x4DB5), (0xF900, 0xFA2D)],
    "fullwidth": [(0xFF21, 0xFF3A), (0xFF41, 0xFF5A), (0xFF10, 0xFF19)],
    "compat": [(0x2160, 0x2188), (0x2460, 0x24FF), (0x3371, 0x33DD), (0xFB00, 0xFB06)],
    "combining": [(0x300, 0x36F)],
    "emoji": [(0x1F600, 0x1F64F), (0x1F130, 0x1F149)],
    "newer": [(0x0221, 0x0221), (0x1E9E, 0x1E9E), (0x2C00, 0x2C2E), (0xA7C0, 0xA7CA), (0x0860, 0x086A)],
    "invisible": [(0xAD, 0xAD), (0x200B, 0x200D), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0x2060, 0x2060)],
    "odd": [
        (0xE000, 0xE0FF),
        (0x2028, 0x2029),
        (0x0, 0x1F),
        (0x7F, 0x9F),
        (0x202A, 0x202E),
        (0xFFF9, 0xFFFD),
    ],
}
ASCII_LOCAL_SYMBOLS = "!#$%&'*+-/=?^_`{|}~."
WHITESPACE = " \t\n\u00a0\u3000\u2003\u205f\u1680\u0085"
LABEL_DOTS = ".\u3002\uff0e\uff61"
TLDS = ["com", "de", "jp", "xn--p1ai", "рф", "中国", "org", "co.uk", "ελ", "இந்தியா", "COM"]


def _pick(rng: random.Random, script: str) -> str:
    low, high = rng.choice(SCRIPTS[script])
    return chr(rng.randint(low, high))


def _run(rng: random.Random, scripts: list[str], size: int) -> str:
    return "".join(_pick(rng, rng.choice(scripts)) for _ in range(size))


def random_email(rng: random.Random) -> str:
    main = rng.choice(list(SCRIPTS))
    mixes = [main] * 6 + [rng.choice(list(SCRIPTS))]
    if rng.random() < 0.35:
        local = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + ASCII_LOCAL_SYMBOLS)
                        for _ in range(rng.randint(1, 20)))  # fmt: skip
    else:
        local = _run(rng, mixes, rng.randint(1, 12))
    if rng.random() < 0.5:
        label = "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-") for _ in range(rng.randint(1, 12))
        )
    else:
        label = _run(rng, [main, "latin"], rng.randint(1, 10))
    tld = rng.choice(TLDS)
    domain = label + rng.choice(LABEL_DOTS if not label.isascii() else ".") + tld
    email = local + "@" + domain
    roll = rng.random()
    if roll < 0.15:
        email = unicodedata.normalize("NFD", email)
    elif roll < 0.25:
        email = email.upper()
    elif roll < 0.30:
        email = unicodedata.normalize("NFKD", email)
    if rng.random() < 0.15:
        email = rng.choice(WHITESPACE) + email + rng.choice(WHITESPACE)
    if rng.random() < 0.05:
        position = rng.randint(0, len(email))
        email = (
            email[:position]
            + rng.choice(["@", "..", " ", "\u200b", "\u00ad", '"', "\u0301"])
            + email[position:]
        )
    return email


def signing_key(key_id: int) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(hashlib.sha256(f"licensing test vector key {key_id}".encode()).digest())


def issue(license: License, email: str) -> str:
    digest = email_digest(normalize_email(email))
    payload = encode_payload(license, digest)
    return format_key(payload, signing_key(license.key_id).sign(signed_message(payload, digest)).signature)


LOOK_ALIKES = {"0": "Oo", "1": "IiLl"}
SEPARATORS = [
    " ",
    "",
    "-",
    "\u2010",
    "\u2013",
    "\u2014",
    "\u00a0",
    "\n",
    "\u3000",
    "_",
    "\u2212",
    ".",
    "\u2011",
]
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def mangle_key(rng: random.Random, key: str) -> str:
    """A key as a person might type or paste it."""
    choice = rng.randrange(12)
    digits = [ch for ch in key if ch != "-"]
    if choice == 0:
        return key
    if choice == 1:
        return key.lower()
    if choice == 2:  # regrouped with another separator
        separator = rng.choice(SEPARATORS)
        size = rng.choice([4, 5, 8, 143])
        return separator.join("".join(digits[i : i + size]) for i in range(0, len(digits), size))
    if choice == 3:  # one wrong character
        position = rng.randrange(len(digits))
        digits[position] = rng.choice(ALPHABET + "UuIiLlOo*\uff11")
    elif choice == 4:  # two neighbours swapped
        position = rng.randrange(len(digits) - 1)
        digits[position], digits[position + 1] = digits[position + 1], digits[position]
    elif choice == 5:  # one dropped
        del digits[rng.randrange(len(digits))]
    elif choice == 6:  # one doubled
        position = rng.randrange(len(digits))
        digits.insert(position, digits[position])
    elif choice == 7:  # look-alikes
        digits = [
            rng.choice(LOOK_ALIKES[ch]) if ch in LOOK_ALIKES and rng.random() < 0.5 else ch for ch in digits
        ]
    elif choice == 8:  # truncated paste
        digits = digits[: rng.randrange(len(digits))]
    elif choice == 9:  # trailing zeros
        digits += ["0"] * rng.randint(1, 8)
    elif choice == 10:
        return "  " + key + "\r\n"
    else:
        return rng.choice(["", "-", "not a key", key * 2, "0" * 143, "Z" * 143, key[:80]])
    return "".join(digits)


def _license(rng: random.Random, key_id: int) -> License:
    issued = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 400))
    expires = None if rng.random() < 0.5 else issued + dt.timedelta(days=rng.randint(0, 700))
    updates = None if rng.random() < 0.5 else issued + dt.timedelta(days=rng.randint(0, 700))
    return License(
        key_id=key_id,
        product=rng.choice([1, 2, 300, 65535]),
        serial=rng.choice([rng.randint(1, 5000), rng.randint(0, (1 << 48) - 1), 0x0666]),
        issued=issued,
        expires=expires,
        updates_until=updates,
        seats=rng.randint(1, 65535),
        edition=rng.randint(0, 255),
        flags=rng.randint(0, 0xFFFF),
    )


def _time(rng: random.Random) -> str:
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randint(0, 86400 * 800))
    offset = rng.choice([0, 0, 60, -300, 540, 330, -720, 840])
    local = moment.astimezone(dt.timezone(dt.timedelta(minutes=offset)))
    text = local.isoformat(timespec="seconds")
    return text.replace("+00:00", "Z") if rng.random() < 0.5 else text


def _revocation_document(
    rng: random.Random, key_id: int, serials: list[int], sequence: int
) -> dict[str, Any]:
    issue_time = rng.randint(0, 2_000_000_000)
    message = revocation_message(key_id, sequence, issue_time, serials)
    return {
        "format": REVOCATIONS_FORMAT,
        "key_id": key_id,
        "sequence": sequence,
        "issue_time": issue_time,
        "serials": serials,
        "signature": signing_key(key_id).sign(message).signature.hex(),
    }


def write_like_another_tool(rng: random.Random, document: dict[str, Any]) -> str:
    """The JSON as another program might write it: spacing, number notation, BOM, members."""
    text = json.dumps(document, indent=rng.choice([None, 2]), ensure_ascii=rng.random() < 0.5)
    roll = rng.random()
    if roll < 0.1:
        text = text.replace(
            '"sequence": ' + str(document.get("sequence")), '"sequence": ' + f"{document.get('sequence')}.0"
        )
    elif roll < 0.15:
        text = text.replace(
            '"key_id": ' + str(document.get("key_id")), '"key_id": ' + f"{document.get('key_id')}e0"
        )
    elif roll < 0.2:
        text = "\ufeff" + text
    elif roll < 0.25:
        text = text.replace('"signature": "', '"signature": " ')
    elif roll < 0.3:
        text = text[:-1] + ', "x-note": {"a": [1, 2.5, null]}}'
    elif roll < 0.35:
        text = text.replace('"format"', '"format": "licensing-revocations/0", "format"', 1)
    elif roll < 0.4:
        text = text[: rng.randrange(len(text))]
    return text


def cases(count_scale: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(SEED)
    statuses = {1: "retired", 2: "verify-only", 3: "active"}
    keyring_document = {
        "format": "licensing-keyring/1",
        "keys": [
            {"key_id": k, "public_key": bytes(signing_key(k).verify_key).hex(), "status": s}
            for k, s in statuses.items()
        ],
        "products": {"photo-pro": 1, "video-max": 2},
    }
    keyring_text = json.dumps(keyring_document)

    for _ in range(8000 * count_scale):
        yield {"op": "email", "email": random_email(rng)}

    emails: list[str] = []
    while len(emails) < 400:
        candidate = random_email(rng)
        try:
            normalize_email(candidate)
        except InvalidEmail:
            continue
        emails.append(candidate)
    lists = [
        json.dumps(_revocation_document(rng, 3, [0x0666, rng.randint(1, 5000)], 7)),
        json.dumps(_revocation_document(rng, 2, [rng.randint(1, 5000) for _ in range(20)], 3)),
    ]
    for _ in range(8000 * count_scale):
        email = rng.choice(emails)
        key_id = rng.choice([1, 2, 3, 3, 3, 4])
        license = _license(rng, key_id)
        key = mangle_key(rng, issue(license, email))
        typed = rng.choice(
            [
                email,
                email,
                email.upper(),
                unicodedata.normalize("NFD", email),
                " " + email,
                rng.choice(emails),
            ]
        )
        yield {
            "op": "validate",
            "key": key,
            "email": typed,
            "product": rng.choice([license.product, license.product, 1]),
            "now": _time(rng),
            "build_date": None
            if rng.random() < 0.6
            else (dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 900))).isoformat(),
            "keyring": keyring_text,
            "revocations": rng.choice([None, *lists]),
        }
    for _ in range(1500 * count_scale):
        key_id = rng.choice([0, 1, 2, 3, 3, 4])
        serials = [rng.choice([0, rng.randint(0, (1 << 48) - 1)]) for _ in range(rng.randint(0, 6))]
        sequence = rng.choice([0, 7, (1 << 53) - 1, rng.randint(0, 1 << 40)])
        document = _revocation_document(rng, key_id, serials, sequence)
        if rng.random() < 0.2:
            document[rng.choice(["serials", "sequence", "key_id", "issue_time"])] = rng.choice(
                [True, None, "7", -1, 1 << 53, 1 << 64, 2.5, [], {}, 1e300]
            )
        yield {
            "op": "revocations",
            "keyring": keyring_text,
            "revocations": write_like_another_tool(rng, document),
        }
    for _ in range(1000 * count_scale):
        document = json.loads(keyring_text)
        roll = rng.random()
        if roll < 0.2:
            document["keys"][rng.randrange(3)]["key_id"] = rng.choice([0, 256, True, 3.0, "3", 1, None])
        elif roll < 0.35:
            key = document["keys"][rng.randrange(3)]
            key["public_key"] = rng.choice(
                [
                    key["public_key"].upper(),
                    key["public_key"][:-1],
                    "0x" + key["public_key"][2:],
                    key["public_key"][:62] + "zz",
                ]
            )
        elif roll < 0.5:
            document["keys"][rng.randrange(3)]["status"] = rng.choice(
                ["Active", "revoked", None, "retired", 1]
            )
        elif roll < 0.6:
            document["products"] = rng.choice([[], {"a": 0}, {"a": 65536}, {"a": 1.0}, {"é": 7}, None])
        elif roll < 0.7:
            document.pop(rng.choice(["format", "keys", "products"]))
        yield {"op": "keyring", "keyring": write_like_another_tool(rng, document)}
    verdicts = json.loads((VECTORS / "ed25519-verdicts.json").read_text(encoding="utf-8"))["cases"]
    for case in verdicts:
        yield {"op": "verify", **{k: case[k] for k in ("public_key", "signature", "message")}}
    for _ in range(1500 * count_scale):
        license = _license(rng, 3)
        yield {"op": "decode", "key": mangle_key(rng, issue(license, "alice@example.com"))}


def main() -> int:
    for case in cases():
        sys.stdout.write(json.dumps(case) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
