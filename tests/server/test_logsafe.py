"""An unexpected error is logged as its type and frames, never its message (which may quote values)."""

from __future__ import annotations

import logging

import pytest

from licensing.logsafe import log_unexpected

SECRET = "-".join(["ORDER", "SECRET", "17"])  # built at run time: source lines are logged, values not


def _fail_like_a_driver(order_ref: str) -> None:
    raise ValueError(f"duplicate key value violates unique constraint: Key (order_ref)=({order_ref})")


def test_the_message_is_withheld_and_the_place_is_kept(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("licensing.test")
    try:
        _fail_like_a_driver(SECRET)
    except ValueError as exc:
        with caplog.at_level(logging.ERROR):
            log_unexpected(log, exc, "rpc method=%s failed unexpectedly", "/x.Y/Z")
    text = caplog.text
    assert SECRET not in text
    assert "ValueError" in text and "_fail_like_a_driver" in text and "/x.Y/Z" in text
