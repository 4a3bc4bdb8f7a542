"""FastSpring end to end: Remote Server Request license generation and webhooks.

License requests carry FastSpring's documented parameters (reference, email, name, company,
product, quantity, test, …) with `security_request_hash`; webhook posts are
`{"events": [...]}` with FastSpring's event shapes and an `X-FS-Signature` over the raw body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

from licensing._proto.licensing.v1 import license_pb2

from .stack import SECRETS, Bridge, assert_no_secrets_in, email_for, unique

PRIVATE_KEY = SECRETS["TEST_FS_PRIVATE_KEY"].encode()
HOOK_SECRET = SECRETS["TEST_FS_WEBHOOK_SECRET"].encode()


def license_request(reference: str, email: str, product: str, quantity: int, test: bool = False) -> str:
    params = {
        "name": "Ada Lovelace",
        "email": email,
        "company": "",
        "reference": reference,
        "subscription": "",
        "product": product,
        "quantity": str(quantity),
        "test": "true" if test else "false",
    }
    joined = "".join(params[name] for name in sorted(params)).encode()
    params["security_request_hash"] = hashlib.md5(joined + PRIVATE_KEY).hexdigest()
    return urlencode(params)


def hook(events: list[dict[str, Any]], secret: bytes = HOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"events": events}).encode()
    signature = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
    return body, {"Content-Type": "application/json", "X-FS-Signature": signature}


def order_completed(
    event_id: str, reference: str, email: str, items: list[tuple[str, int]], live: bool = True
) -> dict[str, Any]:
    return {
        "id": event_id,
        "live": live,
        "processed": False,
        "type": "order.completed",
        "created": 1700000000000,
        "data": {
            "order": "nvLzD8ZjS8iBbe2MCS6lrg",
            "id": "nvLzD8ZjS8iBbe2MCS6lrg",
            "reference": reference,
            "live": live,
            "currency": "USD",
            "customer": {"first": "Ada", "last": "Lovelace", "email": email, "company": None, "phone": None},
            "payment": {"type": "test", "cardEnding": "4242"},
            "items": [
                {"product": product, "quantity": quantity, "display": product} for product, quantity in items
            ],
        },
    }


def test_license_request_answers_the_key_text_and_a_retry_gets_the_same_key(bridge: Bridge) -> None:
    reference, email = unique("FUR-"), email_for("fs")
    answer = bridge.post("/fastspring/license", license_request(reference, email, "photo-pro-1y", 1).encode())
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain"), answer.text
    keys = answer.text.splitlines()
    assert len(keys) == 1
    assert bridge.check_key(keys[0], email, "photo-pro").returncode == 0
    again = bridge.post("/fastspring/license", license_request(reference, email, "photo-pro-1y", 1).encode())
    assert again.text == answer.text
    by_get = bridge.post(
        "/fastspring/license?" + license_request(reference, email, "photo-pro-1y", 1), b"", method="GET"
    )
    assert by_get.status == 200 and by_get.text == answer.text
    assert len(bridge.licenses_of_order(f"fs:{reference}")) == 1
    assert_no_secrets_in(bridge.log_text(), email, keys[0])


def test_quantity_based_products_answer_one_key_per_line_and_test_orders_are_marked(bridge: Bridge) -> None:
    reference, email = unique("FUR-"), email_for("fsunits")
    answer = bridge.post(
        "/fastspring/license", license_request(reference, email, "video-max-pack", 3, test=True).encode()
    )
    keys = answer.text.splitlines()
    assert answer.status == 200 and len(set(keys)) == 3
    for unit, key in enumerate(keys, start=1):
        stored = bridge.license(f"fs:{reference}:{unit}", "video-max")
        assert stored is not None and stored.license_key == key and stored.test_order


def test_license_request_with_a_bad_hash_is_refused_and_writes_nothing(bridge: Bridge) -> None:
    reference, email = unique("FUR-"), email_for("fsbad")
    body = license_request(reference, email, "photo-pro-1y", 1).replace("quantity=1", "quantity=9")
    assert bridge.post("/fastspring/license", body.encode()).status == 403
    unsigned = urlencode({"reference": reference, "email": email, "product": "photo-pro-1y", "quantity": "1"})
    assert bridge.post("/fastspring/license", unsigned.encode()).status == 401
    assert bridge.license(f"fs:{reference}", "photo-pro") is None


def test_webhook_issues_on_order_completed_and_revokes_on_return_in_the_same_post(bridge: Bridge) -> None:
    reference, email = unique("FUR-"), email_for("fshook")
    completed = order_completed(
        unique("ev-"), reference, email, [("photo-pro-1y", 1), ("t-shirt", 1)], live=False
    )
    body, headers = hook([completed])
    assert bridge.post("/fastspring/webhook", body, headers).status == 200
    stored = bridge.license(f"fs:{reference}", "photo-pro")
    assert stored is not None and stored.test_order
    assert bridge.check_key(stored.license_key, email, "photo-pro").returncode == 0
    # The license request after the webhook (or a webhook retry) finds the same key.
    assert (
        bridge.post(
            "/fastspring/license", license_request(reference, email, "photo-pro-1y", 1, test=True).encode()
        ).text.strip()
        == stored.license_key
    )

    returned = {
        "id": unique("ev-"),
        "type": "return.created",
        "live": False,
        "data": {
            "return": "R1",
            "reference": reference + "R",
            "original": {"id": "x", "order": "x", "reference": reference},
        },
    }
    body, headers = hook([completed, returned])
    assert bridge.post("/fastspring/webhook", body, headers).status == 200
    stored = bridge.license(f"fs:{reference}", "photo-pro")
    assert stored is not None and stored.status == license_pb2.LICENSE_STATUS_REVOKED
    assert stored.revocation_reason == license_pb2.REVOCATION_REASON_REFUND


def test_webhook_chargeback_and_cancellation_revoke_with_their_reasons(bridge: Bridge) -> None:
    for event_type, data_of, reason in (
        (
            "chargeback.created",
            lambda ref: {"order": {"id": "x", "reference": ref}},
            license_pb2.REVOCATION_REASON_CHARGEBACK,
        ),
        ("order.canceled", lambda ref: {"id": "x", "reference": ref}, license_pb2.REVOCATION_REASON_CANCELED),
    ):
        reference, email = unique("FUR-"), email_for("fscb")
        body, headers = hook([order_completed(unique("ev-"), reference, email, [("video-max-pack", 2)])])
        assert bridge.post("/fastspring/webhook", body, headers).status == 200
        body, headers = hook(
            [{"id": unique("ev-"), "type": event_type, "live": True, "data": data_of(reference)}]
        )
        assert bridge.post("/fastspring/webhook", body, headers).status == 200
        for unit in (1, 2):
            stored = bridge.license(f"fs:{reference}:{unit}", "video-max")
            assert stored is not None and stored.revocation_reason == reason


def test_webhook_lists_only_the_processed_events_when_one_fails(bridge: Bridge) -> None:
    good_id, bad_id, other_id = unique("ev-"), unique("ev-"), unique("ev-")
    reference = unique("FUR-")
    good = order_completed(good_id, reference, email_for("fspart"), [("photo-pro-1y", 1)])
    bad = order_completed(bad_id, unique("FUR-"), "", [("photo-pro-1y", 1)])  # no email: cannot be fulfilled
    other = {"id": other_id, "type": "subscription.activated", "live": True, "data": {"id": "sub"}}
    body, headers = hook([good, bad, other])
    answer = bridge.post("/fastspring/webhook", body, headers)
    assert answer.status == 202
    assert answer.text.splitlines() == [good_id, other_id]
    assert bridge.license(f"fs:{reference}", "photo-pro") is not None


def test_webhook_with_a_bad_signature_is_refused_and_writes_nothing(bridge: Bridge) -> None:
    reference = unique("FUR-")
    body, headers = hook(
        [order_completed(unique("ev-"), reference, email_for("fsforged"), [("photo-pro-1y", 1)])], b"guess"
    )
    assert bridge.post("/fastspring/webhook", body, headers).status == 403
    body, headers = hook(
        [order_completed(unique("ev-"), reference, email_for("fsforged"), [("photo-pro-1y", 1)])]
    )
    del headers["X-FS-Signature"]
    assert bridge.post("/fastspring/webhook", body, headers).status == 401
    assert bridge.license(f"fs:{reference}", "photo-pro") is None
    assert "cardEnding" not in bridge.log_text()
