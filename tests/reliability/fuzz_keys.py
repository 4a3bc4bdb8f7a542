"""Fuzz the license key reader in-process: `parse_key`, `decode_payload` and `validate`.

Inputs are genuine keys mutated the way people and mail clients mangle them (a character changed,
dropped, doubled or swapped; groups lost or repeated; look-alike letters, Unicode dashes and
spaces, zero-width and right-to-left marks, NUL and control characters, lone surrogates, case
changes, truncation, a long tail) and strings made from nothing (random code points, random bytes
read with surrogateescape, over-long text). For each input:

- the reader and the validator raise only LicenseError, with a Reason (anything else is a crash);
- a key that parses reads back to the same 89 bytes when formatted again;
- a key that validates is byte for byte a genuine key issued to that email (no forgery passes);
- no single input takes longer than MAX_SECONDS_PER_INPUT.

Run it: `python tests/reliability/fuzz_keys.py --inputs 100000 [--seed N]` (`make fuzz`); the CI
test runs fewer (LICENSING_FUZZ_INPUTS, default 5000). Prints one summary line; exits 1 on a crash.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import os
import random
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import nacl.signing
from licensing_client import License, LicenseError, PublicKey, PublicKeyring, Reason, validate
from licensing_client.email import email_digest, normalize_email
from licensing_client.keyformat import (
    ALPHABET,
    decode_payload,
    encode_payload,
    format_key,
    parse_key,
    read_key_bytes,
    signed_message,
)

__all__ = ["FuzzReport", "fuzz", "main"]

MAX_SECONDS_PER_INPUT = 0.5  # generous: the machine may be busy; a pathological input takes far longer
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
EMAILS = ["alice@example.com", "Bob.Builder@Example.ORG", "ünï@bücher.example"]
SEPARATORS = [
    "-",
    " ",
    "",
    "\u2010",
    "\u2013",
    "\u2014",
    "\u2212",
    "\u00a0",
    "\u3000",
    "\t",
    "\n",
    "--",
    "_",
    ".",
]
LOOK_ALIKES = {"0": "Oo", "1": "IiLl|", "5": "S", "8": "B", "U": "V", "A": "4"}
NOISE = (
    "\x00\x01\x07\x08\x1b\x7f\x85\u200b\u200c\u200d\u200e\u200f\u202a\u202e\u2066\u2069\ufeff\u00ad"
    "\ud800\udbff\udc00\udfff"  # lone surrogates: fine in a str, impossible on the wire
    "ÄäΩЖ中🙂٣３𝟎"
)


@dataclass(frozen=True)
class Genuine:
    text: str
    raw: bytes
    email: str
    product: int


def _signer(key_id: int) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(hashlib.sha256(f"licensing fuzz key {key_id}".encode()).digest())


def genuine_keys() -> tuple[PublicKeyring, list[Genuine]]:
    """A keyring (key 1 active, 2 verify-only, 3 retired) and keys issued with it, to mutate."""
    keyring = PublicKeyring.of(
        [
            PublicKey(i, _signer(i).verify_key.encode(), status)
            for i, status in ((1, "active"), (2, "verify-only"), (3, "retired"))
        ]
    )
    made: list[Genuine] = []
    for index, (key_id, email, product) in enumerate(
        [(1, EMAILS[0], 1), (2, EMAILS[1], 2), (1, EMAILS[2], 65535), (3, EMAILS[0], 1), (1, EMAILS[1], 7)]
    ):
        terms = License(
            key_id=key_id,
            product=product,
            serial=(index * 0x9E3779B97F4A7C15) % (1 << 48),
            issued=dt.date(2025, 1, 1) + dt.timedelta(days=index * 37),
            expires=None if index % 2 else dt.date(2030, 1, 1),
            updates_until=dt.date(2027, 1, 1) if index == 4 else None,
            seats=1 + index * 1000,
            edition=index,
            flags=0xFFFF if index == 2 else index,
        )
        digest = email_digest(normalize_email(email))
        payload = encode_payload(terms, digest)
        text = format_key(payload, _signer(key_id).sign(signed_message(payload, digest)).signature)
        made.append(Genuine(text, read_key_bytes(text), email, product))
    return keyring, made


def _mutate(rng: random.Random, text: str) -> str:
    operation = rng.randrange(16)
    chars = list(text)
    position = rng.randrange(len(chars)) if chars else 0
    if operation == 0 and chars:  # a typo in the key alphabet
        chars[position] = rng.choice(ALPHABET)
    elif operation == 1 and chars:  # a character dropped
        del chars[position]
    elif operation == 2:  # a character inserted
        chars.insert(position, rng.choice(ALPHABET + "-"))
    elif operation == 3 and len(chars) > 1:  # two neighbours swapped
        other = min(position + 1, len(chars) - 1)
        chars[position], chars[other] = chars[other], chars[position]
    elif operation == 4:  # look-alikes people type
        return "".join(
            rng.choice(LOOK_ALIKES[c]) if c in LOOK_ALIKES and rng.random() < 0.3 else c for c in text
        )
    elif operation == 5:  # separators from mail clients and word processors
        separator = rng.choice(SEPARATORS)
        return separator.join(text.split("-"))
    elif operation == 6:  # case
        return "".join(c.lower() if rng.random() < 0.5 else c for c in text)
    elif operation == 7:  # noise: NUL, controls, marks, surrogates, other scripts
        for _ in range(rng.randint(1, 4)):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(NOISE))
    elif operation == 8:  # truncated paste
        return text[: rng.randrange(len(text) + 1)]
    elif operation == 9:  # a group lost or repeated
        groups = text.split("-")
        index = rng.randrange(len(groups))
        groups.insert(index, groups[index]) if rng.random() < 0.5 else groups.pop(index)
        return "-".join(groups)
    elif operation == 10:  # a long tail, up to past the reader's input limit
        return text + rng.choice(["-", "0", " ", "\u200b", "A"]) * rng.choice([1, 16, 200, 900, 5000])
    elif operation == 11 and chars:  # the version or key-ID characters
        chars[rng.randrange(min(4, len(chars)))] = rng.choice(ALPHABET)
    elif operation == 12:  # surrounding whitespace and quotes from a paste
        return (
            rng.choice(["", " ", "\n", '"', "<", "\t"]) + text + rng.choice(["", " ", "\r\n", '"', ">", "."])
        )
    elif operation == 13:  # two mutations at once
        return _mutate(rng, _mutate(rng, text))
    elif operation == 14 and chars:  # one bit of the base-32 value
        value = ALPHABET.find(chars[position].upper())
        if value >= 0:
            chars[position] = ALPHABET[value ^ (1 << rng.randrange(5))]
    else:  # the key unchanged, as typed once more
        return text
    return "".join(chars)


def _from_nothing(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:  # random code points, surrogates included
        return "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(200)))
    if kind == 1:  # random bytes as a program might decode them
        return bytes(rng.getrandbits(8) for _ in range(rng.randrange(300))).decode("utf-8", "surrogateescape")
    if kind == 2:  # the key alphabet at plausible lengths
        length = rng.choice([0, 1, 142, 143, 144, 159, 160, 161, 176, 400, 1024, 1025, rng.randrange(2000)])
        return "".join(rng.choice(ALPHABET + "-") for _ in range(length))
    if kind == 3:  # shaped like a key: groups of eight
        return "-".join("".join(rng.choice(ALPHABET) for _ in range(8)) for _ in range(rng.randrange(1, 25)))
    return rng.choice(
        ["", " ", "-" * 200, "0" * 143, "Z" * 143, "\x00" * 143, "O" * 143, "\ud800" * 10, "👍" * 300]
    )


def _forged(rng: random.Random, original: Genuine) -> str:
    """A forger's edit: payload or signature bytes changed and the CRC made right again (the CRC
    only tells typos from forgeries; the signature must refuse this)."""
    body = bytearray(original.raw[:87])
    for _ in range(rng.randint(1, 3)):
        body[rng.randrange(1 if rng.random() < 0.5 else 2, 87)] ^= 1 << rng.randrange(8)
    return format_key(bytes(body[:23]), bytes(body[23:]))


def inputs(rng: random.Random, genuine: list[Genuine]) -> Iterator[tuple[str, Genuine | None]]:
    while True:
        draw = rng.random()
        if draw < 0.7:
            original = rng.choice(genuine)
            yield _mutate(rng, original.text), original
        elif draw < 0.85:
            original = rng.choice(genuine)
            yield _forged(rng, original), original
        else:
            yield _from_nothing(rng), None


@dataclass
class FuzzReport:
    inputs: int = 0
    crashes: list[str] = field(default_factory=list)
    forgeries: list[str] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)
    accepted: int = 0
    parsed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    slowest: float = 0.0

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        top = ", ".join(f"{reason}:{count}" for reason, count in self.reasons.most_common())
        return (
            f"fuzzed the key reader with {self.inputs} inputs in {self.seconds:.1f} s ({self.rate:,.0f}/s): "
            f"{len(self.crashes)} crashes, {len(self.forgeries)} forgeries accepted, {len(self.slow)} slow, "
            f"{self.parsed} parsed, {self.accepted} valid (all genuine); slowest {self.slowest * 1e3:.2f} ms; reasons {top}"
        )


def check_one(
    text: str, original: Genuine | None, keyring: PublicKeyring, email: str, report: FuzzReport
) -> None:
    """Run one input through the reader and the validator, and record anything wrong."""
    try:
        raw = read_key_bytes(text)
    except LicenseError as error:
        assert isinstance(error.reason, Reason)
        raw = None
    if raw is not None:
        report.parsed += 1
        parts = parse_key(text)
        if (
            format_key(parts.payload, parts.signature) != format_key(raw[:23], raw[23:87])
            or read_key_bytes(format_key(parts.payload, parts.signature)) != raw
        ):
            raise AssertionError("a parsed key does not read back to the same bytes")
        with contextlib.suppress(LicenseError):
            decode_payload(parts.payload)
    product = original.product if original is not None else 1
    try:
        validate(text, email, product, keyring, NOW)
    except LicenseError as error:
        report.reasons[error.reason.value] += 1
        return
    report.accepted += 1
    genuine = (
        original is not None
        and raw == original.raw
        and normalize_email(email) == normalize_email(original.email)
    )
    if not genuine:
        report.forgeries.append(repr(text))


def fuzz(count: int, seed: int, check: Callable[..., None] = check_one) -> FuzzReport:
    keyring, genuine = genuine_keys()
    rng = random.Random(seed)
    report = FuzzReport()
    started = time.perf_counter()
    for text, original in inputs(rng, genuine):
        if report.inputs >= count:
            break
        email = (
            original.email
            if original is not None and rng.random() < 0.9
            else rng.choice([*EMAILS, "", "not an email", "a@b"])
        )
        report.inputs += 1
        before = time.perf_counter()
        try:
            check(text, original, keyring, email, report)
        except Exception:  # noqa: BLE001 (anything but LicenseError escaping the reader is a crash)
            report.crashes.append(f"{text!r}: {traceback.format_exc(limit=3)}")
        spent = time.perf_counter() - before
        report.slowest = max(report.slowest, spent)
        if spent > MAX_SECONDS_PER_INPUT:
            report.slow.append(f"{spent * 1e3:.1f} ms: {text!r:.200}")
    for thing in (None, b"040G00F7", 12345, ["040G00F7"]):  # not even text: refused, not a crash
        try:
            read_key_bytes(thing)  # type: ignore[arg-type]
        except LicenseError:
            pass
        except Exception:  # noqa: BLE001 (a crash, recorded)
            report.crashes.append(f"{thing!r}: {traceback.format_exc(limit=3)}")
    report.seconds = time.perf_counter() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=int(os.environ.get("LICENSING_FUZZ_INPUTS") or 100_000))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("LICENSING_FUZZ_SEED") or 1))
    args = parser.parse_args(argv)
    report = fuzz(args.inputs, args.seed)
    print(f"seed {args.seed}: {report.summary()}")
    for problem in [*report.crashes, *report.forgeries, *report.slow][:10]:
        print("  " + problem)
    return 1 if report.crashes or report.forgeries or report.slow else 0


if __name__ == "__main__":
    sys.exit(main())
