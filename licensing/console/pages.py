"""HTML for the console's pages, rendered on the server; every value goes through `esc`.

No inline script or style anywhere (the Content-Security-Policy forbids both): behaviour comes
from /static/console.js, which only adds the copy buttons, and every flow works without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape

from .._proto.licensing.v1 import admin_pb2, license_pb2, support_pb2
from ..display import license_status_text
from .charts import bar_chart, stacked_daily_chart

__all__ = [
    "audit_page",
    "error_page",
    "layout",
    "purchaser_page",
    "search_page",
    "sign_in_page",
    "trends_page",
]

REVOCATION_REASONS = ("refund", "chargeback", "canceled", "fraud", "other")


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def _date(message: object, field: str) -> str:
    if not message.HasField(field):  # type: ignore[attr-defined]
        return ""
    return str(getattr(message, field).ToDatetime().date().isoformat())


def _time(message: object, field: str) -> str:
    if not message.HasField(field):  # type: ignore[attr-defined]
        return ""
    return f"{getattr(message, field).ToDatetime():%Y-%m-%d %H:%M:%S} UTC"


def csrf_field(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(csrf)}">'


def notices_html(notices: Iterable[tuple[str, str]]) -> str:
    parts = []
    for kind, text in notices:
        role = "alert" if kind == "error" else "status"
        parts.append(f'<p class="notice notice-{esc(kind)}" role="{role}">{esc(text)}</p>')
    return "".join(parts)


def layout(
    title: str,
    body: str,
    *,
    csrf: str = "",
    name: str = "",
    role: str = "",
    notices: Iterable[tuple[str, str]] = (),
    current: str = "",
) -> str:
    nav = ""
    if name:
        links = [("/", "Search", "search"), ("/trends", "Trends", "trends")]
        if role == "admin":
            links.append(("/audit", "Audit log", "audit"))
        here = ' aria-current="page"'
        items = "".join(
            f'<li><a href="{href}"{here if key == current else ""}>{esc(label)}</a></li>'
            for href, label, key in links
        )
        nav = (
            f'<nav aria-label="Main"><ul>{items}</ul>'
            f'<p class="who">Signed in as <strong>{esc(name)}</strong> ({esc(role)})</p>'
            f'<form method="post" action="/sign-out" class="inline">{csrf_field(csrf)}'
            '<button type="submit">Sign out</button></form></nav>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · Licensing console</title>"
        '<link rel="stylesheet" href="/static/console.css">'
        '<script src="/static/console.js" defer></script></head><body>'
        '<a class="skip" href="#main">Skip to content</a>'
        f'<header><p class="brand">Licensing console</p>{nav}</header>'
        f'<main id="main" tabindex="-1"><h1>{esc(title)}</h1>{notices_html(notices)}{body}</main>'
        "</body></html>"
    )


def sign_in_page(csrf: str) -> str:
    return (
        '<form method="post" action="/sign-in" class="card">'
        f"{csrf_field(csrf)}"
        "<p>Sign in with your own support or admin token (the operator makes one per person with "
        "<code>licensing tokens create NAME --role support</code>).</p>"
        '<label for="token">API token</label>'
        '<input id="token" name="token" type="password" autocomplete="off" required spellcheck="false">'
        '<button type="submit">Sign in</button></form>'
    )


def search_page(csrf: str, value: str = "", by: str = "auto") -> str:
    options = [
        ("auto", "Work it out"),
        ("email", "Email address"),
        ("order_id", "Order reference"),
        ("license_key", "License key"),
    ]
    choices = "".join(
        f'<option value="{key}"{" selected" if key == by else ""}>{esc(label)}</option>'
        for key, label in options
    )
    return (
        '<form method="post" action="/search" class="card" role="search">'
        f"{csrf_field(csrf)}"
        '<label for="q">Email address, order reference or license key</label>'
        f'<input id="q" name="q" type="text" value="{esc(value)}" autocomplete="off" spellcheck="false" required '
        'aria-describedby="q-help">'
        '<p id="q-help" class="help">A pasted key may have any letter case and misplaced dashes.</p>'
        '<label for="by">Search by</label>'
        f'<select id="by" name="by">{choices}</select>'
        '<button type="submit">Search</button></form>'
    )


def _revoke_form(csrf: str, handle: str, order_id: str, lic: license_pb2.License) -> str:
    options = "".join(f'<option value="{r}">{r}</option>' for r in REVOCATION_REASONS)
    ident = f"{lic.serial:012X}"
    return (
        f'<form method="post" action="/purchaser/{esc(handle)}/revoke" class="revoke">'
        f"{csrf_field(csrf)}"
        f'<input type="hidden" name="order_id" value="{esc(order_id)}">'
        f'<input type="hidden" name="product" value="{esc(lic.product)}">'
        f'<label for="reason-{ident}">Reason</label>'
        f'<select id="reason-{ident}" name="reason">{options}</select>'
        f'<label for="note-{ident}">Note</label>'
        f'<input id="note-{ident}" name="note" type="text" maxlength="200">'
        f'<button type="submit" aria-label="Revoke license {ident}">Revoke</button></form>'
    )


def _licenses(csrf: str, handle: str, order: support_pb2.OrderRecord, admin: bool) -> str:
    rows = []
    for lic in order.licenses:
        ident = f"{lic.serial:012X}"
        terms = lic.terms
        key_cell = (
            f'<label class="visually-hidden" for="key-{ident}">License key {ident}</label>'
            f'<input class="key" id="key-{ident}" type="text" readonly value="{esc(lic.license_key)}">'
            f'<button type="button" class="copy" data-copy="key-{ident}" hidden>Copy key</button>'
        )
        action = ""
        if admin:
            action = (
                _revoke_form(csrf, handle, order.order_id, lic)
                if lic.status != license_pb2.LICENSE_STATUS_REVOKED
                else "revoked"
            )
        rows.append(
            "<tr>"
            f"<td>{esc(lic.product)}</td><td><code>{ident}</code></td><td>{esc(license_status_text(lic))}</td>"
            f"<td>{esc(_date(lic, 'issue_time'))}</td>"
            f"<td>{esc(_date(terms, 'expire_time') or 'perpetual')}</td>"
            f"<td>{esc(_date(terms, 'updates_until_time') or 'no end')}</td>"
            f"<td>{terms.seats}</td><td>{key_cell}</td>" + (f"<td>{action}</td>" if admin else "") + "</tr>"
        )
    head = '<th scope="col">Revoke</th>' if admin else ""
    return (
        '<table><thead><tr><th scope="col">Product</th><th scope="col">Serial</th><th scope="col">Status</th>'
        '<th scope="col">Issued</th><th scope="col">Expires</th><th scope="col">Updates until</th>'
        f'<th scope="col">Seats</th><th scope="col">Key</th>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _profile(profile: support_pb2.Profile) -> str:
    newsletter = "subscribed" if profile.newsletter.subscribed else "not subscribed"
    if profile.newsletter.HasField("change_time"):
        newsletter += f" since {_date(profile.newsletter, 'change_time')} ({profile.newsletter.source or 'unknown source'})"
    email = profile.email or f"erased on {_date(profile, 'erase_time')}"
    return (
        '<dl class="profile">'
        f"<dt>Email</dt><dd>{esc(email)}</dd>"
        f"<dt>Profile</dt><dd><code>{esc(profile.profile_id)}</code></dd>"
        f"<dt>Created</dt><dd>{esc(_date(profile, 'create_time'))}</dd>"
        f"<dt>Newsletter</dt><dd>{esc(newsletter)}</dd></dl>"
    )


def _actions(csrf: str, handle: str, profile: support_pb2.Profile) -> str:
    if not profile.email:
        return '<p class="help">The personal data was erased; its licenses are kept, anonymised.</p>'
    subscribed = profile.newsletter.subscribed
    base = f"/purchaser/{esc(handle)}"
    return (
        '<section aria-labelledby="actions-h"><h2 id="actions-h">Requests from the purchaser</h2>'
        f'<form method="post" action="{base}/export" class="card">{csrf_field(csrf)}'
        "<h3>Export</h3><p>Everything held about this purchaser, as a JSON file.</p>"
        '<button type="submit">Download the export</button></form>'
        f'<form method="post" action="{base}/consent" class="card">{csrf_field(csrf)}'
        "<fieldset><legend>Newsletter consent</legend>"
        f'<input type="radio" id="nl-on" name="newsletter" value="on"{" checked" if subscribed else ""}>'
        '<label for="nl-on" class="inline">Subscribed</label>'
        f'<input type="radio" id="nl-off" name="newsletter" value="off"{"" if subscribed else " checked"}>'
        '<label for="nl-off" class="inline">Not subscribed</label></fieldset>'
        '<label for="source">Where the purchaser said so</label>'
        '<input id="source" name="source" type="text" value="support" maxlength="64" required>'
        '<button type="submit">Record consent</button></form>'
        f'<form method="post" action="{base}/erase" class="card danger">{csrf_field(csrf)}'
        "<h3>Erase</h3><p>The email address becomes unrecoverable, backups included; the purchaser's "
        "license keys keep working.</p>"
        '<label for="confirm">Type the purchaser\'s email address to confirm</label>'
        '<input id="confirm" name="confirm" type="text" autocomplete="off" spellcheck="false" required>'
        '<button type="submit">Erase personal data</button></form></section>'
    )


def purchaser_page(csrf: str, handle: str, response: support_pb2.FindLicensesResponse, admin: bool) -> str:
    parts = []
    for record in response.profiles:
        orders = "".join(
            f'<section class="order" aria-label="Order {esc(order.order_id)}">'
            f"<h3>Order <code>{esc(order.order_id)}</code></h3>"
            f'<p class="help">{esc(order.provider)}, {esc(_date(order, "order_time"))}'
            f"{' (test order)' if order.test_order else ''}</p>"
            f"{_licenses(csrf, handle, order, admin)}</section>"
            for order in record.orders
        )
        parts.append(
            f'<section aria-labelledby="p-{esc(record.profile.profile_id)}" class="purchaser">'
            f'<h2 id="p-{esc(record.profile.profile_id)}">Profile</h2>{_profile(record.profile)}'
            f"<h2>Orders and licenses</h2>{orders or '<p>No orders.</p>'}"
            f"{_actions(csrf, handle, record.profile)}</section>"
        )
    parts.append('<p role="status" class="copied" id="copy-status" aria-live="polite"></p>')
    return "".join(parts)


def audit_page(entries: Sequence[admin_pb2.AuditEntry], action: str, since: str, until: str) -> str:
    actions = ("", "issue", "revoke", "find", "export", "erase", "consent")
    options = "".join(
        f'<option value="{a}"{" selected" if a == action else ""}>{a or "all"}</option>' for a in actions
    )
    rows = "".join(
        f"<tr><td>{esc(_time(e, 'time'))}</td><td>{esc(e.actor)}</td><td>{esc(e.action)}</td>"
        f"<td><code>{esc(e.target)}</code></td><td>{esc(e.detail)}</td></tr>"
        for e in entries
    )
    return (
        '<form method="get" action="/audit" class="card filters">'
        f'<label for="action">Action</label><select id="action" name="action">{options}</select>'
        f'<label for="since">From (date)</label><input id="since" name="since" type="date" value="{esc(since)}">'
        f'<label for="until">Before (date)</label><input id="until" name="until" type="date" value="{esc(until)}">'
        '<button type="submit">Filter</button></form>'
        f'<table><caption>{len(entries)} newest entries</caption><thead><tr><th scope="col">Time</th>'
        '<th scope="col">Who</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Detail</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def trends_page(trends: admin_pb2.GetTrendsResponse) -> str:
    start = trends.start_time.ToDatetime().date()
    days = [start + dt.timedelta(days=i) for i in range(trends.days)]

    def series(rows: Iterable[admin_pb2.DailyCount], key: str) -> dict[str, dict[dt.date, int]]:
        out: dict[str, dict[dt.date, int]] = {}
        for row in rows:
            name = row.product if key == "product" else row.category
            day = row.day_time.ToDatetime().date()
            out.setdefault(name, {})
            out[name][day] = out[name].get(day, 0) + row.count
        return out

    issued = stacked_daily_chart(
        "Licenses issued per day, by product", days, series(trends.issued, "product")
    )
    revoked = stacked_daily_chart(
        "Licenses revoked per day, by reason (refunds, chargebacks…)",
        days,
        series(trends.revoked, "category"),
    )
    verdicts = bar_chart(
        "Online validation verdicts since the server started, by reason",
        [(v.reason, v.count) for v in trends.verdicts],
    )
    return (
        f'<p class="help">The last {trends.days} days (UTC), counted by the server; test orders excluded. '
        "Counts only: no purchaser appears here.</p>"
        f'<section class="chart">{issued}</section><section class="chart">{revoked}</section>'
        f'<section class="chart">{verdicts}</section>'
    )


def error_page(message: str) -> str:
    return (
        f'<p class="notice notice-error" role="alert">{esc(message)}</p><p><a href="/">Back to search</a></p>'
    )
