"""The bridge's configuration rules and the order-to-keys derivation, without any I/O."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from licensing.bridge.common import BadRequest, LineItem, Purchase
from licensing.bridge.config import ProductMapping, load_config, parse_config
from licensing.bridge.orders import plan_keys
from licensing.errors import ConfigurationError

ENV = {"LICENSING_ISSUER_TOKEN": "lic_token_value_123", "TCO": "tco-secret-value"}
BASE: dict[str, Any] = {
    "twocheckout": {"secret_env": "TCO", "products": {"P1": {"product": "photo-pro"}}},
}


def test_a_minimal_file_reads_with_defaults_and_hides_the_token_from_repr() -> None:
    config = parse_config(BASE, ENV)
    assert config.listen == "127.0.0.1:8080" and config.server == "127.0.0.1:50051"
    assert config.twocheckout is not None and config.twocheckout.secrets == (b"tco-secret-value",)
    assert not config.twocheckout.allow_md5 and config.twocheckout.keygen_require_signature
    assert "lic_token_value_123" not in repr(config) and "tco-secret-value" not in repr(config)
    assert config.fastspring is None and config.paddle is None


@pytest.mark.parametrize(
    ("document", "environ", "message"),
    [
        (BASE, {"TCO": "x"}, "LICENSING_ISSUER_TOKEN"),
        ({**BASE, "token": "lic_abc"}, ENV, "secrets never go in the file"),
        (
            {"twocheckout": {"secret_env": "MISSING", "products": {"P": {"product": "p"}}}},
            ENV,
            "MISSING is not set",
        ),
        (
            {"twocheckout": {"secret_env": "not a name", "products": {"P": {"product": "p"}}}},
            ENV,
            "environment variable name",
        ),
        ({**BASE, "server": "10.0.0.5:50051"}, ENV, "not on this machine"),
        ({**BASE, "colour": "blue"}, ENV, "unknown setting colour"),
        (
            {
                "twocheckout": {
                    "secret_env": "TCO",
                    "products": {"P": {"product": "p", "key_per_unit": True, "seats_per_unit": 5}},
                }
            },
            ENV,
            "key_per_unit gives single-seat keys",
        ),
        ({"twocheckout": {"secret_env": "TCO", "products": {}}}, ENV, "at least one"),
        (
            {"paddle": {"webhook_secret_env": "TCO", "products": {"pri_1": {"product": "p"}}}},
            ENV,
            "api_key_env",
        ),
    ],
)
def test_configuration_mistakes_are_named_without_their_values(
    document: dict[str, Any], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_config(document, environ)
    assert message in caught.value.message
    assert (
        "tco-secret-value" not in caught.value.message and "lic_token_value_123" not in caught.value.message
    )


def test_several_secret_variables_are_read_for_rotation(tmp_path: Path) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text('[fastspring]\nwebhook_secret_env = ["A", "B"]\n[fastspring.products.x]\nproduct = "p"\n')
    config = load_config(path, {"LICENSING_ISSUER_TOKEN": "t", "A": "one", "B": "two"})
    assert config.fastspring is not None and config.fastspring.webhook_secrets == (b"one", b"two")


def test_the_cli_reports_a_missing_configuration_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "licensing.cli.main", "bridge", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "error: name the bridge configuration file with --config or LICENSING_BRIDGE_CONFIG"
    )


# -- order IDs and terms -----------------------------------------------------------------------

TODAY = dt.date(2026, 1, 10)
PRODUCTS = {
    "SEATS": ProductMapping("photo-pro", seats_per_unit=5, expire_days=365, updates_days=30),
    "SEATS-2Y": ProductMapping("photo-pro", seats_per_unit=1, expire_days=730),
    "UNIT": ProductMapping("video-max", key_per_unit=True),
    "UNIT-B": ProductMapping("video-max", key_per_unit=True),
}


def purchase(*lines: tuple[str, int], order_date: str | None = None) -> Purchase:
    return Purchase(
        "2checkout",
        "2co:123",
        "a@b.c",
        tuple(LineItem((code,), qty) for code, qty in lines),
        False,
        order_date,
    )


def test_one_key_per_product_whose_seats_sum_the_lines_with_dates_from_the_order_date() -> None:
    keys = plan_keys(
        purchase(("SEATS", 2), ("OTHER", 9), ("SEATS-2Y", 1), order_date="2026-01-01"),
        PRODUCTS,
        today=TODAY,
        max_keys_per_line=10,
    )
    assert [(k.order_id, k.product, k.seats) for k in keys] == [("2co:123", "photo-pro", 11)]
    assert keys[0].expires == dt.date(2027, 1, 1) and keys[0].updates_until == dt.date(2026, 1, 31)


def test_units_are_numbered_across_the_lines_of_one_product() -> None:
    keys = plan_keys(
        purchase(("UNIT", 2), ("UNIT-B", 1), ("SEATS", 1)), PRODUCTS, today=TODAY, max_keys_per_line=10
    )
    assert [(k.order_id, k.product, k.seats) for k in keys] == [
        ("2co:123:1", "video-max", 1),
        ("2co:123:2", "video-max", 1),
        ("2co:123:3", "video-max", 1),
        ("2co:123", "photo-pro", 5),
    ]
    assert keys[0].expires is None


def test_too_many_keys_or_seats_are_refused() -> None:
    with pytest.raises(BadRequest):
        plan_keys(purchase(("UNIT", 11)), PRODUCTS, today=TODAY, max_keys_per_line=10)
    with pytest.raises(BadRequest):
        plan_keys(purchase(("SEATS", 20000)), PRODUCTS, today=TODAY, max_keys_per_line=10)
    assert plan_keys(purchase(("OTHER", 1)), PRODUCTS, today=TODAY, max_keys_per_line=10) == []
