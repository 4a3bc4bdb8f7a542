"""2Checkout end to end: key generator, IPN and LCN posted to a running bridge and server.

The bodies follow 2Checkout's documented field lists (a subset, in documented order), with
array fields sent as `NAME[]`, empty elements, and a card-number-shaped field that must be
neither read nor passed on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from urllib.parse import urlencode

from licensing._proto.licensing.v1 import license_pb2

from .stack import SECRETS, Bridge, assert_no_secrets_in, email_for, unique

SECRET = SECRETS["TEST_2CO_SECRET"].encode()
_ALGO_FIELDS = {"sha256": "SIGNATURE_SHA2_256", "sha3-256": "SIGNATURE_SHA3_256", "md5": "HASH"}
_DIGESTS = {"sha256": hashlib.sha256, "sha3-256": hashlib.sha3_256, "md5": hashlib.md5}


def source(values: list[str]) -> bytes:
    return b"".join(str(len(value.encode())).encode() + value.encode() for value in values)


def signed(pairs: list[tuple[str, str]], algo: str = "sha256", secret: bytes = SECRET) -> bytes:
    """The form body with the signature 2Checkout computes: every value, in order."""
    digest = hmac.new(secret, source([value for _, value in pairs]), _DIGESTS[algo]).hexdigest()
    return urlencode([*pairs, (_ALGO_FIELDS[algo], digest)]).encode()


def keygen_pairs(
    refno: str, email: str, code: str, quantity: int, test: bool = False
) -> list[tuple[str, str]]:
    return [
        ("REFNO", refno),
        ("REFNOEXT", ""),
        ("FIRSTNAME", "Ada"),
        ("LASTNAME", "Lovelace"),
        ("COMPANY", ""),
        ("EMAIL", email),
        ("COUNTRY", "United Kingdom"),
        ("PCODE", code),
        ("PNAME", "Product"),
        ("QUANTITY", str(quantity)),
        ("TESTORDER", "YES" if test else "NO"),
    ]


Line = tuple[str, str, str, int]  # IPN_PID, IPN_PNAME, IPN_PCODE, IPN_QTY


def ipn_pairs(refno: str, email: str, status: str, lines: list[Line], **extra: str) -> list[tuple[str, str]]:
    pairs = [
        ("SALEDATE", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")),
        ("REFNO", refno),
        ("REFNOEXT", ""),
        ("ORDERNO", "42"),
        ("ORDERSTATUS", status),
        ("PAYMETHOD", "Visa/MasterCard"),
        ("FIRSTNAME", "Ada"),
        ("LASTNAME", "Lovelace"),
        ("CUSTOMEREMAIL", email),
        ("CARD_NUMBER", "4111111111111111"),  # never sent by 2Checkout; must be ignored if it were
    ]
    pairs += [("IPN_PID[]", pid) for pid, _, _, _ in lines]
    pairs += [("IPN_PNAME[]", name) for _, name, _, _ in lines]
    pairs += [("IPN_PCODE[]", code) for _, _, code, _ in lines]
    pairs += [("IPN_INFO[]", "") for _ in lines]
    pairs += [("IPN_QTY[]", str(quantity)) for _, _, _, quantity in lines]
    pairs += [("IPN_DATE", "20240301100005"), ("TEST_ORDER", extra.pop("TEST_ORDER", "0"))]
    return pairs + list(extra.items())


def test_keygen_answers_one_key_whose_seats_are_the_quantity_and_the_client_accepts_it(
    bridge: Bridge,
) -> None:
    refno, email = unique("7"), email_for("keygen")
    answer = bridge.post("/2checkout/keygen", signed(keygen_pairs(refno, email, "PHOTO-1Y", 3)))
    assert answer.status == 200, answer.text
    keys = re.findall(r"<code>([^<]+)</code>", answer.text)
    assert len(keys) == 1 and answer.text.startswith("<?xml")
    assert bridge.check_key(keys[0], email.upper(), "photo-pro").returncode == 0
    stored = bridge.license(f"2co:{refno}", "photo-pro")
    assert stored is not None and stored.terms.seats == 3 and not stored.test_order
    assert stored.HasField("terms") and stored.terms.HasField("expire_time")

    again = bridge.post("/2checkout/keygen", signed(keygen_pairs(refno, email, "PHOTO-1Y", 3)))
    assert again.status == 200 and again.text == answer.text
    assert len(bridge.licenses_of_order(f"2co:{refno}")) == 1
    assert_no_secrets_in(bridge.log_text(), email, keys[0])


def test_keygen_with_key_per_unit_answers_one_key_per_unit_idempotently(bridge: Bridge) -> None:
    refno, email = unique("8"), email_for("units")
    body = signed(keygen_pairs(refno, email, "VIDEO-UNIT", 2), "sha3-256")
    answer = bridge.post("/2checkout/keygen", body)
    assert answer.status == 200, answer.text
    keys = re.findall(r"<code>([^<]+)</code>", answer.text)
    assert len(set(keys)) == 2
    assert all(bridge.check_key(key, email, "video-max").returncode == 0 for key in keys)
    assert bridge.post("/2checkout/keygen", body).text == answer.text
    assert [bridge.license(f"2co:{refno}:{n}", "video-max") is not None for n in (1, 2, 3)] == [
        True,
        True,
        False,
    ]


def test_keygen_refuses_unsigned_calls_bad_signatures_and_unmapped_products(bridge: Bridge) -> None:
    refno, email = unique("9"), email_for("refused")
    unsigned = bridge.post("/2checkout/keygen", urlencode(keygen_pairs(refno, email, "PHOTO-1Y", 1)).encode())
    assert unsigned.status == 401
    forged = bridge.post(
        "/2checkout/keygen", signed(keygen_pairs(refno, email, "PHOTO-1Y", 1), secret=b"guess")
    )
    assert forged.status == 403
    unmapped = bridge.post("/2checkout/keygen", signed(keygen_pairs(refno, email, "OTHER", 1)))
    assert unmapped.status == 400
    assert bridge.license(f"2co:{refno}", "photo-pro") is None
    log = bridge.log_text()
    assert "endpoint=keygen refused" in log
    assert_no_secrets_in(log, email)


def test_ipn_complete_issues_the_same_key_as_the_key_generator_and_answers_the_read_receipt(
    bridge: Bridge,
) -> None:
    refno, email = unique("6"), email_for("ipn")
    keygen = bridge.post("/2checkout/keygen", signed(keygen_pairs(refno, email, "PHOTO-1Y", 1)))
    key = re.findall(r"<code>([^<]+)</code>", keygen.text)[0]
    lines: list[Line] = [("1", "Photo Pro", "PHOTO-1Y", 1), ("7", "Unrelated T-shirt", "SHIRT", 2)]
    pairs = ipn_pairs(refno, email, "COMPLETE", lines)
    answer = bridge.post("/2checkout/ipn", signed(pairs, "sha3-256"))
    assert answer.status == 200, answer.text
    match = re.fullmatch(r'<sig algo="sha3-256" date="(\d{14})">([0-9a-f]{64})</sig>', answer.text)
    assert match is not None, answer.text
    expected = hmac.new(
        SECRET, source(["1", "Photo Pro", "20240301100005", match[1]]), hashlib.sha3_256
    ).hexdigest()
    assert match[2] == expected
    stored = bridge.license(f"2co:{refno}", "photo-pro")
    assert stored is not None and stored.license_key == key
    assert bridge.post("/2checkout/ipn", signed(pairs, "sha3-256")).status == 200
    assert len(bridge.licenses_of_order(f"2co:{refno}")) == 1
    assert "4111111111111111" not in bridge.log_text() + bridge.server_log.read_text()


def test_ipn_alone_issues_marks_test_orders_and_answers_sha256_receipts(bridge: Bridge) -> None:
    refno, email = unique("5"), email_for("testorder")
    pairs = ipn_pairs(refno, email, "COMPLETE", [("1", "Photo Pro", "PHOTO-1Y", 2)], TEST_ORDER="1")
    answer = bridge.post("/2checkout/ipn", signed(pairs, "sha256"))
    assert re.fullmatch(r'<sig algo="sha256" date="\d{14}">[0-9a-f]{64}</sig>', answer.text), answer.text
    stored = bridge.license(f"2co:{refno}", "photo-pro")
    assert stored is not None and stored.test_order and stored.terms.seats == 2
    assert bridge.check_key(stored.license_key, email, "photo-pro").returncode == 0


def test_ipn_with_a_bad_signature_or_only_md5_is_refused_and_writes_nothing(bridge: Bridge) -> None:
    refno, email = unique("4"), email_for("forged")
    pairs = ipn_pairs(refno, email, "COMPLETE", [("1", "Photo Pro", "PHOTO-1Y", 1)])
    body = signed(pairs, "sha256").replace(b"CUSTOMEREMAIL=", b"CUSTOMEREMAIL=x")
    assert bridge.post("/2checkout/ipn", body).status == 403
    assert bridge.post("/2checkout/ipn", signed(pairs, "md5")).status == 401  # MD5 is not enabled
    assert bridge.post("/2checkout/ipn", urlencode(pairs).encode()).status == 401
    assert bridge.license(f"2co:{refno}", "photo-pro") is None
    assert bridge.licenses_of_order(f"2co:{refno}") == []


def test_ipn_refund_and_open_chargeback_revoke_with_their_reasons(bridge: Bridge) -> None:
    lines: list[Line] = [("1", "Photo Pro", "PHOTO-1Y", 1), ("2", "Video Max", "VIDEO-UNIT", 2)]
    cases = [
        ("REFUND", {}, license_pb2.REVOCATION_REASON_REFUND),
        ("COMPLETE", {"CHARGEBACK_RESOLUTION": "OPEN"}, license_pb2.REVOCATION_REASON_CHARGEBACK),
        ("CANCELED", {}, license_pb2.REVOCATION_REASON_CANCELED),
    ]
    for status, extra, reason in cases:
        refno, email = unique("3"), email_for("refund")
        complete = ipn_pairs(refno, email, "COMPLETE", lines)
        assert bridge.post("/2checkout/ipn", signed(complete)).status == 200
        revoking = ipn_pairs(refno, email, status, lines, **extra)
        answer = bridge.post("/2checkout/ipn", signed(revoking))
        assert answer.status == 200 and answer.text.startswith("<sig"), answer.text
        licenses = (
            bridge.licenses_of_order(f"2co:{refno}")
            + bridge.licenses_of_order(f"2co:{refno}:1")
            + bridge.licenses_of_order(f"2co:{refno}:2")
        )
        assert len(licenses) == 3
        assert all(
            lic.status == license_pb2.LICENSE_STATUS_REVOKED and lic.revocation_reason == reason
            for lic in licenses
        )


def test_lcn_disabled_revokes_and_answers_the_read_receipt(bridge: Bridge) -> None:
    refno, email = unique("2"), email_for("lcn")
    assert bridge.post("/2checkout/keygen", signed(keygen_pairs(refno, email, "PHOTO-1Y", 1))).status == 200
    lcn = [
        ("LICENSE_CODE", "3C343D0FAF"),
        ("EMAIL", email),
        ("EXPIRATION_DATE", "2025-03-03 00:00:00"),
        ("STATUS", "DISABLED"),
        ("REFNO", refno),
        ("TEST", "0"),
    ]
    assert bridge.post("/2checkout/lcn", signed(lcn, secret=b"nope")).status == 403
    stored = bridge.license(f"2co:{refno}", "photo-pro")
    assert stored is not None and stored.status == license_pb2.LICENSE_STATUS_VALID
    answer = bridge.post("/2checkout/lcn", signed(lcn))
    match = re.fullmatch(r'<sig algo="sha256" date="(\d{14})">([0-9a-f]{64})</sig>', answer.text)
    assert match is not None, answer.text
    expected = hmac.new(
        SECRET, source(["3C343D0FAF", "2025-03-03 00:00:00", match[1]]), hashlib.sha256
    ).hexdigest()
    assert match[2] == expected
    stored = bridge.license(f"2co:{refno}", "photo-pro")
    assert stored is not None and stored.revocation_reason == license_pb2.REVOCATION_REASON_CANCELED


def test_an_ipn_dated_earlier_than_the_key_generator_call_still_answers_with_the_first_key(
    bridge: Bridge,
) -> None:
    """The key generator has no sale date (expiry counted from today); the IPN's SALEDATE is
    yesterday, so its expiry differs by a day: the server refuses the new terms and the bridge
    answers with the stored license, whose seats agree."""
    refno, email = unique("1"), email_for("dates")
    key = re.findall(
        r"<code>([^<]+)</code>",
        bridge.post("/2checkout/keygen", signed(keygen_pairs(refno, email, "PHOTO-1Y", 1))).text,
    )[0]
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    pairs = [
        (name, yesterday if name == "SALEDATE" else value)
        for name, value in ipn_pairs(refno, email, "COMPLETE", [("1", "Photo Pro", "PHOTO-1Y", 1)])
    ]
    assert bridge.post("/2checkout/ipn", signed(pairs)).status == 200
    stored = bridge.license(f"2co:{refno}", "photo-pro")
    assert stored is not None and stored.license_key == key
    # Other seats are a real conflict: refused with 409, nothing changed.
    more = [(name, "3" if name == "IPN_QTY[]" else value) for name, value in pairs]
    answer = bridge.post("/2checkout/ipn", signed(more))
    assert answer.status == 409 and "ORDER_TERMS_MISMATCH" in answer.text
