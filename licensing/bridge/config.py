"""The bridge's configuration: one TOML file, plus secrets named by environment variable.

The file says where to listen, which gRPC server to call, and, per provider, which provider
product code is which of our products. It never holds a secret: it names the environment
variables that do (`secret_env = "TWOCHECKOUT_SECRET"`), so the file can be committed and
reviewed. The issuer token always comes from LICENSING_ISSUER_TOKEN.

    listen = "127.0.0.1:8080"
    server = "127.0.0.1:50051"

    [twocheckout]
    secret_env = "TWOCHECKOUT_SECRET"
    [twocheckout.products.PHOTO-PRO-1Y]
    product = "photo-pro"
    seats_per_unit = 1
    expire_days = 365

A provider section that is absent leaves that provider's routes answering 404.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..addresses import is_loopback
from ..errors import ConfigurationError

__all__ = [
    "CONFIG_ENV",
    "TOKEN_ENV",
    "BridgeConfig",
    "FastSpringConfig",
    "PaddleConfig",
    "ProductMapping",
    "TwoCheckoutConfig",
    "load_config",
    "parse_config",
]

CONFIG_ENV = "LICENSING_BRIDGE_CONFIG"
TOKEN_ENV = "LICENSING_ISSUER_TOKEN"

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_KEYS_PER_LINE = 1000


@dataclass(frozen=True)
class ProductMapping:
    """What one provider product code becomes: our product, and the terms of its key(s).

    `key_per_unit` gives one single-seat key per unit bought; otherwise one key whose seats
    are quantity × seats_per_unit. Expiry and updates are counted in days from the order date.
    """

    product: str
    seats_per_unit: int = 1
    key_per_unit: bool = False
    expire_days: int | None = None
    updates_days: int | None = None
    edition: int = 0
    feature_flags: int = 0

    def expire_date(self, order_date: dt.date) -> dt.date | None:
        return None if self.expire_days is None else order_date + dt.timedelta(days=self.expire_days)

    def updates_date(self, order_date: dt.date) -> dt.date | None:
        return None if self.updates_days is None else order_date + dt.timedelta(days=self.updates_days)


@dataclass(frozen=True)
class TwoCheckoutConfig:
    secrets: tuple[bytes, ...]
    products: Mapping[str, ProductMapping]
    allow_md5: bool = False
    keygen_require_signature: bool = True
    lcn_order_field: str = "REFNO"
    sandbox: bool = False


@dataclass(frozen=True)
class FastSpringConfig:
    products: Mapping[str, ProductMapping]
    license_secrets: tuple[bytes, ...] = ()
    webhook_secrets: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class PaddleConfig:
    products: Mapping[str, ProductMapping]
    webhook_secrets: tuple[bytes, ...] = ()
    tolerance_seconds: int = 60
    api_key: str | None = None
    api_base: str = "https://api.paddle.com"
    classic_public_key_pem: bytes | None = None
    sandbox: bool = False


@dataclass(frozen=True)
class BridgeConfig:
    listen: str
    server: str
    token: str
    server_ca: bytes | None = None
    client_cert: bytes | None = None
    client_key: bytes | None = None
    listen_cert_file: Path | None = None
    listen_key_file: Path | None = None
    deadline_seconds: float = 10.0
    max_keys_per_line: int = 100
    twocheckout: TwoCheckoutConfig | None = None
    fastspring: FastSpringConfig | None = None
    paddle: PaddleConfig | None = None
    # Secret values the log filter must never let through (tokens, provider secrets).
    secret_values: tuple[str, ...] = field(default=(), repr=False)

    def product_codes(self) -> dict[str, str]:
        """Where each of our product codes is named (`twocheckout.products.X.product`) → the code."""
        named: dict[str, str] = {}
        for section, provider in (
            ("twocheckout", self.twocheckout),
            ("fastspring", self.fastspring),
            ("paddle", self.paddle),
        ):
            for code, mapping in (provider.products if provider is not None else {}).items():
                named[f"{section}.products.{code}.product"] = mapping.product
        return named

    def __repr__(self) -> str:  # the token and secrets never reach a traceback or a log line
        return f"BridgeConfig(listen={self.listen!r}, server={self.server!r})"


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> BridgeConfig:
    """Read the file named by `path` or LICENSING_BRIDGE_CONFIG, and the secrets it names."""
    env = os.environ if environ is None else environ
    chosen = path or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
    if chosen is None:
        raise ConfigurationError(f"name the bridge configuration file with --config or {CONFIG_ENV}")
    try:
        document = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read the bridge configuration {chosen}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{chosen} is not valid TOML: {exc}") from exc
    return parse_config(document, env, base=chosen.parent)


def parse_config(
    document: Mapping[str, Any], environ: Mapping[str, str], base: Path = Path(".")
) -> BridgeConfig:
    reader = _Reader(document, "", environ, base)
    token = environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigurationError(f"set {TOKEN_ENV} to an API token with the issuer role")
    reader.refuse_secrets()
    tls = reader.table("server_tls")
    listen_tls = reader.table("listen_tls")
    config = BridgeConfig(
        listen=reader.string("listen", "127.0.0.1:8080"),
        server=reader.string("server", "127.0.0.1:50051"),
        token=token,
        server_ca=tls.file("ca_file") if tls else None,
        client_cert=tls.file("cert_file") if tls else None,
        client_key=tls.file("key_file") if tls else None,
        listen_cert_file=listen_tls.path("cert_file") if listen_tls else None,
        listen_key_file=listen_tls.path("key_file") if listen_tls else None,
        deadline_seconds=reader.number("deadline_seconds", 10.0, low=0.5, high=120),
        max_keys_per_line=int(reader.number("max_keys_per_line", 100, low=1, high=_MAX_KEYS_PER_LINE)),
        twocheckout=_twocheckout(reader.table("twocheckout")),
        fastspring=_fastspring(reader.table("fastspring")),
        paddle=_paddle(reader.table("paddle")),
        secret_values=(token, *reader.secrets_seen),
    )
    if (config.client_cert is None) != (config.client_key is None):
        raise ConfigurationError("server_tls: cert_file and key_file go together")
    if config.client_cert is not None and config.server_ca is None:
        raise ConfigurationError("server_tls: a client certificate needs ca_file too")
    if (config.listen_cert_file is None) != (config.listen_key_file is None):
        raise ConfigurationError("listen_tls: cert_file and key_file go together")
    if config.server_ca is None and not is_loopback(config.server):
        raise ConfigurationError(
            f"server {config.server} is not on this machine: set server_tls.ca_file, so that the "
            "issuer token never crosses the network in plain text"
        )
    reader.refuse_unknown()
    return config


def _twocheckout(reader: _Reader | None) -> TwoCheckoutConfig | None:
    if reader is None:
        return None
    result = TwoCheckoutConfig(
        secrets=reader.secrets("secret_env", required=True),
        products=reader.products(),
        allow_md5=reader.boolean("allow_md5", False),
        keygen_require_signature=reader.boolean("keygen_require_signature", True),
        lcn_order_field=reader.string("lcn_order_field", "REFNO"),
        sandbox=reader.boolean("sandbox", False),
    )
    reader.refuse_unknown()
    return result


def _fastspring(reader: _Reader | None) -> FastSpringConfig | None:
    if reader is None:
        return None
    result = FastSpringConfig(
        products=reader.products(),
        license_secrets=reader.secrets("license_secret_env"),
        webhook_secrets=reader.secrets("webhook_secret_env"),
    )
    if not result.license_secrets and not result.webhook_secrets:
        raise ConfigurationError("fastspring: set license_secret_env, webhook_secret_env or both")
    reader.refuse_unknown()
    return result


def _paddle(reader: _Reader | None) -> PaddleConfig | None:
    if reader is None:
        return None
    api_keys = reader.secrets("api_key_env")
    result = PaddleConfig(
        products=reader.products(),
        webhook_secrets=reader.secrets("webhook_secret_env"),
        tolerance_seconds=int(reader.number("tolerance_seconds", 60, low=5, high=3600)),
        api_key=api_keys[0].decode() if api_keys else None,
        api_base=reader.string("api_base", "https://api.paddle.com").rstrip("/"),
        classic_public_key_pem=reader.file("classic_public_key_file"),
        sandbox=reader.boolean("sandbox", False),
    )
    if not result.webhook_secrets and result.classic_public_key_pem is None:
        raise ConfigurationError("paddle: set webhook_secret_env, classic_public_key_file or both")
    if result.webhook_secrets and result.api_key is None:
        raise ConfigurationError(
            "paddle: Paddle Billing webhooks carry no email address; set api_key_env so the bridge can read it"
        )
    reader.refuse_unknown()
    return result


class _Reader:
    """Typed reads from one table, each error naming the key; unknown keys are refused."""

    def __init__(self, table: Mapping[str, Any], prefix: str, environ: Mapping[str, str], base: Path) -> None:
        self.values = table
        self.prefix = prefix
        self.environ = environ
        self.base = base
        self.used: set[str] = set()
        self.secrets_seen: list[str] = []

    def _name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def _get(self, key: str) -> Any:
        self.used.add(key)
        return self.values.get(key)

    def table(self, key: str) -> _Reader | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ConfigurationError(f"{self._name(key)} must be a table")
        child = _Reader(value, f"{self._name(key)}.", self.environ, self.base)
        child.secrets_seen = self.secrets_seen
        return child

    def string(self, key: str, default: str) -> str:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"{self._name(key)} must be a non-empty string")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ConfigurationError(f"{self._name(key)} must be true or false")
        return value

    def number(self, key: str, default: float, *, low: float, high: float) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ConfigurationError(f"{self._name(key)} must be a number from {low:g} to {high:g}")
        return float(value)

    def optional_int(self, key: str, low: int, high: int) -> int | None:
        value = self._get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigurationError(f"{self._name(key)} must be a whole number from {low} to {high}")
        return value

    def file(self, key: str) -> bytes | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"{self._name(key)} must be a file path")
        path = Path(value) if Path(value).is_absolute() else self.base / value
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"{self._name(key)}: cannot read {path}: {exc.strerror}") from exc

    def path(self, key: str) -> Path | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"{self._name(key)} must be a file path")
        return Path(value) if Path(value).is_absolute() else self.base / value

    def secrets(self, key: str, *, required: bool = False) -> tuple[bytes, ...]:
        """The values of the variables named by `key`: one name, or a list of them for rotation."""
        value = self._get(key)
        if value is None:
            if required:
                raise ConfigurationError(
                    f"{self._name(key)} must name the environment variable holding the secret"
                )
            return ()
        names = [value] if isinstance(value, str) else value
        if (
            not isinstance(names, list)
            or not names
            or not all(isinstance(n, str) and _ENV_NAME.fullmatch(n) for n in names)
        ):
            raise ConfigurationError(
                f"{self._name(key)} must be an environment variable name, or a list of them"
            )
        found = []
        for name in names:
            secret = self.environ.get(name, "")
            if not secret:
                raise ConfigurationError(f"{self._name(key)}: the environment variable {name} is not set")
            self.secrets_seen.append(secret)
            found.append(secret.encode("utf-8"))
        return tuple(found)

    def products(self) -> dict[str, ProductMapping]:
        value = self._get("products")
        if not isinstance(value, dict) or not value:
            raise ConfigurationError(f"{self._name('products')} must map at least one provider product code")
        mappings = {}
        for code, entry in value.items():
            where = f"{self._name('products')}.{code}"
            if not isinstance(entry, dict):
                raise ConfigurationError(f"{where} must be a table")
            item = _Reader(entry, f"{where}.", self.environ, self.base)
            product = item.string("product", "")
            if not product:
                raise ConfigurationError(f"{where}.product must name one of our product codes")
            seats = item.optional_int("seats_per_unit", 1, 0xFFFF)
            per_unit = item.boolean("key_per_unit", False)
            if per_unit and seats not in (None, 1):
                raise ConfigurationError(f"{where}: key_per_unit gives single-seat keys; drop seats_per_unit")
            mappings[str(code)] = ProductMapping(
                product=product,
                seats_per_unit=seats or 1,
                key_per_unit=per_unit,
                expire_days=item.optional_int("expire_days", 1, 36500),
                updates_days=item.optional_int("updates_days", 0, 36500),
                edition=item.optional_int("edition", 0, 0xFF) or 0,
                feature_flags=item.optional_int("feature_flags", 0, 0xFFFF) or 0,
            )
            item.refuse_unknown()
        return mappings

    def refuse_secrets(self) -> None:
        for key in ("token", "issuer_token", "secret", "password"):
            if key in self.values:
                raise ConfigurationError(
                    f"{self._name(key)}: secrets never go in the file; name an environment variable instead"
                )

    def refuse_unknown(self) -> None:
        unknown = sorted(set(self.values) - self.used)
        if unknown:
            raise ConfigurationError(f"unknown setting {self._name(unknown[0])}")
