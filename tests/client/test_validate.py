"""validate(): key rotation, the date boundaries in any time zone, updates-until, the check order."""

from __future__ import annotations

import datetime as dt

import pytest
from licensing_client import LicenseError, Reason, validate
from licensing_client.keyformat import format_key, read_key_bytes

from .conftest import NOW, issue, make_keyring, make_license

EMAIL = "alice@example.com"
UTC = dt.UTC


def _reason(
    key: str,
    statuses: dict[int, str],
    *,
    now: dt.datetime = NOW,
    email: str = EMAIL,
    product: int = 1,
    build_date: dt.date | None = None,
) -> Reason | None:
    """Why the key is refused with a keyring of these key statuses, or None when it is valid."""
    try:
        validate(key, email, product, make_keyring(statuses), now, build_date=build_date)
    except LicenseError as error:
        return error.reason
    return None


ROTATION = {1: "retired", 2: "verify-only", 3: "active", 7: "active"}


class TestRotation:
    @pytest.mark.parametrize("key_id", [2, 3, 7])
    def test_keys_signed_by_every_trusted_key_validate(self, key_id: int) -> None:
        license = make_license(key_id=key_id, serial=key_id)
        assert validate(issue(license), EMAIL, 1, make_keyring(ROTATION), NOW) == license

    def test_a_retired_key_gives_key_retired(self) -> None:
        assert _reason(issue(make_license(key_id=1)), ROTATION, now=NOW) is Reason.KEY_RETIRED

    def test_an_absent_key_gives_unknown_key(self) -> None:
        assert _reason(issue(make_license(key_id=5)), ROTATION, now=NOW) is Reason.UNKNOWN_KEY

    def test_retiring_a_key_refuses_its_keys_and_keeps_the_others(self) -> None:
        old, new = issue(make_license(key_id=2)), issue(make_license(key_id=3))
        assert _reason(old, {2: "verify-only", 3: "active"}, now=NOW) is None
        assert _reason(old, {2: "retired", 3: "active"}, now=NOW) is Reason.KEY_RETIRED
        assert _reason(new, {2: "retired", 3: "active"}, now=NOW) is None

    def test_a_key_id_with_another_keys_public_key_is_a_bad_signature(self) -> None:
        raw = bytearray(read_key_bytes(issue(make_license(key_id=3))))
        raw[1] = 2  # claims key 2; signed by key 3
        forged = format_key(bytes(raw[:23]), bytes(raw[23:87]))
        assert _reason(forged, ROTATION, now=NOW) is Reason.BAD_SIGNATURE


class TestExpiry:
    LICENSE = make_license(expires=dt.date(2026, 12, 31))
    KEY = issue(LICENSE)

    @pytest.mark.parametrize(
        ("now", "reason"),
        [
            (dt.datetime(2026, 12, 31, 0, 0, tzinfo=UTC), None),
            (dt.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), None),
            (dt.datetime(2027, 1, 1, 0, 0, tzinfo=UTC), Reason.EXPIRED),
            (dt.datetime(2030, 1, 1, tzinfo=UTC), Reason.EXPIRED),
            # Other zones: the day that counts is the UTC day of the same instant.
            (dt.datetime(2026, 12, 31, 18, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5))), None),
            (dt.datetime(2026, 12, 31, 19, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))), Reason.EXPIRED),
            (dt.datetime(2027, 1, 1, 8, 59, tzinfo=dt.timezone(dt.timedelta(hours=9))), None),
            (dt.datetime(2027, 1, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))), Reason.EXPIRED),
            (
                dt.datetime(2027, 1, 1, 5, 44, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=45))),
                None,
            ),
        ],
    )
    def test_the_last_day_is_valid_in_utc(self, now: dt.datetime, reason: Reason | None) -> None:
        assert _reason(self.KEY, {3: "active"}, now=now) is reason

    def test_expired_error_carries_the_license(self) -> None:
        with pytest.raises(LicenseError) as caught:
            validate(self.KEY, EMAIL, 1, make_keyring({3: "active"}), dt.datetime(2027, 2, 1, tzinfo=UTC))
        assert caught.value.license == self.LICENSE
        assert "2026-12-31" in str(caught.value)

    def test_perpetual_never_expires(self) -> None:
        key = issue(make_license(expires=None))
        assert _reason(key, {3: "active"}, now=dt.datetime(2179, 6, 6, tzinfo=UTC)) is None

    def test_naive_now_is_refused(self) -> None:
        with pytest.raises(TypeError):
            validate(self.KEY, EMAIL, 1, make_keyring({3: "active"}), dt.datetime(2026, 6, 1))


class TestNotYetValid:
    KEY = issue(make_license(issued=dt.date(2026, 1, 15)))

    @pytest.mark.parametrize(
        ("now", "reason"),
        [
            (dt.datetime(2026, 1, 14, 23, 59, 59, tzinfo=UTC), Reason.NOT_YET_VALID),
            (dt.datetime(2026, 1, 15, 0, 0, tzinfo=UTC), None),
            (dt.datetime(2026, 1, 15, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))), Reason.NOT_YET_VALID),
            (dt.datetime(2026, 1, 14, 19, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))), None),
        ],
    )
    def test_issue_day_boundary(self, now: dt.datetime, reason: Reason | None) -> None:
        assert _reason(self.KEY, {3: "active"}, now=now) is reason


class TestUpdatesUntil:
    KEY = issue(make_license(updates_until=dt.date(2026, 9, 30)))

    @pytest.mark.parametrize(
        ("build_date", "reason"),
        [
            (None, None),
            (dt.date(2025, 1, 1), None),
            (dt.date(2026, 9, 30), None),
            (dt.date(2026, 10, 1), Reason.UPDATES_EXPIRED),
        ],
    )
    def test_build_date_against_updates_until(
        self, build_date: dt.date | None, reason: Reason | None
    ) -> None:
        assert _reason(self.KEY, {3: "active"}, now=NOW, build_date=build_date) is reason

    def test_no_updates_limit_accepts_any_build(self) -> None:
        key = issue(make_license(updates_until=None))
        assert _reason(key, {3: "active"}, now=NOW, build_date=dt.date(2170, 1, 1)) is None

    def test_updates_expired_does_not_mean_expired(self) -> None:
        """An old build keeps working: updates-until limits builds, not time."""
        now = dt.datetime(2030, 1, 1, tzinfo=UTC)
        assert _reason(self.KEY, {3: "active"}, now=now, build_date=dt.date(2026, 9, 1)) is None


class TestOrder:
    """When several things are wrong, the first check in the specified order decides."""

    def test_retired_key_wins_over_a_bad_email(self) -> None:
        assert (
            _reason(issue(make_license(key_id=1)), {1: "retired"}, now=NOW, email="nope")
            is Reason.KEY_RETIRED
        )

    def test_invalid_email_wins_over_a_bad_signature(self) -> None:
        raw = bytearray(read_key_bytes(issue(make_license())))
        raw[30] ^= 1
        forged = format_key(bytes(raw[:23]), bytes(raw[23:87]))
        assert _reason(forged, {3: "active"}, now=NOW, email="nope") is Reason.INVALID_EMAIL

    def test_wrong_product_wins_over_expired(self) -> None:
        key = issue(make_license(expires=dt.date(2026, 1, 31)))
        assert _reason(key, {3: "active"}, now=NOW, product=2) is Reason.WRONG_PRODUCT

    def test_expired_wins_over_updates_expired(self) -> None:
        key = issue(make_license(expires=dt.date(2026, 1, 31), updates_until=dt.date(2026, 1, 31)))
        assert _reason(key, {3: "active"}, now=NOW, build_date=dt.date(2026, 5, 1)) is Reason.EXPIRED
