"""`licensing import`'s rule for one order twice in a file: refused where the server would refuse
it (another email, other terms, another order day), passed where the server answers it with the
first row's license (the email in another case, another provider, other flags, no order day)."""

from __future__ import annotations

import pytest

from licensing.cli.import_csv import FirstRowWins, request_of
from licensing.errors import InvalidArgument

FIRST = {
    "email": "Guðrún.Jónsdóttir@Bücher.example",
    "order_id": "#1001",
    "product": "photo-pro",
    "order_time": "2024-03-01T10:00:00Z",
    "seats": "2",
    "provider": "shopify",
}


@pytest.mark.parametrize(
    "later",
    [
        {"email": "guðrún.jónsdóttir@bücher.example"},  # the same address, cased otherwise
        {"email": "GUÐRÚN.JÓNSDÓTTIR@xn--bcher-kva.example"},  # and its domain as IDNA
        {"provider": "fastspring", "test_order": "true"},
        {"order_time": "2024-03-01T23:59:59Z"},  # the same order day
        {"order_time": ""},  # no day given: the server does not compare it
        {"product": "video-max", "seats": "9"},  # another product is another license
    ],
)
def test_a_row_the_server_would_answer_alike_goes_through(later: dict[str, str]) -> None:
    rows = FirstRowWins()
    rows.check(request_of(FIRST), 2)
    rows.check(request_of({**FIRST, **later}), 3)


@pytest.mark.parametrize(
    "later",
    [
        {"email": "someone.else@example.com"},
        {"seats": "3"},
        {"expires": "2030-01-01"},
        {"order_time": "2024-03-02T00:00:00Z"},
    ],
)
def test_a_row_that_differs_where_the_server_would_refuse_it_is_refused(later: dict[str, str]) -> None:
    rows = FirstRowWins()
    rows.check(request_of(FIRST), 2)
    with pytest.raises(InvalidArgument) as refused:
        rows.check(request_of({**FIRST, **later}), 3)
    assert refused.value.reason == "DUPLICATE_ORDER_IN_FILE"
    assert "line 2" in refused.value.message
    assert "@" not in refused.value.message and "#1001" not in refused.value.message
