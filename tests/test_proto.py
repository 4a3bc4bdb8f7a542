"""The API contract in proto/ and its committed generated code.

Checks that the committed stubs are fresh, that `buf lint` is clean, and that
the generated modules import and expose the services and methods we promise.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "licensing._proto.licensing.v1"

# Service full name -> (module stem, RPC methods in declaration order).
SERVICES: dict[str, tuple[str, list[str]]] = {
    "licensing.v1.IssuanceService": (
        "issuance",
        ["IssueLicense", "RevokeLicense", "GetLicense", "IssueLicenses", "ListLicenses", "ListProducts"],
    ),
    "licensing.v1.ValidationService": ("validation", ["ValidateKey", "ListSigningKeys", "GetRevocationList"]),
    "licensing.v1.SupportService": (
        "support",
        ["FindLicenses", "ExportProfile", "EraseProfile", "CorrectEmail", "SetNewsletterConsent"],
    ),
}
CLIENT_STREAMING = {"IssueLicenses"}

# Must mirror the offline validator's reason codes, in this order.
REASONS = [
    "REASON_UNSPECIFIED",
    "REASON_MALFORMED",
    "REASON_UNSUPPORTED_VERSION",
    "REASON_UNKNOWN_KEY",
    "REASON_KEY_RETIRED",
    "REASON_BAD_SIGNATURE",
    "REASON_WRONG_PRODUCT",
    "REASON_EMAIL_MISMATCH",
    "REASON_INVALID_EMAIL",
    "REASON_NOT_YET_VALID",
    "REASON_EXPIRED",
    "REASON_UPDATES_EXPIRED",
    "REASON_REVOKED",
]


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _buf() -> str | None:
    local = ROOT / ".tools" / "node_modules" / ".bin" / "buf"
    return str(local) if local.is_file() else shutil.which("buf")


def test_generated_code_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_protos.py", "--check"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"stale generated code; run `make proto`\n{result.stdout}{result.stderr}"


def test_buf_lint() -> None:
    buf = _buf()
    if buf is None:
        message = "buf not installed; run: npm install --no-save --prefix .tools @bufbuild/buf"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run([buf, "lint", "proto"], check=False, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"buf lint proto:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("service_name", sorted(SERVICES))
def test_service_methods(service_name: str) -> None:
    stem, methods = SERVICES[service_name]
    pb2 = _module(f"{stem}_pb2")
    grpc_module = _module(f"{stem}_pb2_grpc")
    assert pb2.DESCRIPTOR.name == f"licensing/v1/{stem}.proto"  # what reflection shows
    service = pb2.DESCRIPTOR.services_by_name[service_name.rsplit(".", 1)[1]]
    assert service.full_name == service_name
    assert [m.name for m in service.methods] == methods
    for method in service.methods:
        assert method.input_type.full_name == f"licensing.v1.{method.name}Request"
        assert method.output_type.full_name == f"licensing.v1.{method.name}Response"
        assert method.client_streaming == (method.name in CLIENT_STREAMING)
        assert not method.server_streaming
    short = service.name
    stub, servicer = getattr(grpc_module, f"{short}Stub"), getattr(grpc_module, f"{short}Servicer")
    assert callable(getattr(grpc_module, f"add_{short}Servicer_to_server"))
    assert isinstance(stub, type)
    assert all(callable(getattr(servicer, m)) for m in methods)


def test_messages_live_in_the_package() -> None:
    license_pb2 = _module("license_pb2")
    assert license_pb2.License.__module__ == f"{PACKAGE}.license_pb2"
    request = _module("issuance_pb2").IssueLicenseRequest(terms=license_pb2.LicenseTerms(seats=2))
    assert request.terms.seats == 2


def test_reason_mirrors_the_offline_validator() -> None:
    reason = _module("license_pb2").DESCRIPTOR.enum_types_by_name["Reason"]
    assert [(v.name, v.number) for v in reason.values] == [(name, i) for i, name in enumerate(REASONS)]
