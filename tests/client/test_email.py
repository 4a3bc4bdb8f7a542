"""Email normalisation and digest: the cases behind the rules in docs/key-format.md."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from licensing_client import InvalidEmail, normalize_email
from licensing_client.email import EMAIL_DIGEST_CONTEXT, email_digest


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Alice@Example.COM", "alice@example.com"),
        ("\t alice@example.com \n", "alice@example.com"),
        ("\u2003alice@example.com\u205f", "alice@example.com"),
        ("first.last+tag@example.com", "first.last+tag@example.com"),
        ("A.B.C@GMAIL.COM", "a.b.c@gmail.com"),
        ("Ju\u0308rgen@example.de", "j\u00fcrgen@example.de"),
        ("user@M\u00dcNCHEN.de", "user@xn--mnchen-3ya.de"),
        ("user@xn--mnchen-3ya.de", "user@xn--mnchen-3ya.de"),
        ("\u5c71\u7530@\u4f8b\u3048.jp", "\u5c71\u7530@xn--r8jz45g.jp"),
        ("user@\u4f8b\u3048\uff0ejp", "user@xn--r8jz45g.jp"),
        ("\u212a@example.com", "k@example.com"),  # Kelvin sign lower-cases to ASCII k
    ],
)
def test_normalisation(raw: str, normalized: str) -> None:
    assert normalize_email(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "plainaddress",
        "a@b",
        "a@b.",
        "a@.b.com",
        "a@b..com",
        "a@b-.com",
        "a@b_c.com",
        "a(b)@example.com",
        "a,b@example.com",
        "a;b@example.com",
        "a<b>@example.com",
        "a[b]@example.com",
        "a\\b@example.com",
        "a:b@example.com",
        "a\u00a0b@example.com",
        "a\ue000@example.com",
        "a\u2028b@example.com",
        "user@\u00e9\u00e9\u00e9..com",
        "x" * 2000 + "@example.com",
        "a@" + "b" * 64 + ".com",
    ],
)
def test_invalid(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        normalize_email(raw)


def test_non_text_is_invalid() -> None:
    with pytest.raises(InvalidEmail):
        normalize_email(b"alice@example.com")  # type: ignore[arg-type]


def test_messages_never_repeat_the_address() -> None:
    for raw in ["secret.person@localhost", "secret person@example.com", "secret@" + "x" * 64 + ".com"]:
        with pytest.raises(InvalidEmail) as caught:
            normalize_email(raw)
        assert "secret" not in str(caught.value)


def test_digest_is_sha256_of_context_and_address() -> None:
    """The built-in SHA-256 the module uses instead of hashlib gives hashlib's bytes."""
    for address in ["alice@example.com", "j\u00fcrgen@xn--bcher-kva.example", ""]:
        expected = hashlib.sha256(b"licensing.v1/email\x00" + address.encode("utf-8")).digest()
        assert email_digest(address) == expected
    assert EMAIL_DIGEST_CONTEXT == b"licensing.v1/email\x00"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="ascii"), max_size=80))
def test_ascii_fast_path_agrees_with_the_full_rules(raw: str) -> None:
    """The regular expression for ASCII addresses is only a shortcut: the full rules agree."""
    import licensing_client.email as module

    try:
        fast: str | None = normalize_email(raw)
    except InvalidEmail:
        fast = None
    original = module._ascii_address
    module._ascii_address = lambda text: None  # type: ignore[assignment]
    try:
        try:
            full: str | None = normalize_email(raw)
        except InvalidEmail:
            full = None
    finally:
        module._ascii_address = original
    assert fast == full


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[a-z0-9._%+-]{1,20}@[a-z0-9]{1,10}\.[a-z]{2,6}", fullmatch=True))
def test_normal_addresses_are_fixed_points(address: str) -> None:
    assert normalize_email(address) == address
    assert normalize_email(address.upper()) == address
