"""The append-only audit log of issuance, revocation and support actions.

Nothing in the service updates or deletes these rows; only `record` writes them. Targets name
orders, serials and opaque profile IDs, never an email address.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

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


def entries(
    since: dt.datetime | None = None, until: dt.datetime | None = None, action: str | None = None
) -> Iterator[AuditEntry]:
    query = AuditEvent.select().order_by(AuditEvent.id)
    if since is not None:
        query = query.where(AuditEvent.time >= since)
    if until is not None:
        query = query.where(AuditEvent.time < until)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    for row in query.iterator():
        yield AuditEntry(row.time, row.actor, row.action, row.target, row.detail)


def latest(
    limit: int, since: dt.datetime | None = None, until: dt.datetime | None = None, action: str | None = None
) -> list[AuditEntry]:
    """The newest `limit` entries matching the filters, newest first (the console's audit page)."""
    query = AuditEvent.select().order_by(AuditEvent.id.desc()).limit(limit)
    if since is not None:
        query = query.where(AuditEvent.time >= since)
    if until is not None:
        query = query.where(AuditEvent.time < until)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return [AuditEntry(row.time, row.actor, row.action, row.target, row.detail) for row in query]
