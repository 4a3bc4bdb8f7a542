"""A Hypothesis state machine drives the real service and compares every answer with a model.

The model is a few dictionaries: orders (who bought them, their licenses: product, seats, key,
signing key, revocation) and profiles (email or erased, newsletter consent). The rules issue new
and existing orders (sometimes with another email or other terms, which must be refused), revoke,
rotate the signing key, find by email, order or key, export, erase and record consent, over a real
channel to an in-process server on SQLite and on PostgreSQL. Any answer the model did not predict
fails the run, and Hypothesis shrinks it to the shortest sequence that shows it.

Key rotation needs a new keyring file, and a running server reads its keyring once: a "rotate"
step copies the keyring, opens the copy, `rotate()`s and `save()`s it, opens it again as a
restarting server would, and restarts the server on it. Keys issued before must then still be
returned identical on re-issue and still validate; new keys carry the new key ID. Each rotation
costs three Argon2id derivations, so a run allows LICENSING_MODEL_ROTATIONS of them (CI: 2).

Machines share one server and database per engine; each works in its own namespace of emails and
orders. LICENSING_MODEL_EXAMPLES sets the number of runs (CI: 6) of LICENSING_MODEL_STEPS (25) steps.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from harness import PRODUCTS, Harness
from homes import TEST_PASSPHRASE
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from licensing_client import LicenseError, PublicKeyring, validate

from licensing._proto.licensing.v1 import (
    issuance_pb2,
    license_pb2,
    support_pb2,
    support_pb2_grpc,
    validation_pb2,
)
from licensing.api.server import ServerOptions
from licensing.config import Settings
from licensing.keyring import Keyring

from .kit import figure, serving, size

EXAMPLES = size("LICENSING_MODEL_EXAMPLES", 6)
STEPS = size("LICENSING_MODEL_STEPS", 25)
ROTATIONS = size("LICENSING_MODEL_ROTATIONS", 2)
IN_CI = bool(os.environ.get("CI"))
OPTIONS = ServerOptions(
    address="127.0.0.1:0", lookups_per_minute=1e9, lookup_burst=10**9, health_interval=0.2
)
REASONS = [
    license_pb2.REVOCATION_REASON_REFUND,
    license_pb2.REVOCATION_REASON_CHARGEBACK,
    license_pb2.REVOCATION_REASON_CANCELED,
    license_pb2.REVOCATION_REASON_FRAUD,
    license_pb2.REVOCATION_REASON_OTHER,
]
OK = grpc.StatusCode.OK


class World:
    """The engine's server, restarted on a rotated keyring when a rule asks, and the run's figures."""

    def __init__(self, settings_: Settings, keyring: Keyring, folder: Path) -> None:
        self.settings, self.folder = settings_, folder
        self.keyrings = ROTATED.setdefault(
            keyring.path, [keyring]
        )  # [i]: after i rotations; made once, shared
        self.generation = 0
        self.steps = 0
        self.runs = 0
        self.rotations = 0
        self._context = serving(settings_, keyring, OPTIONS)
        self.harness: Harness = self._context.__enter__()

    @property
    def keyring(self) -> Keyring:
        return self.keyrings[self.generation]

    def rotate(self) -> None:
        if len(self.keyrings) == self.generation + 1:
            copy = self.folder / f"keyring-{self.generation + 1}.bin"
            shutil.copy2(self.keyrings[self.generation].path, copy)
            rotated = Keyring.open(copy, TEST_PASSPHRASE)
            rotated.rotate()
            rotated.save()
            self.keyrings.append(Keyring.open(copy, TEST_PASSPHRASE))  # as a restarted server reads it
        self.close()
        self.generation += 1
        self.rotations += 1
        self._context = serving(self.settings, self.keyring, OPTIONS)
        self.harness = self._context.__enter__()

    def public(self) -> PublicKeyring:
        return self.keyring.public_keyring(PRODUCTS)

    def close(self) -> None:
        self._context.__exit__(None, None, None)


@dataclass
class LicenseModel:
    key: str
    key_id: int
    seats: int
    revoked: int = 0  # the first RevocationReason recorded, 0 while in force


@dataclass
class OrderModel:
    profile: int
    email: str  # the normalised email it was bought with
    licenses: dict[str, LicenseModel] = field(default_factory=dict)


@dataclass
class ProfileModel:
    email: str | None  # None once erased
    subscribed: bool = False
    source: str = ""


ROTATED: dict[Path, list[Keyring]] = {}  # both engines' worlds rotate through the same files


def status(lic: LicenseModel) -> int:
    return license_pb2.LICENSE_STATUS_REVOKED if lic.revoked else license_pb2.LICENSE_STATUS_VALID


class ServiceModel(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        self.world.runs += 1
        self.space = os.urandom(4).hex()
        self.orders: dict[str, OrderModel] = {}
        self.profiles: dict[int, ProfileModel] = {}
        self.current: dict[str, int] = {}  # email -> its profile, while not erased

    # -- helpers ------------------------------------------------------------------------------------

    @property
    def h(self) -> Harness:
        return self.world.harness

    def email(self, index: int) -> str:
        return f"m{self.space}.{index}@example.com"

    def ref(self, index: int) -> str:
        return f"M{self.space}-{index}"

    def call(self, stub_method: Callable[..., Any], request: object, who: str) -> tuple[grpc.StatusCode, Any]:
        """The call's status and its answer: the response (untyped, as the stubs are) or the error."""
        self.world.steps += 1
        try:
            return OK, stub_method(request, metadata=self.h.auth(who), timeout=30)
        except grpc.RpcError as error:
            return error.code(), error

    @property
    def support(self) -> support_pb2_grpc.SupportServiceStub:
        return support_pb2_grpc.SupportServiceStub(self.h.channel)

    def shown_key(self, profile: int, lic: LicenseModel) -> str:
        """Keys are not stored: derived again while the profile holds an email, gone once erased."""
        return lic.key if self.profiles[profile].email is not None else ""

    def expected_orders(self, profile: int) -> dict[str, dict[str, tuple[str, int]]]:
        return {
            ref: {
                product: (self.shown_key(profile, lic), status(lic))
                for product, lic in order.licenses.items()
            }
            for ref, order in self.orders.items()
            if order.profile == profile
        }

    def check_record(self, record: support_pb2.ProfileRecord, profile: int) -> None:
        model = self.profiles[profile]
        assert record.profile.email == (model.email or "")
        assert record.profile.HasField("erase_time") == (model.email is None)
        assert record.profile.newsletter.subscribed == model.subscribed
        assert record.profile.newsletter.source == model.source
        got = {
            o.order_id: {lic.product: (lic.license_key, lic.status) for lic in o.licenses}
            for o in record.orders
        }
        assert got == self.expected_orders(profile)

    # -- rules --------------------------------------------------------------------------------------

    @rule(
        email=st.integers(0, 3),
        order=st.integers(0, 5),
        product=st.sampled_from(sorted(PRODUCTS)),
        seats=st.sampled_from([1, 1, 1, 5]),
        consent=st.booleans(),
        spelling=st.sampled_from(["", "upper", "spaces"]),
    )
    def issue(self, email: int, order: int, product: str, seats: int, consent: bool, spelling: str) -> None:
        address, ref = self.email(email), self.ref(order)
        sent = {"": address, "upper": address.upper(), "spaces": f"  {address} "}[spelling]
        request = issuance_pb2.IssueLicenseRequest(
            email=sent,
            order_id=ref,
            product=product,
            terms=license_pb2.LicenseTerms(seats=seats),
            newsletter_consent=consent,
        )
        code, answer = self.call(self.h.issuance.IssueLicense, request, "issuer")
        known = self.orders.get(ref)
        if known is not None and (self.profiles[known.profile].email != address):
            assert code == grpc.StatusCode.FAILED_PRECONDITION, (
                code,
                "another email, or the buyer was erased",
            )
            return
        if known is not None and product in known.licenses:
            lic = known.licenses[product]
            if lic.seats != seats:
                assert code == grpc.StatusCode.FAILED_PRECONDITION, (code, "other terms")
                return
            assert code == OK, answer
            assert not answer.created and answer.license.license_key == lic.key  # the same key, again
            assert answer.license.status == status(lic)
            return
        assert code == OK, answer
        assert answer.created
        key = answer.license.license_key
        assert answer.license.key_id == self.world.keyring.active_key_id
        validate(key, address, PRODUCTS[product], self.world.public(), dt.datetime.now(dt.UTC))
        if known is None:
            profile = self.current.get(address)
            if profile is None:
                profile = len(self.profiles) + 1
                self.profiles[profile] = ProfileModel(address)
                self.current[address] = profile
            known = self.orders[ref] = OrderModel(profile, address)
        known.licenses[product] = LicenseModel(key, answer.license.key_id, seats)
        if consent and not self.profiles[known.profile].subscribed:
            self.profiles[known.profile].subscribed, self.profiles[known.profile].source = True, "checkout"

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def reissue(self, data: st.DataObject) -> None:
        ref = data.draw(st.sampled_from(sorted(self.orders)))
        order = self.orders[ref]
        product = data.draw(st.sampled_from(sorted(order.licenses)))
        lic = order.licenses[product]
        request = issuance_pb2.IssueLicenseRequest(
            email=order.email, order_id=ref, product=product, terms=license_pb2.LicenseTerms(seats=lic.seats)
        )
        code, answer = self.call(self.h.issuance.IssueLicense, request, "issuer")
        if self.profiles[order.profile].email is None:
            assert code == grpc.StatusCode.FAILED_PRECONDITION  # erased: the order no longer knows the email
            return
        assert code == OK, answer
        assert (answer.created, answer.license.license_key, answer.license.key_id) == (
            False,
            lic.key,
            lic.key_id,
        )

    @rule(
        order=st.integers(0, 5),
        product=st.sampled_from(["", *sorted(PRODUCTS)]),
        reason=st.sampled_from(REASONS),
    )
    def revoke(self, order: int, product: str, reason: license_pb2.RevocationReason) -> None:
        ref = self.ref(order)
        request = issuance_pb2.RevokeLicenseRequest(
            order_id=ref, product=product, reason=reason, note="model"
        )
        code, answer = self.call(self.h.issuance.RevokeLicense, request, "issuer")
        known = self.orders.get(ref)
        matched = (
            {}
            if known is None
            else {p: lic for p, lic in known.licenses.items() if not product or p == product}
        )
        if not matched:
            assert code == grpc.StatusCode.NOT_FOUND
            return
        assert code == OK, answer
        for lic in matched.values():
            lic.revoked = lic.revoked or reason  # revoking again changes nothing
        got = {lic.product: (lic.license_key, lic.status, lic.revocation_reason) for lic in answer.licenses}
        assert got == {
            p: (self.shown_key(known.profile, lic), license_pb2.LICENSE_STATUS_REVOKED, lic.revoked)  # type: ignore[union-attr]
            for p, lic in matched.items()
        }

    @precondition(lambda self: self.world.generation < ROTATIONS)
    @rule()
    def rotate_signing_key(self) -> None:
        before = self.world.keyring.active_key_id
        self.world.rotate()
        self.world.steps += 1
        assert self.world.keyring.active_key_id == before + 1
        listed = self.h.validation.ListSigningKeys(
            validation_pb2.ListSigningKeysRequest(), metadata=self.h.auth("support")
        )
        statuses = {key.key_id: key.status for key in listed.signing_keys}
        assert statuses[before + 1] == validation_pb2.SIGNING_KEY_STATUS_ACTIVE
        assert statuses[before] == validation_pb2.SIGNING_KEY_STATUS_VERIFY_ONLY

    @rule(email=st.integers(0, 3))
    def find_by_email(self, email: int) -> None:
        code, answer = self.call(
            self.support.FindLicenses, support_pb2.FindLicensesRequest(email=self.email(email)), "support"
        )
        assert code == OK, answer
        profile = self.current.get(self.email(email))
        assert len(answer.profiles) == (0 if profile is None else 1)
        if profile is not None:
            self.check_record(answer.profiles[0], profile)

    @rule(order=st.integers(0, 5))
    def find_by_order(self, order: int) -> None:
        code, answer = self.call(
            self.support.FindLicenses, support_pb2.FindLicensesRequest(order_id=self.ref(order)), "support"
        )
        assert code == OK, answer
        known = self.orders.get(self.ref(order))
        assert len(answer.profiles) == (0 if known is None else 1)
        if known is not None:
            self.check_record(answer.profiles[0], known.profile)

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), mangle=st.sampled_from(["", "lower", "no-dashes"]))
    def find_by_key(self, data: st.DataObject, mangle: str) -> None:
        ref = data.draw(st.sampled_from(sorted(self.orders)))
        order = self.orders[ref]
        key = order.licenses[data.draw(st.sampled_from(sorted(order.licenses)))].key
        pasted = {"": key, "lower": key.lower(), "no-dashes": key.replace("-", "")}[mangle]
        code, answer = self.call(
            self.support.FindLicenses, support_pb2.FindLicensesRequest(license_key=pasted), "support"
        )
        assert code == OK, answer
        assert len(answer.profiles) == 1
        self.check_record(answer.profiles[0], order.profile)

    @rule(email=st.integers(0, 3))
    def export(self, email: int) -> None:
        code, answer = self.call(
            self.support.ExportProfile, support_pb2.ExportProfileRequest(email=self.email(email)), "support"
        )
        profile = self.current.get(self.email(email))
        if profile is None:
            assert code == grpc.StatusCode.NOT_FOUND
            return
        assert code == OK, answer
        document = json.loads(answer.document)
        assert document["profile"]["email"] == self.email(email)
        assert document["profile"]["newsletter"]["subscribed"] == self.profiles[profile].subscribed
        got = {
            o["order_id"]: {lic["product"]: lic["license_key"] for lic in o["licenses"]}
            for o in document["orders"]
        }
        assert got == {
            ref: {p: k for p, (k, _) in lics.items()} for ref, lics in self.expected_orders(profile).items()
        }

    @rule(email=st.integers(0, 3))
    def erase(self, email: int) -> None:
        address = self.email(email)
        code, answer = self.call(
            self.support.EraseProfile, support_pb2.EraseProfileRequest(email=address), "support"
        )
        assert code == OK, answer
        profile = self.current.pop(address, None)
        if profile is None:
            assert (answer.erased, answer.licenses_kept) == (False, 0)
            return
        kept = sum(len(o.licenses) for o in self.orders.values() if o.profile == profile)
        assert (answer.erased, answer.licenses_kept) == (True, kept)
        erased = self.profiles[profile]
        erased.email, erased.subscribed, erased.source = None, False, ""  # staff's source word goes too

    @rule(
        email=st.integers(0, 3),
        subscribed=st.booleans(),
        source=st.sampled_from(["support-call", "web-form"]),
    )
    def consent(self, email: int, subscribed: bool, source: str) -> None:
        request = support_pb2.SetNewsletterConsentRequest(
            email=self.email(email), subscribed=subscribed, source=source
        )
        code, answer = self.call(self.support.SetNewsletterConsent, request, "support")
        profile = self.current.get(self.email(email))
        if profile is None:
            assert code == grpc.StatusCode.NOT_FOUND
            return
        assert code == OK, answer
        self.profiles[profile].subscribed, self.profiles[profile].source = subscribed, source
        assert (answer.profile.newsletter.subscribed, answer.profile.newsletter.source) == (
            subscribed,
            source,
        )

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def validate_online(self, data: st.DataObject) -> None:
        ref = data.draw(st.sampled_from(sorted(self.orders)))
        order = self.orders[ref]
        product = data.draw(st.sampled_from(sorted(order.licenses)))
        lic = order.licenses[product]
        request = validation_pb2.ValidateKeyRequest(license_key=lic.key, email=order.email, product=product)
        code, answer = self.call(self.h.validation.ValidateKey, request, "support")
        assert code == OK, answer
        assert answer.valid == (not lic.revoked)  # erasure does not touch the key
        assert answer.reason == (
            license_pb2.REASON_REVOKED if lic.revoked else license_pb2.REASON_UNSPECIFIED
        )

    @invariant()
    def every_key_still_validates_offline(self) -> None:
        """Whatever happened (revocation aside, which reaches programs by the shipped list), every
        key issued validates offline with the current public keyring: rotations and erasures too."""
        public, now = self.world.public(), dt.datetime.now(dt.UTC)
        for order in self.orders.values():
            for product, lic in order.licenses.items():
                try:
                    validate(lic.key, order.email, PRODUCTS[product], public, now)
                except LicenseError as error:
                    raise AssertionError(f"{order.email} {product}: {error}") from None


@pytest.fixture(scope="module")
def world(backend: Settings, keyring: Keyring, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    made = World(backend, keyring, tmp_path_factory.mktemp("rotations"))
    try:
        yield made
    finally:
        made.close()


def test_the_service_behaves_like_the_model(world: World, backend: Settings) -> None:
    ServiceModel.world = world
    run = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        derandomize=IN_CI,
        database=None if IN_CI else settings().database,  # the active profile's example database
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        print_blob=True,
    )
    ServiceModel.TestCase.settings = run
    ServiceModel.TestCase().runTest()
    engine = "postgres" if backend.database_url.startswith("postgres") else "sqlite"
    figure(f"model.{engine}", runs=world.runs, steps=world.steps, rotations=world.rotations, divergences=0)
