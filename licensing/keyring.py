"""The server's signing keyring: Ed25519 seeds and the privacy layer's secrets, encrypted at rest.

One file in the operator's home folder (e.g. `<home>/keyring.bin`) holds, under a passphrase:
the signing keys (key_id 1..255, assigned in increasing order and never reused; a 32-byte seed;
status "active", "verify-only" or "retired"; create time) and two random 32-byte secrets of the
privacy layer, `master_key` (wraps per-profile data keys) and `blind_index_key` (keys the email
look-up digest). The public side is `Keyring.public_keyring()`, the document clients load.

File format (integers big-endian):

    off  size  field
    0    8     magic       b"LICKRNG1" (the last byte is the format version)
    8    8     opslimit    Argon2id operations, u64; MODERATE..SENSITIVE
    16   8     memlimit    Argon2id memory in bytes, u64; MODERATE..SENSITIVE
    24   16    salt        random, new on every save
    40   24    nonce       random, new on every save
    64   ...   ciphertext  XChaCha20-Poly1305-IETF of the JSON plaintext, 16-byte tag included

    file key = Argon2id(passphrase, salt, opslimit, memlimit), 32 bytes
    AAD      = bytes 0..63 (everything before the ciphertext)

Because the header is the AAD and the salt feeds the key, a change to any single byte of the file
makes it fail to load. A wrong passphrase and a damaged file look the same to the cipher, so both
raise WrongPassphrase with one message. The limits are checked before any derivation, so a damaged
header cannot make us allocate gigabytes.

The plaintext is compact JSON with exactly these fields (secrets and seeds in hex, times in Unix
seconds; `last_key_id` is the highest ID ever assigned, so an ID is never handed out twice):

    {"last_key_id": 2, "master_key": "<64 hex>", "blind_index_key": "<64 hex>",
     "keys": [{"key_id": 1, "status": "verify-only", "create_time": 1761998400, "seed": "<64 hex>"},
              {"key_id": 2, "status": "active", "create_time": 1764590400, "seed": "<64 hex>"}]}

Any change to this layout is a new magic (b"LICKRNG2"); this reader refuses unknown fields, so a
save can never silently drop data it did not understand.

Argon2id MODERATE costs about 0.8 s and 256 MiB, so the file key is derived once per open and once
per save (with a fresh salt) and never kept: the object holds the passphrase, not the key.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import stat
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.signing
from licensing_client.keyring import PublicKey, PublicKeyring
from nacl.pwhash import argon2id

from .errors import (
    KeyringCorrupt,
    KeyringError,
    KeyringPermissions,
    PassphraseMissing,
    WeakPassphrase,
    WrongPassphrase,
)

__all__ = [
    "MAGIC",
    "PASSPHRASE_ENV",
    "PASSPHRASE_FILE_ENV",
    "KeyInfo",
    "Keyring",
    "read_passphrase",
]

MAGIC = b"LICKRNG1"
PASSPHRASE_ENV = "LICENSING_PASSPHRASE"
PASSPHRASE_FILE_ENV = "LICENSING_PASSPHRASE_FILE"

_HEADER = struct.Struct(">8sQQ16s24s")  # magic, opslimit, memlimit, salt, nonce
_TAG_BYTES = 16
_KEY_BYTES = 32
_SECRET_BYTES = 32
_MAX_KEY_ID = 255
_MAX_FILE_BYTES = 1 << 20  # a keyring with 255 keys is ~40 KiB; anything near this is not ours
_STATUSES = ("active", "verify-only", "retired")
_MIN_OPS, _MAX_OPS = argon2id.OPSLIMIT_MODERATE, argon2id.OPSLIMIT_SENSITIVE
_MIN_MEM, _MAX_MEM = argon2id.MEMLIMIT_MODERATE, argon2id.MEMLIMIT_SENSITIVE
_WRONG_PASSPHRASE = "cannot decrypt the keyring {path}: wrong passphrase, or the file was changed or damaged"

# (passphrase, salt, opslimit, memlimit) -> 32-byte file key
Kdf = Callable[[bytes, bytes, int, int], bytes]


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown about a signing key: never its seed."""

    key_id: int
    status: str
    create_time: dt.datetime
    public_key: bytes  # 32 raw bytes


class _SigningKey:
    __slots__ = ("create_time", "key_id", "signer", "status")

    def __init__(self, key_id: int, status: str, create_time: dt.datetime, seed: bytes) -> None:
        self.key_id = key_id
        self.status = status
        self.create_time = create_time
        self.signer = nacl.signing.SigningKey(seed)

    def __repr__(self) -> str:
        return f"<signing key {self.key_id} {self.status}>"

    def info(self) -> KeyInfo:
        return KeyInfo(self.key_id, self.status, self.create_time, self.signer.verify_key.encode())


class Keyring:
    """The signing keys and secrets of one keyring file. Use `Keyring.create` or `Keyring.open`.

    `rotate()` and `retire()` change this object only; `save()` writes the file.
    """

    __slots__ = (
        "_blind_index_key",
        "_keys",
        "_last_key_id",
        "_master_key",
        "_memlimit",
        "_opslimit",
        "_passphrase",
        "_path",
    )

    def __init__(
        self,
        path: Path,
        passphrase: bytes,
        *,
        opslimit: int,
        memlimit: int,
        keys: list[_SigningKey],
        last_key_id: int,
        master_key: bytes,
        blind_index_key: bytes,
    ) -> None:
        self._path = path
        self._passphrase = passphrase
        self._opslimit = opslimit
        self._memlimit = memlimit
        self._keys = keys
        self._last_key_id = last_key_id
        self._master_key = master_key
        self._blind_index_key = blind_index_key

    # --- the file -------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        passphrase: bytes,
        *,
        opslimit: int = argon2id.OPSLIMIT_MODERATE,
        memlimit: int = argon2id.MEMLIMIT_MODERATE,
        now: dt.datetime | None = None,
    ) -> Keyring:
        """Write a new keyring: key 1 active, fresh secrets. Refuses to overwrite any file."""
        path = Path(path)
        _check_passphrase(passphrase)
        problem = _limits_problem(opslimit, memlimit)
        if problem:
            raise KeyringError(f"cannot create a keyring with {problem}")
        if os.path.lexists(path):
            raise KeyringError(f"{path} already exists; refusing to overwrite a keyring")
        keyring = cls(
            path,
            passphrase,
            opslimit=opslimit,
            memlimit=memlimit,
            keys=[_SigningKey(1, "active", _utc_seconds(now), secrets.token_bytes(_KEY_BYTES))],
            last_key_id=1,
            master_key=secrets.token_bytes(_SECRET_BYTES),
            blind_index_key=secrets.token_bytes(_SECRET_BYTES),
        )
        keyring._write(overwrite=False)
        return keyring

    @classmethod
    def open(cls, path: str | Path, passphrase: bytes) -> Keyring:
        """Read and decrypt a keyring file (one Argon2id derivation)."""
        path = Path(path)
        _check_passphrase(passphrase)
        data = _read_private_file(path, "keyring file")
        opslimit, memlimit, plaintext = _unseal(data, passphrase, where=str(path))
        return cls._from_plaintext(path, passphrase, opslimit, memlimit, plaintext)

    def save(self) -> None:
        """Encrypt under a fresh salt and nonce and replace the file atomically (mode 0600)."""
        self._write(overwrite=True)

    def change_passphrase(self, new: bytes) -> None:
        """Re-encrypt the file under `new` at once (unsaved changes to this object are written too)."""
        _check_passphrase(new)
        old, self._passphrase = self._passphrase, new
        try:
            self.save()
        except BaseException:
            self._passphrase = old
            raise

    @property
    def path(self) -> Path:
        return self._path

    # --- signing keys ---------------------------------------------------------------------

    @property
    def keys(self) -> tuple[KeyInfo, ...]:
        """Every key, by increasing key_id, with status and public key (never the seed)."""
        return tuple(key.info() for key in self._keys)

    @property
    def active_key_id(self) -> int:
        return next(key.key_id for key in self._keys if key.status == "active")

    def generate(self, *, now: dt.datetime | None = None) -> int:
        """Add a key that verifies but does not sign yet (publish it in clients, then activate it)."""
        if self._last_key_id >= _MAX_KEY_ID:
            raise KeyringError(
                f"all key IDs 1..{_MAX_KEY_ID} have been used; this keyring cannot rotate again"
            )
        key_id = self._last_key_id + 1
        self._keys.append(
            _SigningKey(key_id, "verify-only", _utc_seconds(now), secrets.token_bytes(_KEY_BYTES))
        )
        self._last_key_id = key_id
        return key_id

    def activate(self, key_id: int) -> None:
        """Make `key_id` the signer; the previous active key becomes verify-only."""
        target = self._key(key_id)
        if target.status == "retired":
            raise KeyringError(f"key {key_id} is retired and cannot sign again")
        for key in self._keys:
            if key.status == "active":
                key.status = "verify-only"
        target.status = "active"

    def activate_newest(self, *, now: dt.datetime | None = None) -> int:
        """Activate the newest key generated after the active one, or a brand-new key if none."""
        active = self.active_key_id
        staged = [k.key_id for k in self._keys if k.status == "verify-only" and k.key_id > active]
        key_id = max(staged) if staged else self.generate(now=now)
        self.activate(key_id)
        return key_id

    def rotate(self, *, now: dt.datetime | None = None) -> int:
        """Make a new key the active one at once; the previous active key becomes verify-only.

        Programs already shipped do not know the new key yet: prefer `generate`, ship the public
        keyring, then `activate_newest`.
        """
        key_id = self.generate(now=now)
        self.activate(key_id)
        return key_id

    def retire(self, key_id: int) -> None:
        """Mark a key retired: it signs nothing more, and clients refuse what it signed."""
        key = self._key(key_id)
        if key.status == "active":
            raise KeyringError(f"key {key_id} is the active key; rotate to a new key first, then retire it")
        key.status = "retired"

    def sign(self, key_id: int, message: bytes) -> bytes:
        """A 64-byte Ed25519 signature by `key_id` (active or verify-only; never retired)."""
        if not isinstance(message, bytes):
            raise TypeError("the message to sign must be bytes")
        key = self._key(key_id)
        if key.status == "retired":
            raise KeyringError(f"key {key_id} is retired and signs nothing")
        return key.signer.sign(message).signature

    def public_keyring(self, products: Mapping[str, int] | None = None) -> PublicKeyring:
        """The public side, as clients load it (`licensing keys export-public` writes `.to_json()`)."""
        return PublicKeyring.of((PublicKey(k.key_id, k.public_key, k.status) for k in self.keys), products)

    # --- the privacy layer's secrets ------------------------------------------------------

    @property
    def master_key(self) -> bytes:
        """32 random bytes that wrap per-profile data keys."""
        return self._master_key

    @property
    def blind_index_key(self) -> bytes:
        """32 random bytes that key the email look-up digest."""
        return self._blind_index_key

    def __repr__(self) -> str:
        keys = ", ".join(f"{key.key_id} {key.status}" for key in self._keys)
        return f"<Keyring {self._path} keys: {keys}>"

    # --- internals ------------------------------------------------------------------------

    def _key(self, key_id: int) -> _SigningKey:
        for key in self._keys:
            if key.key_id == key_id:
                return key
        raise KeyringError(f"there is no key {key_id} in the keyring")

    def _write(self, *, overwrite: bool) -> None:
        data = _seal(self._to_plaintext(), self._passphrase, self._opslimit, self._memlimit)
        _write_private_file(self._path, data, overwrite=overwrite)

    def _to_plaintext(self) -> bytes:
        document = {
            "last_key_id": self._last_key_id,
            "master_key": self._master_key.hex(),
            "blind_index_key": self._blind_index_key.hex(),
            "keys": [
                {
                    "key_id": key.key_id,
                    "status": key.status,
                    "create_time": int(key.create_time.timestamp()),
                    "seed": key.signer.encode().hex(),
                }
                for key in self._keys
            ],
        }
        return json.dumps(document, separators=(",", ":")).encode("ascii")

    @classmethod
    def _from_plaintext(
        cls, path: Path, passphrase: bytes, opslimit: int, memlimit: int, plaintext: bytes
    ) -> Keyring:
        def corrupt(detail: str) -> KeyringCorrupt:
            return KeyringCorrupt(f"the keyring {path} decrypted, but its contents are not valid: {detail}")

        try:
            document = json.loads(plaintext)
        except (ValueError, UnicodeDecodeError) as exc:
            raise corrupt("not a JSON document") from exc
        fields = {"last_key_id", "master_key", "blind_index_key", "keys"}
        if not isinstance(document, dict) or set(document) != fields:
            raise corrupt(f"expected exactly the fields {', '.join(sorted(fields))}")
        master_key = _hex_field(document, "master_key", _SECRET_BYTES, corrupt)
        blind_index_key = _hex_field(document, "blind_index_key", _SECRET_BYTES, corrupt)
        entries = document["keys"]
        if not isinstance(entries, list) or not entries:
            raise corrupt("keys must be a non-empty list")
        keys: list[_SigningKey] = []
        for entry in entries:
            if not isinstance(entry, dict) or set(entry) != {"key_id", "status", "create_time", "seed"}:
                raise corrupt("each key has exactly key_id, status, create_time and seed")
            key_id, status, created = entry["key_id"], entry["status"], entry["create_time"]
            if not _is_int(key_id) or not 1 <= key_id <= _MAX_KEY_ID:
                raise corrupt(f"key_id {key_id!r} is not 1..{_MAX_KEY_ID}")
            if keys and key_id <= keys[-1].key_id:
                raise corrupt("key IDs must be unique and in increasing order")
            if status not in _STATUSES:
                raise corrupt(f"key {key_id} has unknown status {status!r}")
            if not _is_int(created) or created < 0:
                raise corrupt(f"key {key_id} has no valid create_time")
            try:
                create_time = dt.datetime.fromtimestamp(created, dt.UTC)
            except (OverflowError, OSError, ValueError) as exc:
                raise corrupt(f"key {key_id} has a create_time out of range") from exc
            seed = _hex_field(entry, "seed", _KEY_BYTES, corrupt)
            keys.append(_SigningKey(key_id, status, create_time, seed))
        if sum(key.status == "active" for key in keys) != 1:
            raise corrupt("exactly one key must be active")
        last_key_id = document["last_key_id"]
        if not _is_int(last_key_id) or not keys[-1].key_id <= last_key_id <= _MAX_KEY_ID:
            raise corrupt("last_key_id is below a key's ID or above 255")
        return cls(
            path,
            passphrase,
            opslimit=opslimit,
            memlimit=memlimit,
            keys=keys,
            last_key_id=last_key_id,
            master_key=master_key,
            blind_index_key=blind_index_key,
        )


MIN_PASSPHRASE_LENGTH = 16
_MIN_DISTINCT = 8


def check_passphrase_strength(passphrase: bytes) -> None:
    """Refuse a passphrase a copy of the keyring file could be opened with by guessing.

    A stolen keyring.bin can be attacked offline at Argon2id's pace, so the passphrase must be
    long and not a repeated pattern: 16 characters and 8 different ones at least (four random
    words pass, `aaaaaaaaaaaaaaaa` and `abcabcabcabcabca` do not). `init --dev` makes a random
    one instead.
    """
    text = passphrase.decode("utf-8", "replace")
    if len(text) < MIN_PASSPHRASE_LENGTH or len(set(text)) < _MIN_DISTINCT:
        raise WeakPassphrase(
            f"the keyring passphrase is too weak to resist a guess: use at least {MIN_PASSPHRASE_LENGTH} "
            f"characters with at least {_MIN_DISTINCT} different ones (four random words, say), or "
            "`licensing init --dev` for a development home with a random one"
        )


def read_passphrase(environ: Mapping[str, str]) -> bytes:
    """The keyring passphrase from LICENSING_PASSPHRASE, else from the file LICENSING_PASSPHRASE_FILE.

    The file's trailing line ending is removed; the file must be private (chmod 600). Pass
    `os.environ`; the value's original bytes are kept (os.fsencode).
    """
    value = environ.get(PASSPHRASE_ENV)
    if value is not None:
        if not value:
            raise PassphraseMissing(f"{PASSPHRASE_ENV} is set but empty; set it to the keyring passphrase")
        return os.fsencode(value)
    file_name = environ.get(PASSPHRASE_FILE_ENV)
    if not file_name:
        raise PassphraseMissing(
            f"no keyring passphrase: set {PASSPHRASE_ENV} to the passphrase, or {PASSPHRASE_FILE_ENV} "
            "to a file (mode 600) that contains it"
        )
    passphrase = _read_private_file(Path(file_name), f"passphrase file (named by {PASSPHRASE_FILE_ENV})")
    if passphrase.endswith(b"\n"):
        passphrase = passphrase[:-2] if passphrase.endswith(b"\r\n") else passphrase[:-1]
    if not passphrase:
        raise PassphraseMissing(f"the passphrase file {file_name} (named by {PASSPHRASE_FILE_ENV}) is empty")
    return passphrase


# --- the sealed file: pure functions of bytes ---------------------------------------------------


def _derive_key(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    try:
        return bytes(argon2id.kdf(_KEY_BYTES, passphrase, salt, opslimit=opslimit, memlimit=memlimit))
    except (MemoryError, nacl.exceptions.RuntimeError) as exc:
        raise KeyringError(
            f"cannot derive the keyring key: Argon2id needs {memlimit >> 20} MiB of memory"
        ) from exc


def _seal(plaintext: bytes, passphrase: bytes, opslimit: int, memlimit: int, kdf: Kdf = _derive_key) -> bytes:
    salt = secrets.token_bytes(argon2id.SALTBYTES)
    nonce = secrets.token_bytes(nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    header = _HEADER.pack(MAGIC, opslimit, memlimit, salt, nonce)
    key = kdf(passphrase, salt, opslimit, memlimit)
    return header + nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, header, nonce, key)


def _unseal(
    data: bytes, passphrase: bytes, kdf: Kdf = _derive_key, *, where: str = "file"
) -> tuple[int, int, bytes]:
    """(opslimit, memlimit, plaintext) of a sealed keyring; header checks come before any derivation."""
    version = data[len(MAGIC) - 1 : len(MAGIC)]
    if data[: len(MAGIC) - 1] == MAGIC[:-1] and version.isdigit() and version != MAGIC[-1:]:
        raise KeyringCorrupt(
            f"the keyring {where} has format version {version.decode()}; this program reads only version 1"
        )
    if data[: len(MAGIC)] != MAGIC:
        raise KeyringCorrupt(f"{where} is not a keyring file (it does not start with {MAGIC.decode()})")
    if len(data) < _HEADER.size + _TAG_BYTES:
        raise KeyringCorrupt(f"the keyring {where} is too short: it was truncated")
    _, opslimit, memlimit, salt, nonce = _HEADER.unpack_from(data)
    problem = _limits_problem(opslimit, memlimit)
    if problem:
        raise KeyringCorrupt(f"the header of the keyring {where} asks for {problem}: the file is damaged")
    key = kdf(passphrase, salt, opslimit, memlimit)
    header, ciphertext = data[: _HEADER.size], data[_HEADER.size :]
    try:
        plaintext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, header, nonce, key)
    except nacl.exceptions.CryptoError as exc:
        raise WrongPassphrase(_WRONG_PASSPHRASE.format(path=where)) from exc
    return opslimit, memlimit, plaintext


def _limits_problem(opslimit: int, memlimit: int) -> str | None:
    if not _is_int(opslimit) or not _MIN_OPS <= opslimit <= _MAX_OPS:
        return f"Argon2id opslimit {opslimit}, outside MODERATE..SENSITIVE ({_MIN_OPS}..{_MAX_OPS})"
    if not _is_int(memlimit) or not _MIN_MEM <= memlimit <= _MAX_MEM:
        return (
            f"Argon2id memlimit {memlimit} bytes, outside MODERATE..SENSITIVE "
            f"({_MIN_MEM >> 20}..{_MAX_MEM >> 20} MiB)"
        )
    return None


# --- files with private material -----------------------------------------------------------------


def _read_private_file(path: Path, what: str) -> bytes:
    """The bytes of a regular file that only its owner may access (mode checked on the open file)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise KeyringError(f"cannot read the {what} {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise KeyringError(f"the {what} {path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise KeyringPermissions(
                f"the {what} {path} has mode {mode:04o}, so group or others can access it; "
                f"it holds secrets: run `chmod 600 {path}`"
            )
        try:
            data = handle.read(_MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise KeyringError(f"cannot read the {what} {path}: {exc.strerror}") from exc
    if len(data) > _MAX_FILE_BYTES:
        raise KeyringCorrupt(f"the {what} {path} is larger than {_MAX_FILE_BYTES >> 20} MiB; it is not ours")
    return data


def _write_private_file(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write `data` to `path` atomically with mode 0600: temp file, fsync, rename, fsync folder.

    Without `overwrite`, the temp file is hard-linked into place, which fails if `path` exists.
    """
    folder = path.parent
    temp = folder / f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            os.fchmod(fd, 0o600)  # exactly 0600, whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if overwrite:
            os.replace(temp, path)
        else:
            os.link(temp, path)
            os.unlink(temp)
        folder_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)
    except FileExistsError as exc:
        raise KeyringError(f"{path} already exists; refusing to overwrite a keyring") from exc
    except OSError as exc:
        raise KeyringError(f"cannot write the keyring file {path}: {exc.strerror}") from exc
    finally:
        if os.path.lexists(temp):
            os.unlink(temp)


# --- small checks ---------------------------------------------------------------------------------


def _check_passphrase(passphrase: bytes) -> None:
    if not isinstance(passphrase, bytes):
        raise TypeError("the passphrase must be bytes")
    if not passphrase:
        raise PassphraseMissing("the keyring passphrase is empty; an empty passphrase is not allowed")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _hex_field(
    document: dict[str, Any], name: str, size: int, corrupt: Callable[[str], KeyringCorrupt]
) -> bytes:
    value = document[name]
    try:
        raw = bytes.fromhex(value)
    except (TypeError, ValueError) as exc:
        raise corrupt(f"{name} is not hex") from exc
    if len(raw) != size:
        raise corrupt(f"{name} is not {size} bytes")
    return raw


def _utc_seconds(now: dt.datetime | None) -> dt.datetime:
    """`now` (default: the current time) in UTC, to whole seconds, as the file stores it."""
    if now is None:
        now = dt.datetime.now(dt.UTC)
    elif now.tzinfo is None:
        raise ValueError("a time needs a time zone (use UTC)")
    return now.astimezone(dt.UTC).replace(microsecond=0)
