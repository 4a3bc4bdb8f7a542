"""The console's HTTP side: routes, sessions, CSRF, security headers, one log line per request.

    GET  /sign-in, POST /sign-in, POST /sign-out
    GET  /                       search form            POST /search → 303 /purchaser/{handle}
    GET  /purchaser/{handle}     a purchaser's page     POST …/export | …/consent | …/erase | …/revoke
    GET  /audit                  the audit log (admin)  GET  /trends   charts of counts
    GET  /static/…               console.css, console.js (the only assets; nothing from other hosts)

No email, key or order reference ever appears in a URL: searches are POSTed, and a purchaser's
page is named by a random handle that means something only inside the session that made it.
The log line names the route pattern, the status and the duration, never a path or a form field.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from aiohttp import web

from .._proto.licensing.v1 import admin_pb2, license_pb2, support_pb2
from . import pages
from .client import ConsoleClient, ConsoleError
from .sessions import Session, SessionStore, Subject

__all__ = ["ConsoleOptions", "create_app"]

log = logging.getLogger("licensing.console")

STATIC = Path(__file__).with_name("static")
MAX_FORM = 16 * 1024  # the longest form is a pasted key and a note
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'none'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_KEY_CHARS = re.compile(r"[\s-]")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION_KEY = web.AppKey("sessions", SessionStore)
CLIENT_KEY = web.AppKey("client", ConsoleClient)


@dataclass(frozen=True)
class ConsoleOptions:
    server_address: str = "127.0.0.1:50051"
    root_certificates: bytes | None = None  # the gRPC server's CA; None: plaintext to loopback
    secure_cookies: bool = False  # True when the console is reached over HTTPS
    idle_minutes: float = 30.0
    lifetime_hours: float = 8.0
    clock: Callable[[], float] = time.monotonic

    @property
    def cookie(self) -> str:
        # The __Host- prefix makes the browser insist on Secure, Path=/ and no Domain.
        return "__Host-console" if self.secure_cookies else "console_session"


OPTIONS_KEY = web.AppKey("options", ConsoleOptions)


@dataclass
class _State:
    """What the middlewares and a handler share about one request."""

    session: Session | None = None
    expired: bool = False  # a session cookie came, but its session is gone
    form: Any = None
    back: str = ""  # where a refused change returns to, with the server's message as a notice
    set_cookie: bool = False
    clear_cookie: bool = False


STATE_KEY = web.RequestKey("console", _State)


def _session(request: web.Request) -> Session:
    """The session of a request that the middleware or the handler's guard has let through."""
    session = _state(request).session
    if session is None:
        raise web.HTTPSeeOther("/sign-in")
    return session


def _state(request: web.Request) -> _State:
    state = request.get(STATE_KEY)
    if state is None:
        state = request[STATE_KEY] = _State()
    return state


# -- plumbing ----------------------------------------------------------------------------------


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _page(
    request: web.Request, title: str, body: str, *, status: int = 200, current: str = ""
) -> web.Response:
    session: Session | None = _state(request).session
    if session is None:
        return _html(pages.layout(title, body), status)
    return _html(
        pages.layout(
            title,
            body,
            csrf=session.csrf,
            name=session.name if session.signed_in else "",
            role=session.role,
            notices=session.take_notices(),
            current=current,
        ),
        status,
    )


def _see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers, errors as pages (never a traceback), and the one log line."""
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        if exc.status >= 400 and exc.text and not exc.content_type.startswith("text/html"):
            response = _page(request, exc.reason, pages.error_page(exc.text.strip()), status=exc.status)
    except Exception as exc:  # noqa: BLE001 - our bug: log the type only, show a plain page
        log.error("console route=%s failed unexpectedly: %s", _route(request), type(exc).__name__)
        response = _page(
            request,
            "Something went wrong",
            pages.error_page("The console failed; it has been logged."),
            status=500,
        )
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers.setdefault("Cache-Control", "no-store")
    options = request.app[OPTIONS_KEY]
    if options.secure_cookies:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    session: Session | None = _state(request).session
    if session is not None and _state(request).set_cookie:
        response.set_cookie(
            options.cookie,
            session.id,
            httponly=True,
            samesite="Strict",
            secure=options.secure_cookies,
            path="/",
            max_age=int(options.lifetime_hours * 3600),
        )
    if _state(request).clear_cookie:
        response.del_cookie(
            options.cookie, path="/", secure=options.secure_cookies, httponly=True, samesite="Strict"
        )
    log.info(
        "console method=%s route=%s status=%d duration_ms=%.1f",
        request.method,
        _route(request),
        response.status,
        (time.perf_counter() - started) * 1e3,
    )
    if isinstance(response, web.HTTPException):
        raise response
    return response


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"


@web.middleware
async def _sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Find the session; refuse a POST whose CSRF token is missing or wrong before any handler."""
    store = request.app[SESSION_KEY]
    cookie = request.cookies.get(request.app[OPTIONS_KEY].cookie)
    session = store.get(cookie)
    _state(request).session = session
    _state(request).expired = cookie is not None and session is None
    if request.path.startswith("/static/"):
        return await handler(request)
    if request.method == "POST":
        form = await request.post()
        _state(request).form = form
        if session is None:
            _state(request).clear_cookie = True
            raise _see_other("/sign-in?expired=1" if _state(request).expired else "/sign-in")
        csrf = form.get("csrf")
        if not session.csrf_ok(csrf if isinstance(csrf, str) else None):
            raise web.HTTPForbidden(
                text="This form was not sent from the console's own page (its security token is missing or "
                "out of date). Nothing was changed; reload the page and try again."
            )
    return await handler(request)


def _signed_in(*, admin: bool = False) -> Callable[[Handler], Handler]:
    def wrap(handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            session: Session | None = _state(request).session
            if session is None or not session.signed_in:
                if _state(request).expired:
                    _state(request).clear_cookie = True
                raise _see_other("/sign-in?expired=1" if _state(request).expired else "/sign-in")
            if admin and session.role != "admin":
                return _page(
                    request,
                    "Admins only",
                    pages.error_page(f"This page is for admins; your token has the {session.role} role."),
                    status=403,
                )
            try:
                return await handler(request)
            except ConsoleError as error:
                return _failed(request, session, error)

        return guarded

    return wrap


def _failed(request: web.Request, session: Session, error: ConsoleError) -> web.StreamResponse:
    """A refused call: sign out on a dead token, else the server's one line on the page."""
    if error.code == grpc.StatusCode.UNAUTHENTICATED:
        request.app[SESSION_KEY].drop(session)
        _state(request).clear_cookie = True
        raise _see_other("/sign-in?revoked=1")
    status = {
        grpc.StatusCode.PERMISSION_DENIED: 403,
        grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
        grpc.StatusCode.UNAVAILABLE: 503,
        grpc.StatusCode.DEADLINE_EXCEEDED: 504,
        grpc.StatusCode.NOT_FOUND: 404,
    }.get(error.code, 400)
    back = _state(request).back
    if request.method == "POST" and back:
        session.notice("error", error.message)
        raise _see_other(back)
    return _page(request, "Not done", pages.error_page(error.message), status=status)


def _text(request: web.Request, name: str) -> str:
    value = _state(request).form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _subject(request: web.Request) -> tuple[Session, str, Subject]:
    session = _session(request)
    handle = request.match_info["handle"]
    subject = session.subjects.get(handle)
    if subject is None:
        raise web.HTTPNotFound(
            text="This purchaser's page has expired or belongs to another session; search again."
        )
    _state(request).back = f"/purchaser/{handle}"
    return session, handle, subject


# -- sign-in and out -----------------------------------------------------------------------------


async def sign_in_form(request: web.Request) -> web.StreamResponse:
    session: Session | None = _state(request).session
    if session is not None and session.signed_in:
        raise _see_other("/")
    if session is None:
        session = request.app[SESSION_KEY].new()
        _state(request).session, _state(request).set_cookie = session, True
    if request.query.get("expired"):
        session.notice("error", "Your session has expired; sign in again.")
    elif request.query.get("revoked"):
        session.notice("error", "The server no longer accepts your token; sign in with a valid one.")
    elif request.query.get("out"):
        session.notice("info", "Signed out.")
    return _page(request, "Sign in", pages.sign_in_page(session.csrf))


async def sign_in(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    token = _text(request, "token")
    if not token:
        session.notice("error", "Paste your API token to sign in.")
        raise _see_other("/sign-in")
    try:
        caller = await request.app[CLIENT_KEY].caller(token)
    except ConsoleError as error:
        message = (
            "The token was refused: it is not valid or has been revoked."
            if error.code == grpc.StatusCode.UNAUTHENTICATED
            else error.message
        )
        session.notice("error", message)
        raise _see_other("/sign-in") from None
    if caller.role not in ("support", "admin"):
        session.notice(
            "error", f"The console is for support staff: a token with the {caller.role} role cannot sign in."
        )
        raise _see_other("/sign-in")
    fresh = request.app[SESSION_KEY].sign_in(session, token, caller.name, caller.role)
    _state(request).session, _state(request).set_cookie = fresh, True
    raise _see_other("/")


async def sign_out(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    request.app[SESSION_KEY].drop(session)
    _state(request).session, _state(request).clear_cookie = None, True
    raise _see_other("/sign-in?out=1")


# -- search and the purchaser's page -------------------------------------------------------------


@_signed_in()
async def home(request: web.Request) -> web.StreamResponse:
    return _page(request, "Find a purchaser", pages.search_page(_session(request).csrf), current="search")


def _search_kind(value: str, by: str) -> str:
    if by in ("email", "order_id", "license_key"):
        return by
    if "@" in value:
        return "email"
    # Order references are at most 64 characters; a key has over a hundred without its dashes.
    return "license_key" if len(_KEY_CHARS.sub("", value)) > 64 else "order_id"


_NOTHING_FOUND = {
    "email": "No purchaser has this email address.",
    "order_id": "No order has this reference (order references are compared exactly).",
    "license_key": "The key is well-formed, but no license with its serial is stored here.",
}


@_signed_in()
async def search(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    value, by = _text(request, "q"), _text(request, "by") or "auto"
    if not value:
        session.notice("error", "Type an email address, an order reference or a license key.")
        return _page(
            request, "Find a purchaser", pages.search_page(session.csrf), status=400, current="search"
        )
    kind = _search_kind(value, by)
    try:
        response = await request.app[CLIENT_KEY].find(session.token or "", kind, value)
    except ConsoleError as error:
        if error.code != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        message = error.message
        if error.reason == "KEY_INVALID":
            message += ". Check the key for a typo: a missing, extra or mistyped character."
        session.notice("error", message)
        # The value typed is shown again in the form (not the URL) so it can be corrected.
        return _page(
            request,
            "Find a purchaser",
            pages.search_page(session.csrf, value, by),
            status=400,
            current="search",
        )
    if not response.profiles:
        session.notice("info", _NOTHING_FOUND[kind])
        return _page(
            request, "Find a purchaser", pages.search_page(session.csrf, value, by), current="search"
        )
    email = response.profiles[0].profile.email if len(response.profiles) == 1 else ""
    handle = session.remember(Subject(email=email, response=response))
    raise _see_other(f"/purchaser/{handle}")


@_signed_in()
async def purchaser(request: web.Request) -> web.StreamResponse:
    session, handle, subject = _subject(request)
    body = pages.purchaser_page(session.csrf, handle, subject.response, session.role == "admin")
    return _page(request, "Purchaser", body, current="search")


@_signed_in()
async def export(request: web.Request) -> web.StreamResponse:
    session, _, subject = _subject(request)
    if not subject.email:
        raise web.HTTPConflict(text="Nothing to export: this purchaser's personal data was erased.")
    document = await request.app[CLIENT_KEY].export(session.token or "", subject.email)
    return web.Response(
        text=document if document.endswith("\n") else document + "\n",
        content_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="purchaser-export.json"'},
    )


def _replace_profile(subject: Subject, profile: support_pb2.Profile) -> None:
    for record in subject.response.profiles:
        if record.profile.profile_id == profile.profile_id:
            record.profile.CopyFrom(profile)


@_signed_in()
async def consent(request: web.Request) -> web.StreamResponse:
    session, handle, subject = _subject(request)
    choice, source = _text(request, "newsletter"), _text(request, "source")
    if choice not in ("on", "off"):
        session.notice("error", "Choose subscribed or not subscribed; nothing was recorded.")
        raise _see_other(f"/purchaser/{handle}")
    profile = await request.app[CLIENT_KEY].consent(
        session.token or "", subject.email, choice == "on", source
    )
    _replace_profile(subject, profile)
    session.notice(
        "info", "Newsletter consent recorded: " + ("subscribed." if choice == "on" else "not subscribed.")
    )
    raise _see_other(f"/purchaser/{handle}")


@_signed_in()
async def erase(request: web.Request) -> web.StreamResponse:
    session, handle, subject = _subject(request)
    if not subject.email or _text(request, "confirm").casefold() != subject.email.strip().casefold():
        session.notice(
            "error", "The confirmation does not match the purchaser's email address; nothing was erased."
        )
        raise _see_other(f"/purchaser/{handle}")
    response = await request.app[CLIENT_KEY].erase(session.token or "", subject.email)
    for record in subject.response.profiles:
        if record.profile.email and record.profile.email.casefold() == subject.email.casefold():
            record.profile.email = ""
            record.profile.erase_time.FromDatetime(dt.datetime.now(dt.UTC))
    subject.email = ""
    if response.erased:
        session.notice("info", f"Personal data erased; {response.licenses_kept} license(s) kept, anonymised.")
    else:
        session.notice("info", "Nothing was held for this email address any more; nothing erased.")
    raise _see_other(f"/purchaser/{handle}")


@_signed_in(admin=True)
async def revoke(request: web.Request) -> web.StreamResponse:
    session, handle, subject = _subject(request)
    reason_name = _text(request, "reason")
    if reason_name not in pages.REVOCATION_REASONS:
        session.notice("error", "Choose a revocation reason; nothing was revoked.")
        raise _see_other(f"/purchaser/{handle}")
    reason = license_pb2.RevocationReason.Value(f"REVOCATION_REASON_{reason_name.upper()}")
    revoked = await request.app[CLIENT_KEY].revoke(
        session.token or "",
        _text(request, "order_id"),
        _text(request, "product"),
        reason,
        _text(request, "note"),
    )
    by_serial = {lic.serial: lic for lic in revoked}
    for record in subject.response.profiles:
        for order in record.orders:
            for lic in order.licenses:
                if lic.serial in by_serial:
                    lic.CopyFrom(by_serial[lic.serial])
    serials = ", ".join(f"{lic.serial:012X}" for lic in revoked)
    session.notice("info", f"Revoked license {serials} ({reason_name}).")
    raise _see_other(f"/purchaser/{handle}")


# -- admin pages -----------------------------------------------------------------------------------


def _day(text: str, label: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
    except ValueError:
        raise web.HTTPBadRequest(text=f"“{label}” must be a date like 2026-01-31.") from None


@_signed_in(admin=True)
async def audit_log(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    action, since, until = (request.query.get(k, "").strip() for k in ("action", "since", "until"))
    query = admin_pb2.ListAuditEntriesRequest(action=action, page_size=200)
    start, end = _day(since, "From"), _day(until, "Before")
    if start is not None:
        query.start_time.FromDatetime(start)
    if end is not None:
        query.end_time.FromDatetime(end)
    entries = await request.app[CLIENT_KEY].audit(session.token or "", query)
    return _page(request, "Audit log", pages.audit_page(entries, action, since, until), current="audit")


@_signed_in()
async def trends(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    days = {"7": 7, "30": 30, "90": 90, "365": 365}.get(request.query.get("days", "30"), 30)
    response = await request.app[CLIENT_KEY].trends(session.token or "", days)
    return _page(request, "Trends", pages.trends_page(response), current="trends")


async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in ("console.css", "console.js"):
        raise web.HTTPNotFound(text="No such file.")
    response = web.FileResponse(STATIC / name)
    response.headers["Cache-Control"] = "max-age=3600"
    return response


def create_app(options: ConsoleOptions, client: ConsoleClient | None = None) -> web.Application:
    app = web.Application(middlewares=[_guard, _sessions], client_max_size=MAX_FORM)
    app[OPTIONS_KEY] = options
    app[SESSION_KEY] = SessionStore(
        options.idle_minutes * 60, options.lifetime_hours * 3600, clock=options.clock
    )
    app[CLIENT_KEY] = client or ConsoleClient(options.server_address, options.root_certificates)

    async def on_startup(app: web.Application) -> None:
        await app[CLIENT_KEY].start()

    async def on_cleanup(app: web.Application) -> None:
        await app[CLIENT_KEY].close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_get("/sign-in", sign_in_form)
    app.router.add_post("/sign-in", sign_in)
    app.router.add_post("/sign-out", sign_out)
    app.router.add_get("/", home)
    app.router.add_post("/search", search)
    app.router.add_get("/purchaser/{handle}", purchaser)
    app.router.add_post("/purchaser/{handle}/export", export)
    app.router.add_post("/purchaser/{handle}/consent", consent)
    app.router.add_post("/purchaser/{handle}/erase", erase)
    app.router.add_post("/purchaser/{handle}/revoke", revoke)
    app.router.add_get("/audit", audit_log)
    app.router.add_get("/trends", trends)
    app.router.add_get("/static/{name}", static_file)
    return app
