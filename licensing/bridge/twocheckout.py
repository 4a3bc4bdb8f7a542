"""2Checkout (Avangate, Verifone): IPN, LCN and the "Dynamic list" key generator. Pure functions.

Every 2Checkout call is signed the same way: each field value in the order received (array
fields element by element), prefixed by its length in bytes, concatenated, and keyed with the
account's secret: HMAC-SHA3-256 (`SIGNATURE_SHA3_256`), HMAC-SHA256 (`SIGNATURE_SHA2_256`), or
the legacy HMAC-MD5 (`HASH`), accepted only when the configuration enables it. The answer that
tells 2Checkout "received" (the read receipt) is an HMAC of a few fields and the current time
with the same algorithm; without it 2Checkout resends the notification for days.

The fields are read from the raw body by `common.parse_form`, grouped as PHP groups `$_POST`
(an array field sits where its first element arrived), because that is what 2Checkout signs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from .common import (
    REASON_CANCELED,
    REASON_CHARGEBACK,
    REASON_REFUND,
    BadRequest,
    LineItem,
    Purchase,
    Revocation,
    SignatureInvalid,
    SignatureMissing,
    check_reference,
    constant_time_equal,
    parse_quantity,
    text,
)

__all__ = [
    "PROVIDER",
    "Fields",
    "Verified",
    "group_fields",
    "hash_source",
    "ipn_event",
    "ipn_receipt",
    "keygen_purchase",
    "keygen_response",
    "lcn_event",
    "lcn_receipt",
    "receipt_date",
    "sign",
    "verify",
]

PROVIDER = "2checkout"
ORDER_PREFIX = "2co:"

# Signature field → (the algo name in the receipt, the hash). Strongest first.
_ALGORITHMS: dict[str, tuple[str, Callable[[], hashlib._Hash]]] = {
    "SIGNATURE_SHA3_256": ("sha3-256", hashlib.sha3_256),
    "SIGNATURE_SHA2_256": ("sha256", hashlib.sha256),
    "HASH": ("md5", hashlib.md5),
}
_BY_ALGO = dict(_ALGORITHMS.values())
SIGNATURE_FIELDS = frozenset(_ALGORITHMS)

_REVOKING_STATUSES = {"REFUND": REASON_REFUND, "REVERSED": REASON_REFUND, "CANCELED": REASON_CANCELED}


class Fields:
    """A 2Checkout request's fields as PHP sees them: name → list of values, in arrival order.

    A plain field has one value; `NAME[]` (or `NAME[3]`) fields are one array named NAME.
    """

    def __init__(self, groups: Sequence[tuple[str, list[bytes]]]) -> None:
        self.groups = list(groups)
        self._index = dict(self.groups)

    def values(self, name: str) -> list[bytes]:
        return self._index.get(name, [])

    def first(self, name: str) -> bytes:
        found = self._index.get(name)
        return found[0] if found else b""

    def text(self, name: str) -> str:
        return text(self.first(name))

    def __contains__(self, name: str) -> bool:
        return name in self._index


def group_fields(pairs: Iterable[tuple[str, bytes]]) -> Fields:
    groups: list[tuple[str, list[bytes]]] = []
    index: dict[str, list[bytes]] = {}
    for name, value in pairs:
        base, bracket, _ = name.partition("[")
        key = base if bracket and name.endswith("]") else name
        if key not in index:
            index[key] = []
            groups.append((key, index[key]))
        if bracket and name.endswith("]"):
            index[key].append(value)
        else:
            index[key][:] = [value]  # PHP: a repeated plain field keeps its place, last value wins
    return Fields(groups)


def hash_source(values: Iterable[bytes]) -> bytes:
    """Each value prefixed by its length in bytes (an empty value gives "0")."""
    return b"".join(str(len(value)).encode("ascii") + value for value in values)


def sign(algo: str, secret: bytes, values: Iterable[bytes]) -> str:
    """Hex HMAC, with the algorithm named as in the receipt ("sha3-256", "sha256", "md5")."""
    return hmac.new(secret, hash_source(values), _BY_ALGO[algo]).hexdigest()


def signed_values(fields: Fields) -> list[bytes]:
    return [value for name, values in fields.groups if name not in SIGNATURE_FIELDS for value in values]


@dataclass(frozen=True)
class Verified:
    """Which algorithm and which of the configured secrets verified the request."""

    algo: str
    secret: bytes


def verify(fields: Fields, secrets: Sequence[bytes], *, allow_md5: bool) -> Verified:
    """The verified signature of `fields`, or SignatureMissing / SignatureInvalid.

    The strongest signature present is the one checked; a weaker one beside it is ignored, so
    a request cannot be downgraded to MD5 by stripping fields unless MD5 is enabled.
    """
    for field_name, (algo, _) in _ALGORITHMS.items():
        if field_name not in fields:
            continue
        if algo == "md5" and not allow_md5:
            raise SignatureMissing("only the legacy MD5 HASH was sent, and MD5 is not enabled (allow_md5)")
        given = fields.text(field_name).lower()
        values = signed_values(fields)
        for secret in secrets:
            if constant_time_equal(sign(algo, secret, values), given):
                return Verified(algo, secret)
        raise SignatureInvalid(f"{field_name} does not verify")
    raise SignatureMissing("the request carries no signature")


def receipt_date(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")


def _receipt(verified: Verified, values: Sequence[bytes], date: str) -> str:
    digest = sign(verified.algo, verified.secret, [*values, date.encode("ascii")])
    if verified.algo == "md5":
        return f"<EPAYMENT>{date}|{digest}</EPAYMENT>"
    return f'<sig algo="{verified.algo}" date="{date}">{digest}</sig>'


def ipn_receipt(fields: Fields, verified: Verified, date: str) -> str:
    """The IPN read receipt: HMAC of IPN_PID[0], IPN_PNAME[0], IPN_DATE and DATE."""
    pid, pname = fields.values("IPN_PID"), fields.values("IPN_PNAME")
    values = [pid[0] if pid else b"", pname[0] if pname else b"", fields.first("IPN_DATE")]
    return _receipt(verified, values, date)


def lcn_receipt(fields: Fields, verified: Verified, date: str) -> str:
    """The LCN read receipt: HMAC of LICENSE_CODE, EXPIRATION_DATE and DATE."""
    return _receipt(verified, [fields.first("LICENSE_CODE"), fields.first("EXPIRATION_DATE")], date)


def _order_ref(value: str) -> str:
    return ORDER_PREFIX + check_reference(value, "REFNO")


def _date_of(value: str) -> str | None:
    """The date part of a 2Checkout timestamp ("2024-03-01 12:34:56"), if it is one."""
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def _is_test(fields: Fields, sandbox: bool) -> bool:
    flags = (fields.text("TESTORDER"), fields.text("TEST_ORDER"), fields.text("TEST"))
    return sandbox or any(flag.upper() in {"YES", "1", "TRUE"} for flag in flags)


def _email(fields: Fields, *names: str) -> str:
    for name in names:
        value = fields.text(name)
        if value:
            return value
    raise BadRequest(f"{names[0]} is missing")


def ipn_event(fields: Fields, *, sandbox: bool = False) -> Purchase | Revocation | None:
    """What an IPN asks for: a purchase to fulfil, a revocation, or nothing (other statuses)."""
    status = fields.text("ORDERSTATUS").upper()
    chargeback = fields.text("CHARGEBACK_RESOLUTION").upper()
    if chargeback == "OPEN":
        return Revocation(
            _order_ref(fields.text("REFNO")), REASON_CHARGEBACK, "2checkout IPN: chargeback open"
        )
    if status in _REVOKING_STATUSES:
        reason = _REVOKING_STATUSES[status]
        return Revocation(_order_ref(fields.text("REFNO")), reason, f"2checkout IPN: ORDERSTATUS {status}")
    if status != "COMPLETE":
        return None
    codes, ids, quantities = fields.values("IPN_PCODE"), fields.values("IPN_PID"), fields.values("IPN_QTY")
    count = max(len(codes), len(ids))
    if count == 0:
        raise BadRequest("IPN_PID[] is missing")
    lines = []
    for index in range(count):
        line_codes = tuple(code for code in (_at(codes, index), _at(ids, index)) if code)
        quantity = parse_quantity(_at(quantities, index), f"IPN_QTY[{index}]")
        lines.append(LineItem(line_codes, quantity))
    return Purchase(
        provider=PROVIDER,
        order_ref=_order_ref(fields.text("REFNO")),
        email=_email(fields, "CUSTOMEREMAIL", "EMAIL"),
        lines=tuple(lines),
        test_order=_is_test(fields, sandbox),
        order_date=_date_of(fields.text("SALEDATE")),
    )


def _at(values: Sequence[bytes], index: int) -> str:
    return text(values[index]) if index < len(values) else ""


def keygen_purchase(fields: Fields, *, sandbox: bool = False) -> Purchase:
    """A key generator call: one product line of an approved order."""
    line_codes = tuple(
        code for code in (fields.text("PCODE"), fields.text("PID"), fields.text("PRODUCTID")) if code
    )
    if not line_codes:
        raise BadRequest("PCODE is missing")
    return Purchase(
        provider=PROVIDER,
        order_ref=_order_ref(fields.text("REFNO")),
        email=_email(fields, "EMAIL", "CUSTOMEREMAIL"),
        lines=(LineItem(line_codes, parse_quantity(fields.text("QUANTITY"), "QUANTITY")),),
        test_order=_is_test(fields, sandbox),
        order_date=_date_of(fields.text("SALEDATE")),
    )


def keygen_response(keys: Sequence[str]) -> str:
    """The XML body a Dynamic list expects for alphanumeric codes: one code per element."""
    codes = "".join(f"<code>{escape(key)}</code>" for key in keys)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Data>{codes}</Data>\n'


def lcn_event(fields: Fields, *, order_field: str) -> Revocation | None:
    """A license change: STATUS DISABLED revokes the order named by `order_field`, if present."""
    if fields.text("STATUS").upper() != "DISABLED":
        return None
    reference = fields.text(order_field)
    if not reference:
        raise BadRequest(f"{order_field} is missing: enable it in the LCN settings to revoke from LCNs")
    return Revocation(_order_ref(reference), REASON_CANCELED, "2checkout LCN: STATUS DISABLED")
