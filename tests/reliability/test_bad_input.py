"""Bad input everywhere: Hypothesis-made requests for every RPC, on SQLite and PostgreSQL.

Each RPC gets requests whose fields are mostly valid (so that calls reach deep into the service)
and sometimes hostile (strategies.py), and now and then raw bytes that protobuf may not parse.
Whatever is sent, the answer must be:

- a deliberate status: OK, INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, or RESOURCE_EXHAUSTED
  for a message above the size limit; never UNKNOWN, never our INTERNAL (an unexpected exception),
  never UNAVAILABLE or a missed deadline, also for bytes protobuf cannot parse;
- no partial write: a refused call leaves every table as it was;
- no echo: an error message never repeats an email address, a card number or a long value sent;
- no card number stored: a card-number-shaped order ID, provider, note or source is refused, and
  at the end no stored text anywhere holds a Luhn-valid 13-19 digit run.

The server stays up throughout and answers health checks and an ordinary call at the end.
LICENSING_BAD_INPUT_EXAMPLES sets the examples per RPC and engine (CI: 20; `make fuzz`: 300).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import message, timestamp_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import Harness
from homes import make_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licensing._proto.licensing.v1 import (
    issuance_pb2,
    license_pb2,
    support_pb2,
    validation_pb2,
)
from licensing.api.server import ServerOptions, start_server
from licensing.config import Settings
from licensing.inputs import looks_like_card_number
from licensing.keyring import Keyring
from licensing.service import Service
from licensing.storage.models import AuditEvent, DataKey, License, Order, Product, Profile
from licensing.tokens import Role, create_token

from .kit import figure, serving, size, stop_within
from .strategies import (
    boundary_numbers,
    boundary_timestamps,
    card_numbers,
    hostile_text,
    luhn_complete,
    maybe,
    raw_requests,
)

EXAMPLES = size("LICENSING_BAD_INPUT_EXAMPLES", 20)
IN_CI = bool(os.environ.get("CI"))
# CI: the same examples every run (a red CI is then a real regression, never luck). Locally:
# random exploration, with failures kept in .hypothesis/ (gitignored) and replayed first.
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=IN_CI,
    database=None if IN_CI else settings().database,  # the active profile's example database
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    print_blob=True,
)
OPTIONS = ServerOptions(
    address="127.0.0.1:0", lookups_per_minute=1e9, lookup_burst=10**9, health_interval=0.2
)
ACCEPTABLE = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
}
# Request fields whose value the call would store if it accepted them.
# Fields that store what a caller typed and must never hold a card number. The order reference is
# not one of them: it is the provider's opaque identifier, stored as sent whatever its digits.
STORED_BY = {
    "IssueLicense": ("provider",),
    "IssueLicenses": ("provider",),
    "RevokeLicense": ("note",),
    "SetNewsletterConsent": ("source",),
}
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,}")


def holds_card_number(text: str) -> bool:
    """An independent check (not licensing.inputs'): any 13-19 digit window that passes Luhn."""
    for match in _DIGIT_RUN.finditer(text):
        digits = "".join(ch for ch in match.group() if ch.isdigit())
        for start in range(len(digits) - 12):
            for end in range(start + 13, min(len(digits), start + 19) + 1):
                window = digits[start:end]
                if luhn_complete(window[:-1]) == window:
                    return True
    return False


def written() -> tuple[int, ...]:
    """Every table's row count, and the revoked, erased and subscribed counts: a write shows here.

    The audit log counts only entries other than look-ups that found nobody: a miss is audited on
    purpose (a run of misses is what guessing looks like), and that is the one write a refusal makes.
    """
    return (
        Profile.select().count(),
        Profile.select().where(Profile.erase_time.is_null(False)).count(),
        Profile.select().where(Profile.newsletter_subscribed == True).count(),  # noqa: E712 (a peewee expression)
        Order.select().count(),
        License.select().count(),
        License.select().where(License.revoke_time.is_null(False)).count(),
        AuditEvent.select().where(AuditEvent.target != "none").count(),
        DataKey.select().count(),
    )


def strings_of(request: message.Message) -> list[str]:
    found: list[str] = []
    for _descriptor, value in request.ListFields():
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, message.Message):
            found += strings_of(value)
    return found


@dataclass
class Tally:
    tried: int = 0
    raw: int = 0
    seconds: float = 0.0
    wrong: list[str] = field(default_factory=list)
    by_code: dict[str, int] = field(default_factory=dict)


@dataclass
class Target:
    harness: Harness
    email: str
    order_id: str
    key: str
    engine: str
    tallies: dict[str, Tally] = field(default_factory=dict)

    def auth(self) -> tuple[tuple[str, str], ...]:
        return self.harness.auth("admin")

    def send(self, method: str, payload: message.Message | bytes | list[Any]) -> None:
        """Call `method` and check everything the module docstring promises about the answer."""
        tally = self.tallies.setdefault(method, Tally())
        service = {
            "ValidateKey": "ValidationService",
            "ListSigningKeys": "ValidationService",
            "GetRevocationList": "ValidationService",
        }.get(method)
        if service is None:
            service = "IssuanceService" if method in ISSUANCE else "SupportService"
        path = f"/licensing.v1.{service}/{method}"
        items = payload if isinstance(payload, list) else [payload]
        raw = any(isinstance(item, bytes) for item in items)
        wire = [item if isinstance(item, bytes) else item.SerializeToString() for item in items]
        started = time.perf_counter()
        before = written()
        details, response = "", b""
        try:
            if method == "IssueLicenses":
                response = self.harness.channel.stream_unary(path)(
                    iter(wire), metadata=self.auth(), timeout=30
                )
            else:
                response = self.harness.channel.unary_unary(path)(wire[0], metadata=self.auth(), timeout=30)
            code = grpc.StatusCode.OK
        except grpc.RpcError as error:
            code, details = error.code(), error.details() or ""
        after = written()
        tally.seconds += time.perf_counter() - started
        tally.tried += 1
        tally.raw += raw
        tally.by_code[code.name] = tally.by_code.get(code.name, 0) + 1

        def wrong(problem: str) -> None:
            tally.wrong.append(f"{method} {code.name} {problem}: {details[:200]!r} for {items!r:.400}")

        oversized = any(len(item) > OPTIONS.max_message_bytes for item in wire)
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED and oversized:
            pass
        elif code not in ACCEPTABLE:
            wrong("unexpected status")
        if code != grpc.StatusCode.OK and after != before:
            wrong(f"refused but wrote {before} -> {after}")
        messages = [item for item in items if isinstance(item, message.Message)]
        sent = [s for m in messages for s in strings_of(m)]
        for value in sent:
            revealing = len(value.strip()) >= 6 and (
                "@" in value or holds_card_number(value) or len(value) >= 12
            )
            if details and revealing and value.strip().lower() in details.lower():
                wrong("the error repeats a value sent")
        if code == grpc.StatusCode.OK and method in STORED_BY:
            for m in messages:
                inner = m.request if isinstance(m, issuance_pb2.IssueLicensesRequest) else m
                for name in STORED_BY[method]:
                    value = getattr(inner, name, "")
                    if looks_like_card_number(value) and self._stored(method, response, name, value):
                        wrong(f"a card-number-shaped {name} was stored")

    @staticmethod
    def _stored(method: str, response: object, name: str, value: str) -> bool:
        if name in ("order_id",):
            return Order.select().where(Order.order_ref == value).exists()
        if name == "provider":
            return Order.select().where(Order.provider == value).exists()
        if name == "note":
            return License.select().where(License.revocation_note == value).exists()
        return Profile.select().where(Profile.newsletter_source == value).exists()


ISSUANCE = {"IssueLicense", "IssueLicenses", "RevokeLicense", "GetLicense"}


@pytest.fixture(scope="module")
def target(backend: Settings, keyring: Keyring) -> Iterator[Target]:
    with serving(backend, keyring, OPTIONS) as harness:
        email, order_id = f"bad.input.{uuid.uuid4().hex[:6]}@example.com", f"BI-{uuid.uuid4().hex[:10]}"
        key = harness.issue(email, order_id).license.license_key
        engine = "postgres" if backend.database_url.startswith("postgres") else "sqlite"
        yield Target(harness, email, order_id, key, engine)


def check(target: Target, method: str) -> None:
    wrong = target.tallies[method].wrong
    assert wrong == [], "\n".join(wrong[:5])


# --- strategies for each request ---------------------------------------------------------------------


def emails(target: Target) -> st.SearchStrategy[str]:
    valid = st.one_of(
        st.just(target.email),
        st.just(target.email.upper()),
        st.builds(lambda n: f"buyer{n}@example.com", st.integers(0, 50)),
    )
    return maybe(
        valid, st.one_of(hostile_text(), card_numbers().map(lambda c: c.replace(" ", "") + "@example.com"))
    )


def order_ids(target: Target) -> st.SearchStrategy[str]:
    valid = st.one_of(st.just(target.order_id), st.builds(lambda: f"BI-{uuid.uuid4().hex[:10]}"))
    return maybe(valid, st.one_of(hostile_text(), card_numbers()))


def products() -> st.SearchStrategy[str]:
    return maybe(st.sampled_from(["photo-pro", "video-max"]), hostile_text())


def keys(target: Target) -> st.SearchStrategy[str]:
    mangled = st.sampled_from(
        [
            target.key,
            target.key.lower(),
            target.key.replace("-", ""),
            target.key.replace("-", " "),
            target.key[:-1],
            target.key + "0",
            target.key.replace("0", "O", 3),
            target.key[::-1],
        ]
    )
    return maybe(mangled, hostile_text())


def terms() -> st.SearchStrategy[license_pb2.LicenseTerms | None]:
    def make(expire: Any, updates: Any, seats: int, edition: int, flags: int) -> license_pb2.LicenseTerms:
        return license_pb2.LicenseTerms(
            expire_time=expire, updates_until_time=updates, seats=seats, edition=edition, feature_flags=flags
        )

    stamp = maybe(st.one_of(st.none(), days(TODAY, dt.date(2179, 6, 6))), boundary_timestamps())
    return st.one_of(
        st.none(),
        st.builds(
            make,
            stamp,
            stamp,
            maybe(st.integers(0, 65535), boundary_numbers()),
            maybe(st.integers(0, 255), boundary_numbers()),
            maybe(st.integers(0, 65535), boundary_numbers()),
        ),
    )


TODAY = dt.datetime.now(dt.UTC).date()


def days(first: dt.date, last: dt.date) -> st.SearchStrategy[timestamp_pb2.Timestamp]:
    """Valid dates, as the Timestamp of their midnight UTC."""

    def stamp(day: dt.date) -> timestamp_pb2.Timestamp:
        return timestamp_pb2.Timestamp(
            seconds=int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
        )

    return st.dates(first, last).map(stamp)


def issue_requests(target: Target) -> st.SearchStrategy[issuance_pb2.IssueLicenseRequest]:
    return st.builds(
        lambda **fields: issuance_pb2.IssueLicenseRequest(
            **{k: v for k, v in fields.items() if v is not None}
        ),
        email=emails(target),
        order_id=order_ids(target),
        product=products(),
        terms=terms(),
        order_time=maybe(st.one_of(st.none(), days(dt.date(2000, 1, 2), TODAY)), boundary_timestamps()),
        provider=maybe(
            st.sampled_from(["", "paddle", "fastspring"]), st.one_of(hostile_text(), card_numbers())
        ),
        test_order=st.booleans(),
        newsletter_consent=st.booleans(),
    )


def requests_for(method: str, target: Target) -> st.SearchStrategy[message.Message | list[Any]]:
    reasons = maybe(st.integers(1, 5), st.sampled_from([0, 6, 99, -1, 2**31 - 1, -(2**31)]))
    if method == "IssueLicense":
        return issue_requests(target)
    if method == "IssueLicenses":
        item = st.one_of(
            st.builds(issuance_pb2.IssueLicensesRequest),
            st.builds(lambda r: issuance_pb2.IssueLicensesRequest(request=r), issue_requests(target)),
        )
        return st.lists(item, min_size=0, max_size=4)
    if method == "RevokeLicense":
        return st.builds(
            issuance_pb2.RevokeLicenseRequest,
            order_id=order_ids(target),
            product=st.one_of(st.just(""), products()),
            reason=reasons,
            note=maybe(
                st.sampled_from(["", "refund via support"]), st.one_of(hostile_text(), card_numbers())
            ),
        )
    if method == "GetLicense":
        return st.builds(issuance_pb2.GetLicenseRequest, order_id=order_ids(target), product=products())
    if method == "ValidateKey":
        return st.builds(
            lambda build_time, **fields: validation_pb2.ValidateKeyRequest(
                **fields, **({"build_time": build_time} if build_time else {})
            ),
            license_key=keys(target),
            email=emails(target),
            product=products(),
            build_time=st.one_of(st.none(), boundary_timestamps()),
        )
    if method == "ListSigningKeys":
        return st.just(validation_pb2.ListSigningKeysRequest())
    if method == "GetRevocationList":
        return st.just(validation_pb2.GetRevocationListRequest())
    if method == "FindLicenses":
        return st.one_of(
            st.just(support_pb2.FindLicensesRequest()),
            st.builds(lambda v: support_pb2.FindLicensesRequest(email=v), emails(target)),
            st.builds(lambda v: support_pb2.FindLicensesRequest(order_id=v), order_ids(target)),
            st.builds(lambda v: support_pb2.FindLicensesRequest(license_key=v), keys(target)),
        )
    if method == "ExportProfile":
        return st.builds(support_pb2.ExportProfileRequest, email=emails(target))
    if method == "EraseProfile":
        # Never the shared purchaser: erasing them would make the other RPCs' examples shallower.
        return st.builds(
            support_pb2.EraseProfileRequest,
            email=emails(target).filter(lambda e: e.strip().lower() != target.email),
        )
    if method == "SetNewsletterConsent":
        return st.builds(
            support_pb2.SetNewsletterConsentRequest,
            email=emails(target),
            subscribed=st.booleans(),
            source=maybe(
                st.sampled_from(["support-call", "checkout", ""]), st.one_of(hostile_text(), card_numbers())
            ),
        )
    raise AssertionError(method)


METHODS = [
    "IssueLicense",
    "IssueLicenses",
    "RevokeLicense",
    "GetLicense",
    "ValidateKey",
    "ListSigningKeys",
    "GetRevocationList",
    "FindLicenses",
    "ExportProfile",
    "EraseProfile",
    "SetNewsletterConsent",
]


@pytest.mark.parametrize("method", METHODS)
def test_hostile_requests_get_a_deliberate_status_write_nothing_and_echo_nothing(
    target: Target, method: str
) -> None:
    @HYPOTHESIS
    @given(request=requests_for(method, target), raw_one_in_ten=st.integers(0, 9), data=st.data())
    def run(request: message.Message | list[Any], raw_one_in_ten: int, data: st.DataObject) -> None:
        payload: message.Message | bytes | list[Any] = request
        if raw_one_in_ten == 0:  # bytes protobuf may not parse
            items = request if isinstance(request, list) else [request]
            valid = items[0].SerializeToString() if items else b""
            raw = data.draw(raw_requests(valid), label="raw bytes")
            payload = [raw] if method == "IssueLicenses" else raw
        target.send(method, payload)
        check(target, method)

    run()


# The free-text fields (and the provider code) a card number could be typed into.
SENDERS: dict[str, Callable[[Target, str], message.Message]] = {
    "IssueLicense provider": lambda t, card: issuance_pb2.IssueLicenseRequest(
        email=t.email, order_id=f"BI-{uuid.uuid4().hex[:10]}", product="photo-pro", provider=card
    ),
    "RevokeLicense": lambda t, card: issuance_pb2.RevokeLicenseRequest(
        order_id=t.order_id, reason=license_pb2.REVOCATION_REASON_OTHER, note=f"card {card}"
    ),
    "SetNewsletterConsent": lambda t, card: support_pb2.SetNewsletterConsentRequest(
        email=t.email, subscribed=True, source=card
    ),
}


CARDS = [
    "4111111111111111",
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
    "378282246310005",
    "PAY-6011000990139424",
    "4000056655665556",
    "4111.1111.1111.1111",
    "4111--1111--1111--1111",
    "3782 822463 10005",
]


def _card_cases() -> Iterator[Any]:
    for where in sorted(SENDERS):
        for card in CARDS:
            yield pytest.param(where, card, id=f"{where}-{card}")


@pytest.mark.parametrize(("where", "card"), list(_card_cases()))
def test_a_card_number_in_any_stored_or_searched_field_is_refused(
    target: Target, where: str, card: str
) -> None:
    request = SENDERS[where](target, card)
    method = where.split()[0]
    before = written()
    path_service = "IssuanceService" if method in ISSUANCE else "SupportService"
    with pytest.raises(grpc.RpcError) as refused:
        target.harness.channel.unary_unary(f"/licensing.v1.{path_service}/{method}")(
            request.SerializeToString(), metadata=target.auth(), timeout=30
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert card not in (refused.value.details() or "")
    assert written() == before


def test_digits_in_identifiers_are_not_mistaken_for_cards(target: Target) -> None:
    """An order reference or an email made of digits is an identifier, not card data: a phone
    number as a mailbox (4915112345678@…) or an ERP's 16-digit order number is a real purchase."""
    order = f"4111 1111 1111 1111 {uuid.uuid4().hex[:6]}"
    response = target.harness.issue("4111111111111111@example.com", order)
    assert response.created
    found = target.harness.issuance.GetLicense(
        issuance_pb2.GetLicenseRequest(order_id=order, product="photo-pro"),
        metadata=target.auth(),
        timeout=30,
    )
    assert found.license.serial == response.license.serial


def test_undecodable_bytes_are_invalid_argument(target: Target) -> None:
    text = b"A\xed\xa0\x80@example.com"  # a lone surrogate, as UTF-8 would have it if it allowed one
    surrogate_email = b"\x0a" + bytes([len(text)]) + text  # field 1, email
    with pytest.raises(grpc.RpcError) as refused:
        target.harness.channel.unary_unary("/licensing.v1.IssuanceService/IssueLicense")(
            surrogate_email, metadata=target.auth(), timeout=30
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_after_all_that_the_server_still_serves_and_stores_no_card_number(target: Target) -> None:
    """Last in the module (per engine): the same server answers health and an ordinary call, and
    no stored text anywhere holds a card number. The tallies of the module become its figures."""
    harness = target.harness
    health = health_pb2_grpc.HealthStub(harness.channel)
    assert (
        health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
        == health_pb2.HealthCheckResponse.SERVING
    )
    assert harness.issue("after.bad.input@example.com", f"BI-{uuid.uuid4().hex[:10]}").created
    stored = [  # every field that holds typed text (order references are opaque identifiers)
        *(o.provider for o in Order.select()),
        *(lic.revocation_note or "" for lic in License.select()),
        *(p.newsletter_source or "" for p in Profile.select()),
        *(f"{e.actor} {e.detail}" for e in AuditEvent.select()),
        *(p.code + p.name for p in Product.select()),
    ]
    assert [text for text in stored if looks_like_card_number(text)] == []
    for method, tally in sorted(target.tallies.items()):
        figure(
            f"bad_input.{target.engine}.{method}",
            tried=tally.tried,
            raw_bytes=tally.raw,
            wrong_statuses=len(tally.wrong),
            call_seconds=round(tally.seconds, 2),
            codes=" ".join(f"{k}:{v}" for k, v in sorted(tally.by_code.items())),
        )
    assert all(not tally.wrong for tally in target.tallies.values())


def test_undecodable_stream_messages_do_not_keep_the_server_from_stopping(
    tmp_path: Path, keyring_path: Path, keyring: Keyring
) -> None:
    """Found by the hostile-input test: grpcio aborted such a call, then ended the request iterator
    as if the stream were complete; the servicer returned and a second status was sent that never
    completed, so RunningServer.stop, and `licensing serve` on SIGTERM, hung for good. Since the
    interceptor parses requests itself (5b08e2c) the call is an ordinary INVALID_ARGUMENT."""
    settings_, _ = make_settings("sqlite", tmp_path / "home", keyring_path)  # the engine plays no part
    service = Service.start(settings_, keyring)
    running = start_server(service, OPTIONS)
    token = create_token(f"stream-{os.urandom(3).hex()}", Role.ISSUER)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            send = channel.stream_unary("/licensing.v1.IssuanceService/IssueLicenses")
            for _ in range(50):  # each call leaks with some probability; 50 make it certain in practice
                with pytest.raises(grpc.RpcError) as refused:
                    send(
                        iter([b"\x0a\x03\xed\xa0\x80"]),
                        metadata=(("authorization", f"Bearer {token}"),),
                        timeout=10,
                    )
                assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        stop_within(running, grace=1.0, within=2.0)  # nothing is in flight: a healthy server stops at once
    finally:
        service.stop()  # a server stuck in its grace period is left to the process's exit
