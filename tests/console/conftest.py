"""A real server, a real console in front of it, and Debian's Chromium driven by Selenium.

The server is the harness's (a real gRPC server on a free port, SQLite in a temporary home);
the console runs in a thread of its own on its own event loop, on a free port, with a clock the
tests move forward to expire sessions without waiting. Chromium is the system's
(/usr/bin/chromium and its chromium-driver): nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from harness import Harness, running_server
from homes import make_settings

from licensing.console import ConsoleOptions, create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS_ENV = "LICENSING_CONSOLE_SCREENSHOTS"  # a folder: the browser tests save the main pages there


class Clock:
    """A monotonic clock the tests advance by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ConsoleThread:
    """The console's aiohttp application served from a thread, on 127.0.0.1 and a free port."""

    def __init__(self, options: ConsoleOptions) -> None:
        from aiohttp import web

        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(create_app(options), access_log=None, handle_signals=False)
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="console", daemon=True)
        self._thread.start()
        if not self._ready.wait(30) or not self.port:
            raise RuntimeError("the console did not start")

    def _run(self) -> None:
        from aiohttp import web

        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            self.port = self.runner.addresses[0][1]

        self.loop.run_until_complete(start())
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)


@dataclass
class Stack:
    harness: Harness
    console: ConsoleThread
    clock: Clock
    idle_seconds: float

    @property
    def url(self) -> str:
        return self.console.url

    def token(self, role: str) -> str:
        return self.harness.tokens[role]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, keyring_path: Path, keyring: Any) -> Iterator[Stack]:
    settings, _ = make_settings("sqlite", tmp_path_factory.mktemp("console-home"), keyring_path)
    clock = Clock()
    with running_server(settings, keyring) as harness:
        options = ConsoleOptions(
            server_address=f"127.0.0.1:{harness.port}", idle_minutes=30, lifetime_hours=8, clock=clock
        )
        console = ConsoleThread(options)
        try:
            yield Stack(harness, console, clock, idle_seconds=30 * 60)
        finally:
            console.stop()


def _require_browser() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    message = "Debian's chromium and chromium-driver are not installed (make browser installs them)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must have them")
    pytest.skip(message)


def make_browser(profile: Path, downloads: Path, *, javascript: bool = True) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    _require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    prefs: dict[str, object] = {
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
    }
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    if javascript:
        driver.execute_cdp_cmd(
            "Browser.grantPermissions",
            {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
        )
    return driver


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, downloads: Path) -> Iterator[Any]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    driver = make_browser(profile, downloads)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def screenshots() -> Path | None:
    folder = os.environ.get(SCREENSHOTS_ENV)
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path
