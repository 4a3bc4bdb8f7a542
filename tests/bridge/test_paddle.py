"""Paddle end to end: Billing notifications and the Classic fulfillment webhook.

Billing posts are Paddle's notification JSON (event_id, event_type, occurred_at,
notification_id, data) signed in `Paddle-Signature` with a real HMAC; the customer's email is
read from the Paddle API stand-in. Classic posts are form fields signed with an RSA key the
test makes, over PHP's serialize() of the sorted fields, as Paddle Classic does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from licensing._proto.licensing.v1 import license_pb2

from .stack import SECRETS, Bridge, assert_no_secrets_in, email_for, unique

OLD_SECRET = SECRETS["TEST_PADDLE_SECRET"].encode()
NEW_SECRET = SECRETS["TEST_PADDLE_SECRET_NEW"].encode()


def notification(event_type: str, data: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "event_id": unique("evt_01"),
            "event_type": event_type,
            "occurred_at": "2026-01-01T10:00:00.000000Z",
            "notification_id": unique("ntf_01"),
            "data": data,
        }
    ).encode()


def headers(body: bytes, *secrets: bytes, ts: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    h1 = ";".join(
        "h1=" + hmac.new(secret, stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        for secret in secrets
    )
    return {"Content-Type": "application/json", "Paddle-Signature": f"ts={stamp};{h1}"}


def transaction(txn: str, customer: str, items: list[tuple[str, str, int]]) -> dict[str, Any]:
    return {
        "id": txn,
        "status": "completed",
        "customer_id": customer,
        "address_id": "add_01",
        "currency_code": "USD",
        "origin": "web",
        "billed_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        "items": [
            {"price": {"id": price, "product_id": product, "description": "x"}, "quantity": quantity}
            for price, product, quantity in items
        ],
        "payments": [{"method_details": {"type": "card", "card": {"type": "visa", "last4": "4242"}}}],
    }


def new_customer(bridge: Bridge, name: str) -> tuple[str, str]:
    customer, email = unique("ctm_01"), email_for(name)
    bridge.customers[customer] = email
    return customer, email


def test_transaction_completed_issues_a_key_the_client_accepts_once(bridge: Bridge) -> None:
    customer, email = new_customer(bridge, "paddle")
    txn = unique("txn_01")
    body = notification(
        "transaction.completed", transaction(txn, customer, [("pri_01photoyearly", "pro_01photo", 1)])
    )
    answer = bridge.post("/paddle/webhook", body, headers(body, NEW_SECRET))
    assert answer.status == 200, answer.text
    stored = bridge.license(f"paddle:{txn}", "photo-pro")
    assert stored is not None and not stored.test_order
    assert bridge.check_key(stored.license_key, email, "photo-pro").returncode == 0
    assert bridge.post("/paddle/webhook", body, headers(body, NEW_SECRET)).status == 200
    again = bridge.license(f"paddle:{txn}", "photo-pro")
    assert again is not None and again.license_key == stored.license_key
    assert len(bridge.licenses_of_order(f"paddle:{txn}")) == 1
    assert_no_secrets_in(bridge.log_text(), email, stored.license_key)


def test_several_h1_during_rotation_verify_and_bad_or_stale_signatures_write_nothing(bridge: Bridge) -> None:
    customer, _ = new_customer(bridge, "rotation")
    txn = unique("txn_01")
    body = notification(
        "transaction.completed", transaction(txn, customer, [("pri_01photoyearly", "pro_01photo", 1)])
    )
    assert bridge.post("/paddle/webhook", body, headers(body, b"pdl_ntf_guess")).status == 403
    assert (
        bridge.post("/paddle/webhook", body, headers(body, OLD_SECRET, ts=int(time.time()) - 3600)).status
        == 403
    )
    tampered = body.replace(b'"quantity": 1', b'"quantity": 5')
    assert bridge.post("/paddle/webhook", tampered, headers(body, OLD_SECRET)).status == 403
    assert bridge.post("/paddle/webhook", body, {"Content-Type": "application/json"}).status == 401
    assert bridge.license(f"paddle:{txn}", "photo-pro") is None
    assert bridge.post("/paddle/webhook", body, headers(body, b"pdl_ntf_unknown", OLD_SECRET)).status == 200
    assert bridge.license(f"paddle:{txn}", "photo-pro") is not None


def test_refund_and_chargeback_adjustments_revoke(bridge: Bridge) -> None:
    for action, reason in (
        ("refund", license_pb2.REVOCATION_REASON_REFUND),
        ("chargeback", license_pb2.REVOCATION_REASON_CHARGEBACK),
    ):
        customer, _ = new_customer(bridge, action)
        txn = unique("txn_01")
        body = notification(
            "transaction.completed", transaction(txn, customer, [("12345", "pro_02video", 2)])
        )
        assert bridge.post("/paddle/webhook", body, headers(body, NEW_SECRET)).status == 200
        stored = bridge.license(f"paddle:{txn}", "video-max")
        assert stored is not None and stored.terms.seats == 4
        adjustment = {
            "id": unique("adj_01"),
            "action": action,
            "type": "full",
            "transaction_id": txn,
            "status": "approved",
            "reason": "requested by customer",
            "items": [{"item_id": "txnitm_01", "type": "full", "amount": "100"}],
        }
        body = notification("adjustment.created", adjustment)
        assert bridge.post("/paddle/webhook", body, headers(body, NEW_SECRET)).status == 200
        stored = bridge.license(f"paddle:{txn}", "video-max")
        assert stored is not None and stored.status == license_pb2.LICENSE_STATUS_REVOKED
        assert stored.revocation_reason == reason


def test_a_rejected_refund_and_other_events_change_nothing(bridge: Bridge) -> None:
    customer, _ = new_customer(bridge, "rejected")
    txn = unique("txn_01")
    body = notification(
        "transaction.completed", transaction(txn, customer, [("pri_01photoyearly", "pro_01photo", 1)])
    )
    assert bridge.post("/paddle/webhook", body, headers(body, NEW_SECRET)).status == 200
    for event_type, data in (
        (
            "adjustment.created",
            {"id": "adj_1", "action": "refund", "transaction_id": txn, "status": "rejected"},
        ),
        ("subscription.updated", {"id": "sub_1"}),
    ):
        body = notification(event_type, data)
        assert bridge.post("/paddle/webhook", body, headers(body, NEW_SECRET)).status == 200
    stored = bridge.license(f"paddle:{txn}", "photo-pro")
    assert stored is not None and stored.status == license_pb2.LICENSE_STATUS_VALID


def classic_body(bridge: Bridge, fields: dict[str, str], *, sign_with: Any = None) -> bytes:
    from licensing.bridge.paddle import php_serialize

    key = sign_with or bridge.classic_key
    message = php_serialize(dict(sorted(fields.items())))
    signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA1())).decode()
    return urlencode({**fields, "p_signature": signature}).encode()


def classic_fields(order_id: str, email: str, quantity: int = 1) -> dict[str, str]:
    return {
        "event_time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "p_product_id": "12345",
        "p_quantity": str(quantity),
        "p_order_id": order_id,
        "email": email,
        "customer_name": "Ada Lovelace",
        "p_country": "GB",
        "p_coupon": "",
        "p_currency": "USD",
        "p_price": "49.00",
        "p_sale_gross": "49.00",
        "p_tax_amount": "0.00",
        "p_paddle_fee": "2.95",
        "p_earnings": '{"1234":"46.05"}',
        "p_used_price_override": "0",
        "passthrough": "",
        "p_coupon_savings": "0.00",
    }


def test_classic_fulfillment_answers_the_key_text_idempotently(bridge: Bridge) -> None:
    order_id, email = unique("1"), email_for("classic")
    body = classic_body(bridge, classic_fields(order_id, email, quantity=3))
    answer = bridge.post("/paddle/classic", body)
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain"), answer.text
    assert bridge.check_key(answer.text.strip(), email, "video-max").returncode == 0
    stored = bridge.license(f"paddle-classic:{order_id}", "video-max")
    assert stored is not None and stored.terms.seats == 6 and stored.license_key == answer.text.strip()
    assert bridge.post("/paddle/classic", body).text == answer.text
    assert len(bridge.licenses_of_order(f"paddle-classic:{order_id}")) == 1


def test_classic_with_a_bad_signature_writes_nothing_and_a_refund_alert_revokes(bridge: Bridge) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    order_id, email = unique("1"), email_for("classicbad")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert (
        bridge.post(
            "/paddle/classic", classic_body(bridge, classic_fields(order_id, email), sign_with=stranger)
        ).status
        == 403
    )
    tampered = classic_body(bridge, classic_fields(order_id, email)).replace(b"p_quantity=1", b"p_quantity=2")
    assert bridge.post("/paddle/classic", tampered).status == 403
    assert bridge.license(f"paddle-classic:{order_id}", "video-max") is None

    assert bridge.post("/paddle/classic", classic_body(bridge, classic_fields(order_id, email))).status == 200
    alert = {
        "alert_name": "payment_refunded",
        "alert_id": "99",
        "order_id": order_id,
        "refund_type": "full",
        "email": email,
        "amount": "49.00",
        "currency": "USD",
        "event_time": "2026-01-02 10:00:00",
    }
    assert bridge.post("/paddle/classic", classic_body(bridge, alert)).status == 200
    stored = bridge.license(f"paddle-classic:{order_id}", "video-max")
    assert stored is not None and stored.revocation_reason == license_pb2.REVOCATION_REASON_REFUND
