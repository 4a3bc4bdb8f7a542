"""Signed revocation lists: accepted only when signed by a trusted key over exactly their content."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from licensing_client import LicenseError, Reason, RevocationList, RevocationListError, validate
from licensing_client.revocation import REVOCATIONS_FORMAT, revocation_message

from .conftest import NOW, issue, make_keyring, make_license, signing_key

KEYRING = make_keyring({1: "retired", 2: "verify-only", 3: "active"})
ISSUE_TIME = 1_772_323_200  # 2026-03-01T00:00:00Z


def signed_list(key_id: int = 3, serials: list[int] | None = None, sequence: int = 5) -> str:
    """A revocation list document signed by `key_id`."""
    serials = [1001, 42] if serials is None else serials
    message = revocation_message(key_id, sequence, ISSUE_TIME, serials)
    return json.dumps(
        {
            "format": REVOCATIONS_FORMAT,
            "key_id": key_id,
            "sequence": sequence,
            "issue_time": ISSUE_TIME,
            "serials": serials,
            "signature": signing_key(key_id).sign(message).signature.hex(),
        }
    )


def tampered(**after: Any) -> str:
    """A list signed by key 3, with fields of its JSON replaced after signing."""
    document = json.loads(signed_list())
    document.update(after)
    return json.dumps(document)


def test_a_signed_list_is_read() -> None:
    revocations = RevocationList.from_json(signed_list(), KEYRING)
    assert revocations.serials == frozenset({1001, 42})
    assert revocations.sequence == 5 and revocations.key_id == 3
    assert revocations.issue_time == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert 1001 in revocations and 7 not in revocations
    assert revocations.newer_than(4) and not revocations.newer_than(5)


def test_a_list_from_a_verify_only_key_is_read() -> None:
    assert 42 in RevocationList.from_json(signed_list(key_id=2), KEYRING)


def test_order_spacing_and_duplicates_do_not_change_the_signed_bytes() -> None:
    document = json.loads(signed_list(serials=[42, 1001]))
    document["serials"] = [1001, 42, 42]
    assert RevocationList.from_json(json.dumps(document, indent=4), KEYRING).serials == {42, 1001}


def test_a_listed_serial_is_revoked_and_others_are_not() -> None:
    revocations = RevocationList.from_json(signed_list(), KEYRING)
    with pytest.raises(LicenseError) as caught:
        validate(
            issue(make_license(serial=1001)), "alice@example.com", 1, KEYRING, NOW, revocations=revocations
        )
    assert caught.value.reason is Reason.REVOKED
    assert caught.value.license is not None and caught.value.license.serial == 1001
    license = make_license(serial=1002)
    assert validate(issue(license), "alice@example.com", 1, KEYRING, NOW, revocations=revocations) == license


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (signed_list(serials=[1001]).replace("1001", "1002"), "signature"),  # tampered serial
        (tampered(serials=[1001, 42, 43]), "signature"),  # a serial added
        (tampered(serials=[1001]), "signature"),  # a serial removed
        (tampered(signature="00" * 64), "signature"),  # forged signature
        (tampered(sequence=6), "signature"),  # replayed as a newer list
        (tampered(issue_time=ISSUE_TIME + 1), "signature"),
        (tampered(signature="abc"), "signature"),
        (tampered(signature="zz" * 64), "signature"),
        (tampered(signature="00" * 65), "signature"),
        (signed_list(key_id=1), "retired"),
        (signed_list(key_id=9), "does not know"),
        (tampered(key_id=2), "signature"),  # signed by 3, claims verify-only key 2
        (tampered(serials=[-1]), "serials"),
        (tampered(serials=[1 << 48]), "serials"),
        (tampered(serials=[True]), "serials"),
        (tampered(serials=[1.5]), "serials"),
        (tampered(serials="1001"), "serials"),
        (tampered(key_id=True), "whole numbers"),
        (tampered(key_id=256), "whole numbers"),
        (tampered(issue_time=10**20), "whole numbers"),
        (tampered(sequence=-1), "whole numbers"),
        (tampered(sequence=1 << 64), "whole numbers"),
        (tampered(signature=None), "128 hex digits"),
        (tampered(format="licensing-revocations/2"), "format"),
        ("[]", "JSON object"),
        ("{not json", "JSON"),
        (b"\xff\xfe", "JSON"),
    ],
)
def test_bad_lists_are_refused(document: str | bytes, fragment: str) -> None:
    with pytest.raises(RevocationListError, match=fragment):
        RevocationList.from_json(document, KEYRING)


def test_load_reports_an_unreadable_file(tmp_path: Any) -> None:
    with pytest.raises(RevocationListError, match="cannot read"):
        RevocationList.load(tmp_path / "missing.json", KEYRING)
    path = tmp_path / "list.json"
    path.write_text(signed_list(), encoding="utf-8")
    assert RevocationList.load(path, KEYRING) == RevocationList.from_json(signed_list(), KEYRING)


def test_the_message_is_canonical() -> None:
    message = revocation_message(3, 5, ISSUE_TIME, [42, 1001, 42])
    assert message.startswith(b"licensing.v1/revocations\x00")
    header = bytes([3]) + (5).to_bytes(8, "big") + ISSUE_TIME.to_bytes(8, "big") + (2).to_bytes(4, "big")
    assert message == b"licensing.v1/revocations\x00" + header + (42).to_bytes(6, "big") + (1001).to_bytes(
        6, "big"
    )
    with pytest.raises(ValueError):
        revocation_message(3, 5, ISSUE_TIME, [1 << 48])


def test_an_older_list_shipped_later_cannot_un_revoke() -> None:
    """The high-water mark: a program keeps the newest list and is later given an older one."""
    from licensing_client import newest_revocations

    newer = RevocationList.from_json(signed_list(serials=[1001], sequence=9), KEYRING)
    older = RevocationList.from_json(signed_list(serials=[], sequence=4), KEYRING)
    assert newest_revocations(older, kept=newer) is newer
    assert newest_revocations(newer, kept=older) is newer
    assert newest_revocations(None, kept=newer) is newer
    assert newest_revocations(older, kept=None) is older
    kept_again = RevocationList.from_json(newer.to_json(), KEYRING)  # what the program stored
    assert kept_again.serials == newer.serials and kept_again.sequence == 9
    license = make_license(serial=1001)
    with pytest.raises(LicenseError) as caught:
        validate(
            issue(license),
            "alice@example.com",
            1,
            KEYRING,
            NOW,
            revocations=newest_revocations(older, kept_again),
        )
    assert caught.value.reason is Reason.REVOKED


def test_license_check_keeps_the_newest_list_in_its_state_file(tmp_path: Any) -> None:
    import subprocess
    import sys

    keyring_file = tmp_path / "keyring.json"
    keyring_file.write_text(KEYRING.to_json())
    newer, older = tmp_path / "newer.json", tmp_path / "older.json"
    newer.write_text(signed_list(serials=[1001], sequence=9))
    older.write_text(signed_list(serials=[], sequence=4))
    state = tmp_path / "state" / "revocations.json"
    state.parent.mkdir()
    key = issue(make_license(serial=1001))

    def check(revocations: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "licensing_client", "--key", key, "--email", "alice@example.com", "--product", "1",
             "--keyring", str(keyring_file), "--revocations", str(revocations), "--revocations-state", str(state),
             "--now", NOW.isoformat(), "--json"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    assert json.loads(check(newer).stdout)["reason"] == "REVOKED"
    assert state.stat().st_mode & 0o777 == 0o600
    assert json.loads(check(older).stdout)["reason"] == "REVOKED"  # the old list does not un-revoke
    assert json.loads(state.read_text())["sequence"] == 9
