"""Key rotation: old orders keep the key they were issued with; new keys carry the new key ID."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from harness import running_server
from homes import TEST_PASSPHRASE, make_settings
from licensing_client import LicenseError, PublicKeyring, Reason, validate

from licensing._proto.licensing.v1 import validation_pb2
from licensing.keyring import Keyring

NOW = dt.datetime.now(dt.UTC)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_reissue_after_rotation_returns_the_original_key(
    kind: str, tmp_path: Path, keyring_path: Path
) -> None:
    settings, names = make_settings(kind, tmp_path / "home", keyring_path)
    try:
        before = Keyring.open(settings.keyring_path, TEST_PASSPHRASE)
        with running_server(settings, before) as server:
            old = server.issue("loyal@example.com", "ROT-1").license
        assert old.key_id == before.active_key_id

        rotated = Keyring.open(settings.keyring_path, TEST_PASSPHRASE)
        new_key_id = rotated.rotate()
        rotated.save()
        with running_server(settings, rotated) as server:
            again = server.issue("loyal@example.com", "ROT-1")
            fresh = server.issue("newcomer@example.com", "ROT-2").license
            document = server.validation.ListSigningKeys(
                validation_pb2.ListSigningKeysRequest(), metadata=server.auth()
            )
        assert not again.created and again.license.license_key == old.license_key
        assert fresh.key_id == new_key_id != old.key_id

        keyring = PublicKeyring.from_json(document.keyring_document)
        assert validate(old.license_key, "loyal@example.com", 1, keyring, NOW).key_id == old.key_id
        assert validate(fresh.license_key, "newcomer@example.com", 1, keyring, NOW).key_id == new_key_id

        rotated.retire(old.key_id)
        retired = PublicKeyring.from_json(rotated.public_keyring().to_json())
        with pytest.raises(LicenseError) as refused:
            validate(old.license_key, "loyal@example.com", 1, retired, NOW)
        assert refused.value.reason is Reason.KEY_RETIRED
    finally:
        import pg

        for name in names:
            pg.drop_database(name)
        shutil.rmtree(tmp_path / "home", ignore_errors=True)
