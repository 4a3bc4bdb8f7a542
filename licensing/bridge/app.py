"""The HTTP side of the bridge: one aiohttp application, one route per provider endpoint.

    POST /2checkout/keygen     2Checkout "Dynamic list" key generator  → XML with the key(s)
    POST /2checkout/ipn        2Checkout IPN                           → read receipt
    POST /2checkout/lcn        2Checkout LCN                           → read receipt
    GET|POST /fastspring/license   FastSpring Remote Server Request    → text/plain key(s)
    POST /fastspring/webhook   FastSpring webhooks                     → 200, or 202 + processed IDs
    POST /paddle/webhook       Paddle Billing notifications            → 200
    POST /paddle/classic       Paddle Classic fulfillment webhook      → text/plain key(s)
    GET  /healthz              liveness                                → 200 "ok"

Every handler reads the raw body, verifies the signature before it looks at anything else,
reads only the fields the license needs, and answers with a status that tells the provider
whether to retry (see issuer.py for the gRPC side). One log line per request names the
provider, the endpoint, the outcome and the duration: never the body, an email, a key or a
secret, and aiohttp's access log (which would print query strings) is off.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import aiohttp
from aiohttp import web

from .. import metrics
from . import fastspring, paddle, twocheckout
from .common import (
    BadRequest,
    BridgeError,
    ProviderUnavailable,
    Purchase,
    Revocation,
    UnknownProduct,
    parse_form,
)
from .config import BridgeConfig, ProductMapping
from .issuer import Issuer, UpstreamError
from .orders import plan_keys

__all__ = ["MAX_BODY", "create_app"]

log = logging.getLogger("licensing.bridge")

MAX_BODY = 256 * 1024
_CUSTOMER_ID = re.compile(r"ctm_[A-Za-z0-9]{1,60}")


@dataclass
class Outcome:
    """What a handler did, for the log line: counts only, never values."""

    what: str = "ok"
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, count: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + count

    def __str__(self) -> str:
        return " ".join([self.what, *(f"{name}={count}" for name, count in sorted(self.counts.items()))])


_T = TypeVar("_T")
Handler = Callable[[web.Request, Outcome], Awaitable[web.Response]]


class Bridge:
    def __init__(
        self,
        config: BridgeConfig,
        issuer: Issuer,
        *,
        clock: Callable[[], float] = time.time,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        self.config = config
        self.issuer = issuer
        self.clock = clock
        self.http = http
        self.paddle_classic_key = (
            paddle.load_public_key(config.paddle.classic_public_key_pem)
            if config.paddle is not None and config.paddle.classic_public_key_pem is not None
            else None
        )

    # -- shared steps ------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    async def fulfil(
        self, purchase: Purchase, products: Mapping[str, ProductMapping], outcome: Outcome, *, required: bool
    ) -> list[str]:
        """Issue (or find again) the purchase's keys. `required`: an order with no mapped line
        is an error (the provider asked us for a key) rather than nothing to do."""
        requests = plan_keys(
            purchase, products, today=self.now().date(), max_keys_per_line=self.config.max_keys_per_line
        )
        if not requests:
            if required:
                raise UnknownProduct(
                    "the product code is not mapped to a product in the bridge configuration"
                )
            outcome.add("unmapped_lines", len(purchase.lines))
            return []
        issued = await self.issuer.issue(
            requests, email=purchase.email, provider=purchase.provider, test_order=purchase.test_order
        )
        outcome.add("issued", sum(item.created for item in issued))
        outcome.add("existing", sum(not item.created for item in issued))
        return [item.key for item in issued]

    async def revoke(self, revocation: Revocation, outcome: Outcome) -> None:
        matched = await self.issuer.revoke(revocation)
        outcome.add(f"revoked_{revocation.reason}", matched)

    # -- 2Checkout -----------------------------------------------------------------------------

    async def twocheckout_keygen(self, request: web.Request, outcome: Outcome) -> web.Response:
        settings = self._require(self.config.twocheckout)
        fields = twocheckout.group_fields(parse_form(await request.read()))
        signed = any(name in fields for name in twocheckout.SIGNATURE_FIELDS)
        if signed or settings.keygen_require_signature:
            twocheckout.verify(fields, settings.secrets, allow_md5=settings.allow_md5)
        purchase = twocheckout.keygen_purchase(fields, sandbox=settings.sandbox)
        keys = await self.fulfil(purchase, settings.products, outcome, required=True)
        return web.Response(text=twocheckout.keygen_response(keys), content_type="text/xml")

    async def twocheckout_ipn(self, request: web.Request, outcome: Outcome) -> web.Response:
        settings = self._require(self.config.twocheckout)
        fields = twocheckout.group_fields(parse_form(await request.read()))
        verified = twocheckout.verify(fields, settings.secrets, allow_md5=settings.allow_md5)
        event = twocheckout.ipn_event(fields, sandbox=settings.sandbox)
        if isinstance(event, Purchase):
            await self.fulfil(event, settings.products, outcome, required=False)
        elif isinstance(event, Revocation):
            await self.revoke(event, outcome)
        else:
            outcome.what = "ignored_status"
        receipt = twocheckout.ipn_receipt(fields, verified, twocheckout.receipt_date(self.now()))
        return web.Response(text=receipt, content_type="text/plain")

    async def twocheckout_lcn(self, request: web.Request, outcome: Outcome) -> web.Response:
        settings = self._require(self.config.twocheckout)
        fields = twocheckout.group_fields(parse_form(await request.read()))
        verified = twocheckout.verify(fields, settings.secrets, allow_md5=settings.allow_md5)
        try:
            event = twocheckout.lcn_event(fields, order_field=settings.lcn_order_field)
        except BadRequest:
            # Retrying cannot add the missing field: acknowledge, and say so in the log.
            event, outcome.what = None, "disabled_without_order_reference"
        if event is not None:
            await self.revoke(event, outcome)
        elif outcome.what == "ok":
            outcome.what = "ignored_status"
        receipt = twocheckout.lcn_receipt(fields, verified, twocheckout.receipt_date(self.now()))
        return web.Response(text=receipt, content_type="text/plain")

    # -- FastSpring ----------------------------------------------------------------------------

    async def fastspring_license(self, request: web.Request, outcome: Outcome) -> web.Response:
        settings = self._require(self.config.fastspring)
        if not settings.license_secrets:
            raise web.HTTPNotFound()
        raw = await request.read() if request.method == "POST" else request.rel_url.raw_query_string.encode()
        pairs = parse_form(raw)
        fastspring.verify_license_request(pairs, settings.license_secrets)
        keys = await self.fulfil(
            fastspring.license_purchase(pairs), settings.products, outcome, required=True
        )
        return web.Response(text=fastspring.license_response(keys), content_type="text/plain")

    async def fastspring_webhook(self, request: web.Request, outcome: Outcome) -> web.Response:
        settings = self._require(self.config.fastspring)
        if not settings.webhook_secrets:
            raise web.HTTPNotFound()
        body = await request.read()
        fastspring.verify_webhook(body, request.headers.get("X-FS-Signature"), settings.webhook_secrets)
        processed: list[str] = []
        failures: list[int] = []
        for event in fastspring.parse_webhook(body):
            try:
                if event.error is not None:
                    raise event.error
                if isinstance(event.action, Purchase):
                    await self.fulfil(event.action, settings.products, outcome, required=False)
                elif isinstance(event.action, Revocation):
                    await self.revoke(event.action, outcome)
                else:
                    outcome.add("ignored_events")
            except (BridgeError, UpstreamError) as error:
                failures.append(error.status)
                outcome.add("failed_events")
                continue
            processed.append(event.event_id)
        if not failures:
            return web.Response(text="", status=200)
        if processed:
            outcome.what = "partial"
            return web.Response(
                text="".join(f"{event_id}\n" for event_id in processed), status=202, content_type="text/plain"
            )
        outcome.what = "failed"
        return web.Response(
            text="no event could be processed\n", status=max(failures), content_type="text/plain"
        )

    # -- Paddle --------------------------------------------------------------------------------

    async def paddle_webhook(self, request: web.Request, outcome: Outcome) -> web.Response:
        settings = self._require(self.config.paddle)
        if not settings.webhook_secrets:
            raise web.HTTPNotFound()
        body = await request.read()
        paddle.verify_billing(
            body,
            request.headers.get("Paddle-Signature"),
            settings.webhook_secrets,
            now=self.clock(),
            tolerance=settings.tolerance_seconds,
        )
        event = paddle.parse_billing_event(body, sandbox=settings.sandbox)
        if isinstance(event.action, Purchase):
            purchase = event.action
            if event.customer_id is not None:
                purchase = replace(purchase, email=await self._paddle_customer_email(event.customer_id))
            await self.fulfil(purchase, settings.products, outcome, required=False)
        elif isinstance(event.action, Revocation):
            await self.revoke(event.action, outcome)
        else:
            outcome.what = "ignored_event"
        return web.Response(text="ok\n", content_type="text/plain")

    async def _paddle_customer_email(self, customer_id: str) -> str:
        settings = self._require(self.config.paddle)
        if not _CUSTOMER_ID.fullmatch(customer_id):
            raise BadRequest("data.customer_id is not a Paddle customer ID")
        if self.http is None or settings.api_key is None:
            raise ProviderUnavailable("no Paddle API client is configured")
        url = f"{settings.api_base}/customers/{quote(customer_id, safe='')}"
        try:
            async with self.http.get(
                url,
                headers={"Authorization": f"Bearer {settings.api_key}", "Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(total=self.config.deadline_seconds),
                allow_redirects=False,
            ) as response:
                if response.status == 404:
                    raise BadRequest("Paddle has no such customer")
                if response.status != 200:
                    raise ProviderUnavailable(f"Paddle's API answered {response.status}")
                document = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise ProviderUnavailable("Paddle's API could not be reached") from None
        return paddle.customer_email(document)

    async def paddle_classic(self, request: web.Request, outcome: Outcome) -> web.Response:
        settings = self._require(self.config.paddle)
        if self.paddle_classic_key is None:
            raise web.HTTPNotFound()
        pairs = parse_form(await request.read())
        paddle.verify_classic(pairs, self.paddle_classic_key)
        parsed = paddle.classic_request(pairs, sandbox=settings.sandbox)
        if isinstance(parsed.action, Purchase):
            keys = await self.fulfil(parsed.action, settings.products, outcome, required=True)
            return web.Response(text="\n".join(keys), content_type="text/plain")
        if isinstance(parsed.action, Revocation):
            await self.revoke(parsed.action, outcome)
        else:
            outcome.what = "ignored_alert"
        return web.Response(text="ok\n", content_type="text/plain")

    # -- plumbing -------------------------------------------------------------------------------

    @staticmethod
    def _require(settings: _T | None) -> _T:
        if settings is None:
            raise web.HTTPNotFound()
        return settings


def _endpoint(provider: str, name: str, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def serve(request: web.Request) -> web.Response:
        started = time.perf_counter()
        outcome = Outcome()
        try:
            response = await handler(request, outcome)
        except BridgeError as error:
            outcome.what = f"refused:{type(error).__name__}"
            # The reason names a field or a check, never a value: it is safe to log and to answer.
            log.warning("bridge provider=%s endpoint=%s refused: %s", provider, name, error.message)
            response = web.Response(text=error.message + "\n", status=error.status, content_type="text/plain")
        except UpstreamError as error:
            outcome.what = f"server:{error.code.name}{':' + error.reason if error.reason else ''}"
            log.warning("bridge provider=%s endpoint=%s server answered %s", provider, name, error)
            headers = {"Retry-After": str(max(1, round(error.retry_after or 5)))} if error.retryable else None
            response = web.Response(
                text=f"{error}\n", status=error.status, headers=headers, content_type="text/plain"
            )
        except web.HTTPException as error:
            outcome.what = f"http:{error.status}"
            response = web.Response(text=f"{error.reason}\n", status=error.status, content_type="text/plain")
        except Exception as error:  # noqa: BLE001 - anything else is our bug: log its type and where, never its message
            outcome.what = "internal_error"
            log.error("bridge provider=%s endpoint=%s failed unexpectedly: %s", provider, name, _where(error))
            response = web.Response(text="internal error\n", status=500, content_type="text/plain")
        elapsed = time.perf_counter() - started
        metrics.bridge_request(provider, name, response.status, elapsed)
        log.info(
            "bridge provider=%s endpoint=%s status=%d outcome=%s duration_ms=%.1f",
            provider,
            name,
            response.status,
            outcome,
            elapsed * 1e3,
        )
        return response

    return serve


def _where(error: BaseException) -> str:
    """The exception's type and the frames it passed through. Not its message, which may quote
    a value from the request (an email in a KeyError, say)."""
    frames = traceback.extract_tb(error.__traceback__)
    return f"{type(error).__name__} at " + " < ".join(
        f"{Path(frame.filename).name}:{frame.lineno}" for frame in reversed(frames[-4:])
    )


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok\n", content_type="text/plain")


def create_app(
    config: BridgeConfig,
    issuer: Issuer,
    *,
    clock: Callable[[], float] = time.time,
    http: aiohttp.ClientSession | None = None,
) -> web.Application:
    bridge = Bridge(config, issuer, clock=clock, http=http)
    app = web.Application(client_max_size=MAX_BODY)
    routes: Sequence[tuple[str, str, str, str, Handler]] = (
        ("POST", "/2checkout/keygen", "2checkout", "keygen", bridge.twocheckout_keygen),
        ("POST", "/2checkout/ipn", "2checkout", "ipn", bridge.twocheckout_ipn),
        ("POST", "/2checkout/lcn", "2checkout", "lcn", bridge.twocheckout_lcn),
        ("POST", "/fastspring/license", "fastspring", "license", bridge.fastspring_license),
        ("GET", "/fastspring/license", "fastspring", "license", bridge.fastspring_license),
        ("POST", "/fastspring/webhook", "fastspring", "webhook", bridge.fastspring_webhook),
        ("POST", "/paddle/webhook", "paddle", "webhook", bridge.paddle_webhook),
        ("POST", "/paddle/classic", "paddle", "classic", bridge.paddle_classic),
    )
    for method, path, provider, name, handler in routes:
        app.router.add_route(method, path, _endpoint(provider, name, handler))
    app.router.add_get("/healthz", _health)
    return app
