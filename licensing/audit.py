"""The append-only audit log of issuance, revocation and support actions.

Nothing in the service updates or deletes these rows; only `record` writes them. Targets name
orders, serials and opaque profile IDs, never an email address.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import peewee

from .storage.models import AuditEvent

__all__ = ["AuditEntry", "entries", "latest", "record"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    time: dt.datetime
    actor: str
    action: str
    target: str
    detail: str


def record(actor: str, action: str, target: str, detail: str = "") -> None:
    """Append one entry; call it inside the transaction of the change it records."""
    AuditEvent.create(actor=actor[:64], action=action[:32], target=target[:120], detail=detail[:200])


def _filtered(
    query: peewee.ModelSelect[AuditEvent],
    since: dt.datetime | None,
    until: dt.datetime | None,
    action: str | None,
) -> peewee.ModelSelect[AuditEvent]:
    if since is not None:
        query = query.where(AuditEvent.time >= since)
    if until is not None:
        query = query.where(AuditEvent.time < until)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return query


def _entry(row: AuditEvent) -> AuditEntry:
    return AuditEntry(row.time, row.actor, row.action, row.target, row.detail)


def entries(
    since: dt.datetime | None = None, until: dt.datetime | None = None, action: str | None = None
) -> Iterator[AuditEntry]:
    """Every entry matching the filters, oldest first (`licensing audit`)."""
    for row in _filtered(AuditEvent.select().order_by(AuditEvent.id), since, until, action).iterator():
        yield _entry(row)


def latest(
    limit: int, since: dt.datetime | None = None, until: dt.datetime | None = None, action: str | None = None
) -> list[AuditEntry]:
    """The newest `limit` entries matching the filters, newest first (the console's audit page)."""
    query = _filtered(AuditEvent.select().order_by(AuditEvent.id.desc()), since, until, action).limit(limit)
    return [_entry(row) for row in query]
