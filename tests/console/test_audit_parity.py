"""A console session leaves the same audit entries as the support CLI doing the same.

Both act with one support token on a real server: the CLI (`licensing support …`, in process)
and the console (in Chromium). Each finds a purchaser by email, by order and by key, exports,
records consent and erases (each its own purchaser for the erasure). The entries they leave are
compared field for field, with only the opaque profile ID of the erased purchaser set aside.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from licensing import audit
from licensing.cli.main import main as cli

from .conftest import Stack
from .test_browser import search, sign_in, submit

SHARED = "dana@example.com"
ERASED_BY_CLI = "erin@example.com"
ERASED_BY_CONSOLE = "fay@example.com"


@pytest.fixture(scope="module")
def keys(stack: Stack) -> dict[str, str]:
    h = stack.harness
    return {
        SHARED: h.issue(SHARED, "ORD-D-1", "photo-pro").license.license_key,
        ERASED_BY_CLI: h.issue(ERASED_BY_CLI, "ORD-E-1", "photo-pro").license.license_key,
        ERASED_BY_CONSOLE: h.issue(ERASED_BY_CONSOLE, "ORD-F-1", "video-max").license.license_key,
    }


def run_cli(stack: Stack, *args: str, tmp_path: Path) -> None:
    common = ["--address", f"127.0.0.1:{stack.harness.port}", "--token", stack.token("support")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cli(["support", args[0], *common, *args[1:]]) == 0


def entries_since(mark: int) -> list[tuple[str, str, str, str]]:
    found = [(e.actor, e.action, e.target, e.detail) for e in audit.entries()]
    return found[mark:]


def normalise(
    rows: list[tuple[str, str, str, str]], erased_targets: set[str]
) -> list[tuple[str, str, str, str]]:
    return [(a, act, "profile:ERASED" if t in erased_targets else t, d) for a, act, t, d in rows]


def by_console(stack: Stack, browser: Any, keys: dict[str, str]) -> None:
    sign_in(browser, stack, stack.token("support"))
    search(browser, stack, SHARED, "email")
    search(browser, stack, "ORD-D-1", "order_id")
    search(browser, stack, keys[SHARED], "license_key")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/export'] button").click()
    WebDriverWait(browser, 10).until(ec.title_contains("Purchaser"))
    browser.find_element(By.ID, "nl-on").click()
    source = browser.find_element(By.ID, "source")
    source.clear()
    source.send_keys("support-call")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/consent'] button"))
    search(browser, stack, ERASED_BY_CONSOLE, "email")
    browser.find_element(By.ID, "confirm").send_keys(ERASED_BY_CONSOLE)
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/erase'] button"))


def test_console_and_cli_leave_the_same_audit_entries(
    stack: Stack, browser: Any, keys: dict[str, str], tmp_path: Path, downloads: Path
) -> None:
    start = len(list(audit.entries()))
    run_cli(stack, "find", "--email", SHARED, tmp_path=tmp_path)
    run_cli(stack, "find", "--order", "ORD-D-1", tmp_path=tmp_path)
    run_cli(stack, "find", "--key", keys[SHARED], tmp_path=tmp_path)
    run_cli(stack, "export", "--email", SHARED, "-o", str(tmp_path / "export.json"), tmp_path=tmp_path)
    run_cli(
        stack,
        "consent",
        "--email",
        SHARED,
        "--newsletter",
        "on",
        "--source",
        "support-call",
        tmp_path=tmp_path,
    )
    run_cli(stack, "find", "--email", ERASED_BY_CLI, tmp_path=tmp_path)
    run_cli(stack, "erase", "--email", ERASED_BY_CLI, "--yes", tmp_path=tmp_path)
    middle = len(list(audit.entries()))
    by_console(stack, browser, keys)
    # The export's download finishes in the browser; wait for its audit entry rather than a time.
    WebDriverWait(browser, 10).until(lambda _: len(list(audit.entries())) - middle >= middle - start)

    cli_rows = entries_since(start)[: middle - start]
    console_rows = entries_since(middle)
    erased = {t for _, action, t, _ in cli_rows + console_rows if action == "erase"}
    assert len(cli_rows) == 7 and [row[1] for row in cli_rows] == [
        "find",
        "find",
        "find",
        "export",
        "consent",
        "find",
        "erase",
    ]
    assert normalise(console_rows, erased) == normalise(cli_rows, erased)
