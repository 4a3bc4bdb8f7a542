"""ListLicenses and ListProducts on both engines: filters, paging, roles, bad input."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from harness import Harness, error_info

from licensing._proto.licensing.v1 import issuance_pb2, license_pb2


def _day(value: dt.date) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC))
    return stamp


def _list(server: Harness, who: str = "issuer", **fields: Any) -> issuance_pb2.ListLicensesResponse:
    """ListLicenses as `who`; `fields` are the request's (order_id, status, page_size, ...)."""
    response: issuance_pb2.ListLicensesResponse = server.issuance.ListLicenses(
        issuance_pb2.ListLicensesRequest(**fields), metadata=server.auth(who), timeout=30
    )
    return response


def test_paging_walks_every_license_of_an_order_once(server: Harness) -> None:
    order = f"LIST-{uuid.uuid4().hex[:8]}"
    issued = {
        server.issue("lister@example.com", order, product).license.serial
        for product in ("photo-pro", "video-max")
    }
    seen: list[int] = []
    token = ""
    while True:
        page = _list(server, order_id=order, page_size=1, page_token=token)
        assert len(page.licenses) <= 1
        seen += [lic.serial for lic in page.licenses]
        if not page.next_page_token:
            break
        token = page.next_page_token
    assert sorted(seen) == sorted(issued) and len(seen) == 2
    (only,) = _list(server, order_id=order, product="video-max").licenses
    assert only.product == "video-max" and only.order_id == order
    (by_serial,) = _list(server, serial=only.serial).licenses
    assert by_serial.license_key == only.license_key


def test_status_filter_follows_revocation_and_expiry(server: Harness) -> None:
    tag = uuid.uuid4().hex[:8]
    valid = server.issue("status@example.com", f"VALID-{tag}").license.serial
    expired_order = f"EXPIRED-{tag}"
    expired = server.issue(
        "status@example.com",
        expired_order,
        order_time=_day(dt.date(2020, 1, 1)),
        terms=license_pb2.LicenseTerms(expire_time=_day(dt.date(2020, 12, 31))),
    ).license.serial
    revoked_order = f"REVOKED-{tag}"
    revoked = server.issue("status@example.com", revoked_order).license.serial
    server.issuance.RevokeLicense(
        issuance_pb2.RevokeLicenseRequest(
            order_id=revoked_order, reason=license_pb2.REVOCATION_REASON_REFUND
        ),
        metadata=server.auth(),
        timeout=30,
    )

    def serials(status: int) -> set[int]:
        mine = {valid, expired, revoked}
        found: set[int] = set()
        token = ""
        while True:
            page = _list(server, status=status, page_size=1000, page_token=token)
            found |= {lic.serial for lic in page.licenses} & mine
            if not page.next_page_token:
                return found
            token = page.next_page_token

    assert serials(license_pb2.LICENSE_STATUS_VALID) == {valid}
    assert serials(license_pb2.LICENSE_STATUS_EXPIRED) == {expired}
    assert serials(license_pb2.LICENSE_STATUS_REVOKED) == {revoked}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"page_size": 1001}, "PAGE_SIZE_TOO_LARGE"),
        ({"page_token": "not-hex"}, "BAD_PAGE_TOKEN"),
        ({"product": "no-such-product"}, "UNKNOWN_PRODUCT"),
        ({"status": 9}, "BAD_STATUS"),
    ],
)
def test_bad_requests_name_the_field(server: Harness, fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        _list(server, **fields)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info = error_info(refused.value)
    assert info is not None and info.reason == reason


def test_support_may_not_list_licenses_or_products(server: Harness) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        _list(server, who="support")
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as refused:
        server.issuance.ListProducts(
            issuance_pb2.ListProductsRequest(), metadata=server.auth("support"), timeout=30
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_list_products_gives_codes_numbers_and_names(server: Harness) -> None:
    response = server.issuance.ListProducts(
        issuance_pb2.ListProductsRequest(), metadata=server.auth(), timeout=30
    )
    by_code = {p.code: (p.number, p.name) for p in response.products}
    assert by_code["photo-pro"] == (1, "Photo-Pro") and by_code["video-max"] == (2, "Video-Max")
    assert [p.number for p in response.products] == sorted(p.number for p in response.products)
