"""The console end to end in Debian's Chromium: sign in, find, copy, export, consent, erase,
revoke, audit, sign out; and the refusals. One server, console and browser for the module; the
tests run in file order and build on each other's data where they say so.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import timestamp_pb2
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from licensing._proto.licensing.v1 import validation_pb2

from .conftest import Stack, make_browser

ALICE = "Alice.Buyer@Example.com"
BOB = "bob@example.org"
CAROL = "carol@example.net"


@pytest.fixture(scope="module")
def people(stack: Stack) -> dict[str, str]:
    """Keys issued through the real IssuanceService: Alice two orders, Bob and Carol one each."""
    h = stack.harness
    keys = {
        "alice1": h.issue(ALICE, "ORD-A-1001", "photo-pro", provider="fastspring").license.license_key,
        "alice2": h.issue(ALICE, "ORD-A-1002", "video-max", provider="paddle").license.license_key,
        "bob": h.issue(BOB, "ORD-B-2001", "photo-pro", provider="2checkout").license.license_key,
        "carol": h.issue(CAROL, "ORD-C-3001", "video-max").license.license_key,
    }
    # Some history for the trends page: orders over the last three weeks, and a few key checks.
    today = dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for i in range(30):
        when = timestamp_pb2.Timestamp()
        when.FromDatetime(today - dt.timedelta(days=(i * 7) % 21))
        product, provider = [
            ("photo-pro", "fastspring"),
            ("video-max", "paddle"),
            ("photo-pro", "2checkout"),
        ][i % 3]
        h.issue(f"history{i}@example.com", f"HIST-{i}", product, provider=provider, order_time=when)
    for email in (ALICE, BOB, "mallory@example.com"):
        request = validation_pb2.ValidateKeyRequest(
            license_key=keys["alice1"], email=email, product="photo-pro"
        )
        h.validation.ValidateKey(request, metadata=h.auth("support"), timeout=30)
    return keys


@pytest.fixture(scope="module", autouse=True)
def console_log(stack: Stack) -> Iterator[list[str]]:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep(level=logging.DEBUG)
    logger = logging.getLogger("licensing")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def wait(browser: Any, seconds: float = 10) -> WebDriverWait[Any]:
    return WebDriverWait(browser, seconds)


def notices(browser: Any) -> str:
    return " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".notice"))


def ready(browser: Any) -> None:
    wait(browser).until(lambda d: d.execute_script("return document.readyState") == "complete")


def visit(browser: Any, url: str) -> None:
    browser.get(url)
    ready(browser)


def submit(browser: Any, button: Any) -> None:
    """Click a submit button and wait until the next page has replaced this one and loaded."""
    page = browser.find_element(By.TAG_NAME, "html")
    button.click()
    wait(browser).until(lambda _: gone(page))
    ready(browser)


def gone(element: Any) -> bool:
    """True once `element` belongs to a page that has been replaced."""
    try:
        element.is_enabled()
    except WebDriverException:  # stale, or chromedriver's "Node … does not belong to the document"
        return True
    return False


def sign_in(browser: Any, stack: Stack, token: str) -> None:
    visit(browser, stack.url + "/sign-in")
    field = browser.find_element(By.ID, "token")
    field.clear()
    field.send_keys(token)
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/sign-in'] button"))


def sign_out(browser: Any) -> None:
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/sign-out'] button"))


def search(browser: Any, stack: Stack, text: str, by: str = "auto") -> None:
    visit(browser, stack.url + "/")
    field = browser.find_element(By.ID, "q")
    field.clear()
    field.send_keys(text)
    browser.find_element(By.CSS_SELECTOR, f"#by option[value='{by}']").click()
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/search'] button"))


def shot(screenshots: Path | None, browser: Any, name: str) -> None:
    if screenshots is not None:
        browser.save_screenshot(str(screenshots / f"{name}.png"))


def test_wrong_token_is_refused(stack: Stack, browser: Any) -> None:
    sign_in(browser, stack, "lic_" + "x" * 43)
    assert "The token was refused" in notices(browser)
    assert browser.find_elements(By.ID, "token"), "still on the sign-in page"
    sign_in(browser, stack, stack.token("issuer"))
    assert "a token with the issuer role cannot sign in" in notices(browser)


def test_sign_in_and_find_by_email(
    stack: Stack, browser: Any, people: dict[str, str], screenshots: Path | None
) -> None:
    visit(browser, stack.url + "/sign-in")
    shot(screenshots, browser, "sign-in")
    sign_in(browser, stack, stack.token("support"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Find a purchaser"
    shot(screenshots, browser, "search")
    search(browser, stack, "  alice.buyer@EXAMPLE.com ")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Purchaser"
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "alice.buyer@example.com" in page.lower() and "ORD-A-1001" in page and "ORD-A-1002" in page
    keys = [e.get_attribute("value") for e in browser.find_elements(By.CSS_SELECTOR, "input.key")]
    assert sorted(keys) == sorted([people["alice1"], people["alice2"]])
    assert "alice" not in browser.current_url.lower() and "example" not in browser.current_url
    shot(screenshots, browser, "purchaser")


def test_find_by_order_and_by_pasted_key(stack: Stack, browser: Any, people: dict[str, str]) -> None:
    search(browser, stack, "ORD-B-2001")
    assert "bob@example.org" in browser.find_element(By.TAG_NAME, "main").text
    # The key as a customer might paste it: lower case, dashes dropped and spaces added.
    pasted = (
        "  "
        + people["carol"].lower().replace("-", "")[:50]
        + " "
        + people["carol"].lower().replace("-", "")[50:]
    )
    search(browser, stack, pasted)
    assert "carol@example.net" in browser.find_element(By.TAG_NAME, "main").text
    for secret in ("bob", "carol", "ORD-", people["carol"][:20].lower()):
        assert secret not in browser.current_url


@pytest.mark.parametrize(
    ("typed", "by", "expected"),
    [
        ("not-an-email@", "email", "Email: is not a valid email address"),
        ("ORD-NOPE-404", "auto", "No order has this reference"),
        ("nobody@example.com", "auto", "No purchaser has this email address"),
    ],
)
def test_bad_input_gets_a_clear_line(stack: Stack, browser: Any, typed: str, by: str, expected: str) -> None:
    search(browser, stack, typed, by)
    assert expected in notices(browser)
    assert "Traceback" not in browser.page_source
    assert browser.find_element(By.ID, "q").get_attribute("value") == typed.strip()


def test_a_key_with_a_typo_is_reported_as_a_typo(stack: Stack, browser: Any, people: dict[str, str]) -> None:
    key = people["bob"]
    typo = key[:30] + ("0" if key[30] != "0" else "1") + key[31:]
    search(browser, stack, typo)
    assert "Check the key for a typo" in notices(browser)
    assert "Traceback" not in browser.page_source


def test_copy_a_key(stack: Stack, browser: Any, people: dict[str, str]) -> None:
    search(browser, stack, BOB)
    button = browser.find_element(By.CSS_SELECTOR, "button.copy")
    assert button.is_displayed(), "the script reveals the copy buttons"
    button.click()
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "copy-status"), "Key copied"))
    # Paste into the search box: what the clipboard holds is the key.
    visit(browser, stack.url + "/")
    field = browser.find_element(By.ID, "q")
    field.send_keys(Keys.CONTROL, "v")
    assert field.get_attribute("value") == people["bob"]


def test_export_downloads_the_json(stack: Stack, browser: Any, downloads: Path) -> None:
    search(browser, stack, ALICE)
    browser.find_element(By.CSS_SELECTOR, "form[action$='/export'] button").click()
    target = downloads / "purchaser-export.json"
    wait(browser, 20).until(lambda _: target.exists() and target.stat().st_size > 0)
    document = json.loads(target.read_text())
    text = json.dumps(document)
    assert "alice.buyer@example.com" in text.lower() and "ORD-A-1001" in text and "ORD-A-1002" in text


def test_set_newsletter_consent(stack: Stack, browser: Any, screenshots: Path | None) -> None:
    search(browser, stack, ALICE)
    browser.find_element(By.ID, "nl-on").click()
    source = browser.find_element(By.ID, "source")
    source.clear()
    source.send_keys("support-call")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/consent'] button"))
    assert "Newsletter consent recorded: subscribed." in notices(browser)
    assert "subscribed since" in browser.find_element(By.CSS_SELECTOR, "dl.profile").text
    assert "(support-call)" in browser.find_element(By.CSS_SELECTOR, "dl.profile").text
    shot(screenshots, browser, "consent-recorded")
    # The server has it, not only the page.
    search(browser, stack, ALICE)
    assert "subscribed since" in browser.find_element(By.CSS_SELECTOR, "dl.profile").text


def test_erase_needs_the_typed_confirmation(stack: Stack, browser: Any) -> None:
    search(browser, stack, CAROL)
    browser.find_element(By.ID, "confirm").send_keys("carol@example.com")  # not her address
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/erase'] button"))
    assert "does not match" in notices(browser) and "nothing was erased" in notices(browser)
    browser.find_element(By.ID, "confirm").send_keys("Carol@Example.net")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/erase'] button"))
    assert "Personal data erased; 1 license(s) kept" in notices(browser)
    assert "erased on" in browser.find_element(By.CSS_SELECTOR, "dl.profile").text
    search(browser, stack, CAROL)
    assert "No purchaser has this email address" in notices(browser)


def test_form_without_its_csrf_token_is_refused(stack: Stack, browser: Any) -> None:
    search(browser, stack, BOB)
    browser.execute_script("document.querySelector(\"form[action$='/consent'] input[name=csrf]\").remove()")
    browser.find_element(By.ID, "nl-on").click()
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/consent'] button"))
    assert "security token is missing or out of date" in browser.find_element(By.TAG_NAME, "main").text
    search(browser, stack, BOB)  # still signed in, and nothing changed
    assert "not subscribed" in browser.find_element(By.CSS_SELECTOR, "dl.profile").text


def test_support_token_on_an_admin_page(stack: Stack, browser: Any) -> None:
    visit(browser, stack.url + "/audit")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Admins only"
    assert "your token has the support role" in browser.find_element(By.TAG_NAME, "main").text
    assert not browser.find_elements(By.CSS_SELECTOR, "form.revoke"), "support sees no revoke forms"


def test_trends_page(stack: Stack, browser: Any, screenshots: Path | None) -> None:
    visit(browser, stack.url + "/trends")
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) == 3
    issued_table = browser.find_elements(By.CSS_SELECTOR, "details table")[0].get_attribute("textContent")
    assert "photo-pro" in issued_table and "video-max" in issued_table
    verdicts = browser.find_elements(By.CSS_SELECTOR, "details table")[2].get_attribute("textContent")
    assert "VALID" in verdicts and "EMAIL_MISMATCH" in verdicts
    shot(screenshots, browser, "trends")


def test_expired_session(stack: Stack, browser: Any) -> None:
    visit(browser, stack.url + "/")
    stack.clock.advance(stack.idle_seconds + 1)
    visit(browser, stack.url + "/")
    assert browser.find_elements(By.ID, "token")
    assert "Your session has expired" in notices(browser)


def test_revoke_as_admin_and_read_the_audit_log(stack: Stack, browser: Any, screenshots: Path | None) -> None:
    sign_in(browser, stack, stack.token("admin"))
    search(browser, stack, "ORD-A-1001")
    shot(screenshots, browser, "purchaser-admin")
    form = browser.find_element(By.CSS_SELECTOR, "form.revoke")
    form.find_element(By.CSS_SELECTOR, "select[name=reason] option[value=refund]").click()
    form.find_element(By.CSS_SELECTOR, "input[name=note]").send_keys("refunded by support")
    submit(browser, form.find_element(By.CSS_SELECTOR, "button"))
    assert "Revoked license" in notices(browser)
    assert "revoked (refund)" in browser.find_element(By.TAG_NAME, "main").text
    visit(browser, stack.url + "/audit")
    table = browser.find_element(By.CSS_SELECTOR, "main table").text
    assert "revoke" in table and "order:ORD-A-1001" in table and "refund" in table
    assert "erase" in table and "consent" in table
    shot(screenshots, browser, "audit")
    browser.find_element(By.CSS_SELECTOR, "#action option[value=erase]").click()
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form.filters button"))
    rows = browser.find_elements(By.CSS_SELECTOR, "main table tbody tr")
    assert rows and all(" erase " in f" {row.text} " for row in rows)


def test_sign_out(stack: Stack, browser: Any) -> None:
    visit(browser, stack.url + "/")
    sign_out(browser)
    assert "Signed out." in notices(browser)
    visit(browser, stack.url + "/")
    assert browser.find_elements(By.ID, "token"), "signed out: back to the sign-in page"


def test_keyboard_only(stack: Stack, browser: Any) -> None:
    """Tab from the top of the page, type, press Enter: no mouse needed."""
    sign_in(browser, stack, stack.token("support"))
    visit(browser, stack.url + "/")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    focused = [browser.switch_to.active_element.text]
    for _ in range(12):
        if browser.switch_to.active_element.get_attribute("id") == "q":
            break
        browser.switch_to.active_element.send_keys(Keys.TAB)
        focused.append(
            browser.switch_to.active_element.get_attribute("id") or browser.switch_to.active_element.text
        )
    assert focused[0] == "Skip to content"
    assert browser.switch_to.active_element.get_attribute("id") == "q"
    page = browser.find_element(By.TAG_NAME, "html")
    browser.switch_to.active_element.send_keys(BOB, Keys.ENTER)
    wait(browser).until(lambda _: gone(page))
    assert "bob@example.org" in browser.find_element(By.TAG_NAME, "main").text


def test_every_field_has_a_label_and_every_asset_is_our_own(stack: Stack, browser: Any) -> None:
    search(browser, stack, BOB)
    assets = browser.execute_script(
        "return [...document.querySelectorAll('script, link, img, iframe, object, embed')]"
        ".map(e => e.src || e.href || e.data || '')"
    )
    assert assets and all(a.startswith(stack.url + "/static/") for a in assets), assets
    assert not browser.find_elements(By.CSS_SELECTOR, "script:not([src]), [style], [onclick], [onload]")
    for field in browser.find_elements(By.CSS_SELECTOR, "input:not([type=hidden]), select"):
        ident = field.get_attribute("id")
        assert ident and browser.find_elements(By.CSS_SELECTOR, f"label[for='{ident}']"), ident


def test_headers_and_cookie(stack: Stack) -> None:
    with urllib.request.urlopen(stack.url + "/sign-in", timeout=10) as response:
        headers = response.headers
        page = response.read().decode()
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "<script>" not in page and " style=" not in page and "http://" not in page.replace(stack.url, "")


def test_without_javascript(stack: Stack, tmp_path: Path, people: dict[str, str]) -> None:
    """The essential flows work with JavaScript off: sign in, find, record consent, sign out."""
    driver = make_browser(tmp_path / "profile", tmp_path, javascript=False)
    try:
        sign_in(driver, stack, stack.token("support"))
        search(driver, stack, BOB)
        assert "bob@example.org" in driver.find_element(By.TAG_NAME, "main").text
        assert not driver.find_element(By.CSS_SELECTOR, "button.copy").is_displayed()
        assert driver.find_element(By.CSS_SELECTOR, "input.key").get_attribute("value") == people["bob"]
        driver.find_element(By.ID, "nl-on").click()
        submit(driver, driver.find_element(By.CSS_SELECTOR, "form[action$='/consent'] button"))
        assert "Newsletter consent recorded: subscribed." in notices(driver)
        sign_out(driver)
    finally:
        driver.quit()


def test_no_email_key_or_token_in_any_log_line(
    stack: Stack, console_log: list[str], people: dict[str, str]
) -> None:
    assert console_log, "the console and the server logged their requests"
    secrets = [ALICE.lower(), BOB, CAROL, *people.values(), *stack.harness.tokens.values(), "ORD-"]
    for line in console_log:
        for secret in secrets:
            assert secret.lower() not in line.lower(), line
    assert any(line.startswith("console method=POST route=/search") for line in console_log)
