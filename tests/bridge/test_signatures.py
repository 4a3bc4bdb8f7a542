"""The signature code of each provider against the providers' own documented vectors.

Where each vector comes from:
- 2Checkout IPN read receipt: the IPN documentation's worked example (secret AABBCCDDEEFF,
  IPN_PID[0]=1, IPN_PNAME[0]="Software program", IPN_DATE=DATE=20050303123434).
- 2Checkout LCN read receipt: the LCN documentation's worked example (LICENSE_CODE
  3C343D0FAF, EXPIRATION_DATE 2005-03-03, DATE 20081117145935).
- Paddle Billing: the signature test of Paddle's own SDKs (`ts=1696195954;h1=dummy;h1=…`,
  body "hello-world", the `pdl_ntf_…` secret).
The other cases are built here from the documented algorithms, with one byte changed, a wrong
secret, a weak algorithm not enabled, a stale timestamp.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from licensing.bridge import fastspring, paddle, twocheckout
from licensing.bridge.common import SignatureInvalid, SignatureMissing, parse_form

DOC_SECRET = b"AABBCCDDEEFF"
IPN_SOURCE = b"1116Software program14200503031234341420050303123434"
IPN_MD5 = "7bf97ed39681027d0c45aa45e3ea98f0"
LCN_SOURCE = b"103C343D0FAF102005-03-031420081117145935"
LCN_MD5 = "cb34fe2991668eb82364edf62f845a34"
PADDLE_SECRET = b"pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh"
PADDLE_HEADER = "ts=1696195954;h1=dummy;h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02"


def fields_of(pairs: list[tuple[str, str]]) -> twocheckout.Fields:
    return twocheckout.group_fields(parse_form(urlencode(pairs).encode()))


# -- 2Checkout ---------------------------------------------------------------------------------


def test_ipn_receipt_source_and_md5_match_the_documentation_example() -> None:
    values = [b"1", b"Software program", b"20050303123434", b"20050303123434"]
    assert twocheckout.hash_source(values) == IPN_SOURCE
    assert twocheckout.sign("md5", DOC_SECRET, values) == IPN_MD5


def test_ipn_read_receipt_is_the_documented_epayment_line() -> None:
    fields = fields_of(
        [("IPN_PID[]", "1"), ("IPN_PNAME[]", "Software program"), ("IPN_DATE", "20050303123434")]
    )
    receipt = twocheckout.ipn_receipt(fields, twocheckout.Verified("md5", DOC_SECRET), "20050303123434")
    assert receipt == f"<EPAYMENT>20050303123434|{IPN_MD5}</EPAYMENT>"


@pytest.mark.parametrize(("algo", "digest"), [("sha256", hashlib.sha256), ("sha3-256", hashlib.sha3_256)])
def test_ipn_read_receipt_with_sha2_and_sha3_is_the_sig_element(algo: str, digest: Callable[[], Any]) -> None:
    fields = fields_of(
        [("IPN_PID[]", "1"), ("IPN_PNAME[]", "Software program"), ("IPN_DATE", "20050303123434")]
    )
    receipt = twocheckout.ipn_receipt(fields, twocheckout.Verified(algo, DOC_SECRET), "20050303123434")
    expected = hmac.new(DOC_SECRET, IPN_SOURCE, digest).hexdigest()
    assert receipt == f'<sig algo="{algo}" date="20050303123434">{expected}</sig>'


def test_lcn_receipt_source_and_md5_match_the_documentation_example() -> None:
    fields = fields_of(
        [("LICENSE_CODE", "3C343D0FAF"), ("EXPIRATION_DATE", "2005-03-03"), ("STATUS", "ACTIVE")]
    )
    values = [b"3C343D0FAF", b"2005-03-03", b"20081117145935"]
    assert twocheckout.hash_source(values) == LCN_SOURCE
    assert twocheckout.sign("md5", DOC_SECRET, values) == LCN_MD5
    receipt = twocheckout.lcn_receipt(fields, twocheckout.Verified("md5", DOC_SECRET), "20081117145935")
    assert receipt == f"<EPAYMENT>20081117145935|{LCN_MD5}</EPAYMENT>"


def test_empty_values_count_as_zero_and_lengths_are_bytes() -> None:
    assert twocheckout.hash_source([b"", "Zürich".encode()]) == "07Zürich".encode()


IPN_PAIRS = [
    ("SALEDATE", "2024-03-01 10:00:00"),
    ("REFNO", "9876543"),
    ("ORDERSTATUS", "COMPLETE"),
    ("CUSTOMEREMAIL", "buyer@example.com"),
    ("IPN_PID[]", "1"),
    ("IPN_PID[]", "2"),
    ("IPN_PNAME[]", "Photo Pro"),
    ("IPN_PNAME[]", "Video Max"),
    ("IPN_INFO[]", ""),
    ("IPN_INFO[]", ""),
    ("IPN_DATE", "20240301100005"),
]


def signed_ipn(
    pairs: list[tuple[str, str]], field: str, algo: str, secret: bytes = DOC_SECRET
) -> twocheckout.Fields:
    values = [value.encode() for _, value in pairs]
    return fields_of([*pairs, (field, twocheckout.sign(algo, secret, values))])


@pytest.mark.parametrize(
    ("field", "algo"), [("SIGNATURE_SHA2_256", "sha256"), ("SIGNATURE_SHA3_256", "sha3-256")]
)
def test_ipn_signature_over_every_value_with_array_elements_and_empty_ones(field: str, algo: str) -> None:
    fields = signed_ipn(IPN_PAIRS, field, algo)
    assert twocheckout.verify(fields, [DOC_SECRET], allow_md5=False) == twocheckout.Verified(algo, DOC_SECRET)


def test_ipn_signature_by_a_rotated_out_secret_still_verifies_with_that_secret() -> None:
    fields = signed_ipn(IPN_PAIRS, "SIGNATURE_SHA2_256", "sha256", b"old")
    assert twocheckout.verify(fields, [b"new", b"old"], allow_md5=False).secret == b"old"


def test_ipn_with_one_changed_byte_is_refused() -> None:
    fields = signed_ipn(IPN_PAIRS, "SIGNATURE_SHA2_256", "sha256")
    fields.values("REFNO")[0] = b"9876544"
    with pytest.raises(SignatureInvalid):
        twocheckout.verify(fields, [DOC_SECRET], allow_md5=False)


def test_ipn_with_a_dropped_empty_array_element_is_refused() -> None:
    fields = signed_ipn(IPN_PAIRS, "SIGNATURE_SHA2_256", "sha256")
    fields.values("IPN_INFO").pop()
    with pytest.raises(SignatureInvalid):
        twocheckout.verify(fields, [DOC_SECRET], allow_md5=False)


def test_ipn_signed_with_a_wrong_secret_is_refused() -> None:
    with pytest.raises(SignatureInvalid):
        twocheckout.verify(
            signed_ipn(IPN_PAIRS, "SIGNATURE_SHA3_256", "sha3-256", b"wrong"), [DOC_SECRET], allow_md5=False
        )


def test_md5_hash_is_refused_unless_enabled() -> None:
    fields = signed_ipn(IPN_PAIRS, "HASH", "md5")
    with pytest.raises(SignatureMissing):
        twocheckout.verify(fields, [DOC_SECRET], allow_md5=False)
    assert twocheckout.verify(fields, [DOC_SECRET], allow_md5=True).algo == "md5"


def test_a_valid_md5_beside_a_forged_sha256_does_not_pass() -> None:
    values = [value.encode() for _, value in IPN_PAIRS]
    fields = fields_of(
        [*IPN_PAIRS, ("HASH", twocheckout.sign("md5", DOC_SECRET, values)), ("SIGNATURE_SHA2_256", "00" * 32)]
    )
    with pytest.raises(SignatureInvalid):
        twocheckout.verify(fields, [DOC_SECRET], allow_md5=True)


def test_unsigned_ipn_is_refused() -> None:
    with pytest.raises(SignatureMissing):
        twocheckout.verify(fields_of(IPN_PAIRS), [DOC_SECRET], allow_md5=True)


def test_fields_group_as_php_does_arrays_where_their_first_element_arrived() -> None:
    fields = fields_of([("A[]", "1"), ("B", "x"), ("A[]", "2"), ("C[]", "")])
    assert [(name, values) for name, values in fields.groups] == [
        ("A", [b"1", b"2"]),
        ("B", [b"x"]),
        ("C", [b""]),
    ]


# -- FastSpring ---------------------------------------------------------------------------------


def test_fastspring_license_hash_is_md5_of_values_sorted_by_name_then_the_private_key() -> None:
    pairs = parse_form(b"reference=ABC-1&email=a%40b.c&quantity=2&product=photo&test=true")
    expected = hashlib.md5(b"a@b.cphoto2ABC-1true" + b"private").hexdigest()
    assert fastspring.license_request_hash(pairs, b"private") == expected
    fastspring.verify_license_request([*pairs, ("security_request_hash", expected.encode())], [b"private"])


def test_fastspring_license_hash_refuses_a_changed_value_a_wrong_key_and_no_hash() -> None:
    pairs = parse_form(b"reference=ABC-1&email=a%40b.c&quantity=2&product=photo")
    good = fastspring.license_request_hash(pairs, b"private").encode()
    tampered = [(name, b"3" if name == "quantity" else value) for name, value in pairs]
    with pytest.raises(SignatureInvalid):
        fastspring.verify_license_request([*tampered, ("security_request_hash", good)], [b"private"])
    with pytest.raises(SignatureInvalid):
        fastspring.verify_license_request([*pairs, ("security_request_hash", good)], [b"other"])
    with pytest.raises(SignatureMissing):
        fastspring.verify_license_request(pairs, [b"private"])


def test_fastspring_webhook_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"events":[]}'
    header = base64.b64encode(hmac.new(b"hook", body, hashlib.sha256).digest()).decode()
    assert fastspring.webhook_signature(body, b"hook") == header
    fastspring.verify_webhook(body, header, [b"hook"])
    with pytest.raises(SignatureInvalid):
        fastspring.verify_webhook(body + b" ", header, [b"hook"])
    with pytest.raises(SignatureInvalid):
        fastspring.verify_webhook(body, "not base64!", [b"hook"])
    with pytest.raises(SignatureMissing):
        fastspring.verify_webhook(body, None, [b"hook"])


# -- Paddle ------------------------------------------------------------------------------------


def test_paddle_sdk_vector_verifies_with_the_time_check_set_aside() -> None:
    paddle.verify_billing(b"hello-world", PADDLE_HEADER, [PADDLE_SECRET], now=None, tolerance=5)


def test_paddle_vector_passes_within_tolerance_and_fails_outside_it() -> None:
    paddle.verify_billing(b"hello-world", PADDLE_HEADER, [PADDLE_SECRET], now=1696195954 + 4, tolerance=5)
    with pytest.raises(SignatureInvalid):
        paddle.verify_billing(b"hello-world", PADDLE_HEADER, [PADDLE_SECRET], now=1696195954 + 6, tolerance=5)
    with pytest.raises(SignatureInvalid):
        paddle.verify_billing(b"hello-world", PADDLE_HEADER, [PADDLE_SECRET], now=1696195954 - 6, tolerance=5)


def test_paddle_refuses_a_changed_body_a_wrong_secret_and_a_header_without_h1() -> None:
    with pytest.raises(SignatureInvalid):
        paddle.verify_billing(b"hello-world!", PADDLE_HEADER, [PADDLE_SECRET], now=None, tolerance=5)
    with pytest.raises(SignatureInvalid):
        paddle.verify_billing(b"hello-world", PADDLE_HEADER, [PADDLE_SECRET + b"x"], now=None, tolerance=5)
    with pytest.raises(SignatureInvalid):
        paddle.verify_billing(b"hello-world", "ts=1696195954", [PADDLE_SECRET], now=None, tolerance=5)
    with pytest.raises(SignatureMissing):
        paddle.verify_billing(b"hello-world", None, [PADDLE_SECRET], now=None, tolerance=5)


def test_paddle_accepts_any_h1_and_any_configured_secret_during_rotation() -> None:
    body = b'{"event_type":"x"}'
    old = paddle.billing_signature(b"old-secret", "1700000000", body)
    new = paddle.billing_signature(b"new-secret", "1700000000", body)
    header = f"ts=1700000000;h1={old};h1={new}"
    paddle.verify_billing(body, header, [b"new-secret"], now=1700000000, tolerance=5)
    paddle.verify_billing(body, header, [b"old-secret"], now=1700000000, tolerance=5)
    paddle.verify_billing(
        body, f"ts=1700000000;h1={old}", [b"new-secret", b"old-secret"], now=1700000000, tolerance=5
    )


def test_php_serialize_matches_php_for_strings_counting_bytes() -> None:
    assert paddle.php_serialize({"a": "1", "b": ""}) == b'a:2:{s:1:"a";s:1:"1";s:1:"b";s:0:"";}'
    assert paddle.php_serialize({"k": "é"}) == 'a:1:{s:1:"k";s:2:"é";}'.encode()


def test_paddle_classic_signature_verifies_and_refuses_changes() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fields = {"p_order_id": "101", "email": "a@b.c", "p_product_id": "12345", "p_quantity": "1"}
    message = paddle.php_serialize(dict(sorted(fields.items())))
    signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA1())).decode()
    pairs = [(name, value.encode()) for name, value in fields.items()]
    paddle.verify_classic([*pairs, ("p_signature", signature.encode())], key.public_key())
    changed = [(name, b"2" if name == "p_quantity" else value) for name, value in pairs]
    with pytest.raises(SignatureInvalid):
        paddle.verify_classic([*changed, ("p_signature", signature.encode())], key.public_key())
    with pytest.raises(SignatureMissing):
        paddle.verify_classic(pairs, key.public_key())


def test_answer_formats_are_pinned() -> None:
    assert twocheckout.keygen_response(["AB-1", "C<D"]) == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Data><code>AB-1</code><code>C&lt;D</code></Data>\n'
    )
    assert fastspring.license_response(["K1", "K2"]) == "K1\nK2\n"
    assert twocheckout.receipt_date(dt.datetime(2005, 3, 3, 12, 34, 34, tzinfo=dt.UTC)) == "20050303123434"
