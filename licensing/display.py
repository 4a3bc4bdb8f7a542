"""How a license's state reads to a person, the same in the CLI and the console."""

from __future__ import annotations

from ._proto.licensing.v1 import license_pb2

__all__ = ["license_status_text"]


def license_status_text(lic: license_pb2.License) -> str:
    """ "valid", "expired", or "revoked (refund)": the status in lower case, with the reason."""
    status = license_pb2.LicenseStatus.Name(lic.status).removeprefix("LICENSE_STATUS_").lower()
    if lic.status == license_pb2.LICENSE_STATUS_REVOKED and lic.revocation_reason:
        reason = license_pb2.RevocationReason.Name(lic.revocation_reason).removeprefix("REVOCATION_REASON_")
        status += f" ({reason.lower()})"
    return status
