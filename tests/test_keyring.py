"""The encrypted signing keyring: its file, its keys, its secrets, and the passphrase helper.

Every open or save runs Argon2id MODERATE (~0.8 s, 256 MiB), so one keyring file is created per
module and copied where a test needs its own. The byte-flip test flips every byte of that file;
it derives through the real KDF, memoized on (passphrase, salt, limits) because the KDF is
deterministic: a flip in the nonce or ciphertext reuses the file's key, while each flip of the
salt or of an in-range limit costs a real derivation (two run at a time).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nacl.signing
import pytest
from licensing_client import PublicKeyring
from nacl.pwhash import argon2id

from licensing.errors import (
    KeyringCorrupt,
    KeyringError,
    KeyringPermissions,
    LicensingError,
    PassphraseMissing,
    WrongPassphrase,
)
from licensing.keyring import MAGIC, Keyring, _derive_key, _unseal, read_passphrase

PASSPHRASE = b"correct horse battery staple"
CREATED = dt.datetime(2025, 11, 1, 12, 0, 0, tzinfo=dt.UTC)
HEADER_BYTES = 64
SALT = range(24, 40)


@pytest.fixture(scope="module")
def created(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    """A keyring created once for the module; tests must not change it or its file."""
    return Keyring.create(tmp_path_factory.mktemp("home") / "keyring.bin", PASSPHRASE, now=CREATED)


@pytest.fixture
def fresh(created: Keyring, tmp_path: Path) -> Keyring:
    """A copy of the module's keyring, not yet saved to its own path, for a test to change.

    Built from the decrypted contents rather than by `open`, which would cost one more derivation.
    """
    return Keyring._from_plaintext(
        tmp_path / "keyring.bin",
        PASSPHRASE,
        argon2id.OPSLIMIT_MODERATE,
        argon2id.MEMLIMIT_MODERATE,
        created._to_plaintext(),
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _write_private(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1 :]


# --- the file ----------------------------------------------------------------------------------


def test_create_then_open_round_trips(created: Keyring) -> None:
    opened = Keyring.open(created.path, PASSPHRASE)
    assert opened.keys == created.keys
    assert opened.active_key_id == 1
    assert opened.keys[0].create_time == CREATED
    assert opened.master_key == created.master_key
    assert opened.blind_index_key == created.blind_index_key


def test_file_layout_and_mode_after_create(created: Keyring) -> None:
    data = created.path.read_bytes()
    magic, opslimit, memlimit = struct.unpack_from(">8sQQ", data)
    assert (magic, opslimit, memlimit) == (MAGIC, argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE)
    assert _mode(created.path) == 0o600
    assert os.listdir(created.path.parent) == ["keyring.bin"]


def test_wrong_passphrase_is_refused(created: Keyring) -> None:
    with pytest.raises(WrongPassphrase, match="wrong passphrase, or the file was changed or damaged") as info:
        Keyring.open(created.path, b"incorrect horse")
    assert info.value.__cause__ is not None


def test_every_single_flipped_byte_fails_to_load(created: Keyring) -> None:
    data = created.path.read_bytes()
    memo: dict[tuple[bytes, bytes, int, int], bytes] = {}
    lock = threading.Lock()

    def kdf(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
        args = (passphrase, salt, opslimit, memlimit)
        with lock:
            key = memo.get(args)
        if key is None:
            key = _derive_key(*args)
            with lock:
                memo[args] = key
        return key

    assert _unseal(data, PASSPHRASE, kdf)[2]  # the untouched file loads (and its key is memoized)

    def outcome(position: int) -> type[KeyringError] | None:
        try:
            _unseal(_flip(data, position), PASSPHRASE, kdf)
        except KeyringError as exc:
            return type(exc)
        return None

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(outcome, range(len(data))))

    assert [p for p, o in enumerate(outcomes) if o is None] == []

    def limits_in_range(flipped: bytes) -> bool:
        opslimit: int
        memlimit: int
        opslimit, memlimit = struct.unpack_from(">QQ", flipped, 8)
        return (
            argon2id.OPSLIMIT_MODERATE <= opslimit <= argon2id.OPSLIMIT_SENSITIVE
            and argon2id.MEMLIMIT_MODERATE <= memlimit <= argon2id.MEMLIMIT_SENSITIVE
        )

    # magic and out-of-range limits are refused before the KDF; anything else by the AEAD
    expected = [
        WrongPassphrase if p >= len(MAGIC) and limits_in_range(_flip(data, p)) else KeyringCorrupt
        for p in range(len(data))
    ]
    assert outcomes == expected
    assert expected[:16] == [KeyringCorrupt] * 16 and expected[24:] == [WrongPassphrase] * (len(data) - 24)
    # each salt flip was a real derivation with another salt
    assert {salt for _, salt, _, _ in memo} >= {_flip(data, p)[24:40] for p in SALT}


@pytest.mark.parametrize("position", [0, 7, 15, 20, -1])
def test_flipped_file_fails_to_open(created: Keyring, tmp_path: Path, position: int) -> None:
    """The same through Keyring.open, for a byte of each region."""
    data = created.path.read_bytes()
    path = _write_private(tmp_path / "keyring.bin", _flip(data, position % len(data)))
    with pytest.raises(KeyringError):
        Keyring.open(path, PASSPHRASE)


def _handcrafted(opslimit: int, memlimit: int, magic: bytes = MAGIC) -> bytes:
    return struct.pack(">8sQQ16s24s", magic, opslimit, memlimit, bytes(16), bytes(24)) + bytes(48)


@pytest.mark.parametrize(
    ("opslimit", "memlimit", "named"),
    [
        (argon2id.OPSLIMIT_MODERATE - 1, argon2id.MEMLIMIT_MODERATE, "opslimit"),
        (argon2id.OPSLIMIT_MIN, argon2id.MEMLIMIT_MIN, "opslimit"),
        (argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE - 1024, "memlimit"),
        (argon2id.OPSLIMIT_SENSITIVE + 1, argon2id.MEMLIMIT_MODERATE, "opslimit"),
        (argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_SENSITIVE + 1024, "memlimit"),
        (argon2id.OPSLIMIT_MODERATE, 2**64 - 1, "memlimit"),  # must not try to allocate it
    ],
)
def test_header_limits_out_of_range_are_refused(
    tmp_path: Path, opslimit: int, memlimit: int, named: str
) -> None:
    path = _write_private(tmp_path / "keyring.bin", _handcrafted(opslimit, memlimit))
    with pytest.raises(KeyringCorrupt, match=f"{named} {opslimit if named == 'opslimit' else memlimit}"):
        Keyring.open(path, PASSPHRASE)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a keyring file"),
        (b"PK\x03\x04" + bytes(100), "not a keyring file"),
        (_handcrafted(3, 2**28, magic=b"LICKRNG2"), "format version 2; this program reads only version 1"),
        (_handcrafted(3, 2**28, magic=b"LICKRNG\xce"), "not a keyring file"),
        (MAGIC + bytes(40), "truncated"),
        (_handcrafted(3, 2**28)[: HEADER_BYTES + 15], "truncated"),
    ],
)
def test_not_a_keyring_is_refused_with_its_own_message(tmp_path: Path, data: bytes, message: str) -> None:
    path = _write_private(tmp_path / "keyring.bin", data)
    with pytest.raises(KeyringCorrupt, match=message):
        Keyring.open(path, PASSPHRASE)


@pytest.mark.parametrize(
    "plaintext",
    [
        b"not json",
        b"[]",
        b'{"keys": []}',
        pytest.param("two-active", id="two-active"),
        pytest.param("short-seed", id="short-seed"),
        pytest.param("unknown-field", id="unknown-field"),
        pytest.param("id-reused", id="id-reused"),
    ],
)
def test_decrypted_contents_are_checked(created: Keyring, plaintext: bytes | str) -> None:
    good = json.loads(created._to_plaintext())
    key = good["keys"][0]
    changes = {
        "two-active": {**good, "keys": [key, {**key, "key_id": 2}], "last_key_id": 2},
        "short-seed": {**good, "keys": [{**key, "seed": key["seed"][:-2]}]},
        "unknown-field": {**good, "comment": "added by a newer program"},
        "id-reused": {**good, "keys": [{**key, "status": "retired"}, {**key, "key_id": 1}]},
    }
    raw = json.dumps(changes[plaintext]).encode() if isinstance(plaintext, str) else plaintext
    with pytest.raises(KeyringCorrupt):
        Keyring._from_plaintext(created.path, PASSPHRASE, 3, 2**28, raw)


def test_create_refuses_weak_limits_and_existing_files(created: Keyring, tmp_path: Path) -> None:
    path = tmp_path / "keyring.bin"
    with pytest.raises(KeyringError, match="opslimit"):
        Keyring.create(path, PASSPHRASE, opslimit=argon2id.OPSLIMIT_INTERACTIVE)
    with pytest.raises(KeyringError, match="memlimit"):
        Keyring.create(path, PASSPHRASE, memlimit=argon2id.MEMLIMIT_INTERACTIVE)
    assert not path.exists()
    before = created.path.read_bytes()
    with pytest.raises(KeyringError, match="already exists"):
        Keyring.create(created.path, PASSPHRASE)
    assert created.path.read_bytes() == before
    with pytest.raises(PassphraseMissing):
        Keyring.create(path, b"")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_file_open_to_group_or_others_is_refused(created: Keyring, tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keyring.bin"
    shutil.copy(created.path, path)
    path.chmod(mode)
    with pytest.raises(KeyringPermissions, match="chmod 600"):
        Keyring.open(path, PASSPHRASE)


def test_missing_file_is_a_keyring_error(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="cannot read"):
        Keyring.open(tmp_path / "nothing.bin", PASSPHRASE)


def test_errors_belong_to_the_project_hierarchy() -> None:
    for error in (WrongPassphrase, KeyringCorrupt, KeyringPermissions, PassphraseMissing):
        assert issubclass(error, KeyringError)
    assert issubclass(KeyringError, LicensingError)


# --- keys ----------------------------------------------------------------------------------------


def test_sign_verifies_with_the_public_key(created: Keyring) -> None:
    signature = created.sign(1, b"message")
    assert len(signature) == 64
    public_key = created.keys[0].public_key
    assert nacl.signing.VerifyKey(public_key).verify(b"message", signature) == b"message"
    with pytest.raises(KeyringError, match="no key 9"):
        created.sign(9, b"message")


def test_rotate_retire_save_and_reopen(fresh: Keyring) -> None:
    old_signature = fresh.sign(1, b"order 1")

    assert fresh.rotate(now=CREATED + dt.timedelta(days=30)) == 2
    assert fresh.active_key_id == 2
    assert [(k.key_id, k.status) for k in fresh.keys] == [(1, "verify-only"), (2, "active")]
    public = {k.key_id: nacl.signing.VerifyKey(k.public_key) for k in fresh.keys}
    public[1].verify(b"order 1", old_signature)  # made before the rotation, still verifies
    public[1].verify(b"order 1", fresh.sign(1, b"order 1"))  # an old order's key, asked for by ID
    public[2].verify(b"new", fresh.sign(2, b"new"))
    assert public[1].encode() != public[2].encode()

    with pytest.raises(KeyringError, match="active key"):
        fresh.retire(2)
    fresh.retire(1)
    with pytest.raises(KeyringError, match="retired"):
        fresh.sign(1, b"order 1")
    assert fresh.rotate() == 3
    assert [(k.key_id, k.status) for k in fresh.keys] == [(1, "retired"), (2, "verify-only"), (3, "active")]

    fresh.save()
    assert _mode(fresh.path) == 0o600
    assert os.listdir(fresh.path.parent) == ["keyring.bin"]  # no temp file left behind
    reopened = Keyring.open(fresh.path, PASSPHRASE)
    assert reopened.keys == fresh.keys
    assert reopened.keys[1].create_time == CREATED + dt.timedelta(days=30)
    assert (reopened.master_key, reopened.blind_index_key) == (fresh.master_key, fresh.blind_index_key)
    public[2].verify(b"again", reopened.sign(2, b"again"))

    client = PublicKeyring.from_json(reopened.public_keyring().to_json())
    assert client.keys[1].retired
    assert [client.keys[i].status for i in (1, 2, 3)] == ["retired", "verify-only", "active"]


def test_two_step_rotation_publishes_a_key_before_it_signs(fresh: Keyring) -> None:
    staged = fresh.generate()
    assert staged == 2 and fresh.active_key_id == 1
    assert PublicKeyring.from_json(fresh.public_keyring().to_json()).keys[2].status == "verify-only"
    assert fresh.activate_newest() == 2
    assert [(k.key_id, k.status) for k in fresh.keys] == [(1, "verify-only"), (2, "active")]
    assert fresh.activate_newest() == 3  # nothing staged: a new key is made and activated
    fresh.retire(1)
    with pytest.raises(KeyringError, match="retired"):
        fresh.activate(1)


def test_key_ids_run_out_at_255(fresh: Keyring) -> None:
    ids = [fresh.rotate() for _ in range(254)]
    assert ids == list(range(2, 256))
    with pytest.raises(KeyringError, match=r"1\.\.255 have been used"):
        fresh.rotate()
    assert fresh.active_key_id == 255


def test_public_keyring_loads_in_the_client(created: Keyring) -> None:
    document = created.public_keyring({"photo-pro": 1}).to_json()
    client = PublicKeyring.from_json(document)
    assert client.products == {"photo-pro": 1}
    assert client.keys[1].public_key == created.keys[0].public_key
    assert client.keys[1].status == "active"
    assert "seed" not in document


def test_secrets_are_random_read_only_and_never_shown(created: Keyring) -> None:
    assert len(created.master_key) == len(created.blind_index_key) == 32
    assert created.master_key != created.blind_index_key
    with pytest.raises(AttributeError):
        created.master_key = bytes(32)  # type: ignore[misc]
    seed = created._keys[0].signer.encode()
    shown = repr(created) + str(created) + repr(created.keys) + repr(created._keys)
    for secret in (created.master_key, created.blind_index_key, seed, PASSPHRASE):
        assert secret.hex() not in shown
        assert repr(secret)[2:-1] not in shown
    assert "keys: 1 active" in repr(created)


def test_change_passphrase(fresh: Keyring) -> None:
    fresh.change_passphrase(b"a new passphrase")
    reopened = Keyring.open(fresh.path, b"a new passphrase")
    assert reopened.keys == fresh.keys and reopened.master_key == fresh.master_key
    with pytest.raises(WrongPassphrase):
        Keyring.open(fresh.path, PASSPHRASE)
    with pytest.raises(PassphraseMissing):
        fresh.change_passphrase(b"")


# --- the passphrase helper -----------------------------------------------------------------------


def _secret_file(tmp_path: Path, content: bytes, mode: int = 0o600) -> str:
    path = tmp_path / "passphrase"
    path.write_bytes(content)
    path.chmod(mode)
    return str(path)


def test_passphrase_from_the_environment() -> None:
    assert read_passphrase({"LICENSING_PASSPHRASE": "s3cret"}) == b"s3cret"
    assert read_passphrase({"LICENSING_PASSPHRASE": "pässwörd"}) == "pässwörd".encode()


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"s3cret\n", b"s3cret"), (b"s3cret\r\n", b"s3cret"), (b"s3cret", b"s3cret"), (b" two\n\n", b" two\n")],
)
def test_passphrase_from_a_file(tmp_path: Path, content: bytes, expected: bytes) -> None:
    assert read_passphrase({"LICENSING_PASSPHRASE_FILE": _secret_file(tmp_path, content)}) == expected


def test_passphrase_variable_wins_over_file(tmp_path: Path) -> None:
    environ = {"LICENSING_PASSPHRASE": "env", "LICENSING_PASSPHRASE_FILE": _secret_file(tmp_path, b"file\n")}
    assert read_passphrase(environ) == b"env"


def test_passphrase_file_open_to_others_is_refused(tmp_path: Path) -> None:
    name = _secret_file(tmp_path, b"s3cret\n", mode=0o644)
    with pytest.raises(KeyringPermissions, match="chmod 600"):
        read_passphrase({"LICENSING_PASSPHRASE_FILE": name})


def test_no_passphrase_names_both_variables() -> None:
    with pytest.raises(PassphraseMissing) as info:
        read_passphrase({})
    assert "LICENSING_PASSPHRASE " in info.value.message
    assert "LICENSING_PASSPHRASE_FILE" in info.value.message


def test_empty_passphrases_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PassphraseMissing, match="empty"):
        read_passphrase({"LICENSING_PASSPHRASE": ""})
    with pytest.raises(PassphraseMissing, match="empty"):
        read_passphrase({"LICENSING_PASSPHRASE_FILE": _secret_file(tmp_path, b"\n")})
    with pytest.raises(KeyringError, match="cannot read"):
        read_passphrase({"LICENSING_PASSPHRASE_FILE": str(tmp_path / "missing")})
