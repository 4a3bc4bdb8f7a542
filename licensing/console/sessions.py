"""Server-side sessions: the cookie holds only a random ID; the token stays in this process.

A session expires after `idle` seconds without a request and, however busy, after `lifetime`
seconds. Signing in replaces the session (a new ID), so an ID seen before sign-in is worthless
after it. Each session has its own CSRF token, compared in constant time on every change.

What a session remembers of purchasers (the last look-up, to show the page again and act on
it) lives here and nowhere else: it is gone at sign-out or expiry, and URLs name it only by a
random handle.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Session", "SessionStore", "Subject"]

MAX_SUBJECTS = 50  # purchasers remembered per session; the oldest is forgotten first


@dataclass
class Subject:
    """A purchaser found in this session: how they were found and what the server answered."""

    email: str  # the address to act on; "" once erased or when found without one
    response: Any  # the FindLicensesResponse, updated after each change made here


@dataclass
class Session:
    id: str
    csrf: str
    created: float
    seen: float
    token: str | None = None  # None: not signed in (the sign-in page's session)
    name: str = ""
    role: str = ""
    subjects: dict[str, Subject] = field(default_factory=dict)
    notices: list[tuple[str, str]] = field(default_factory=list)  # (kind, text), shown once

    @property
    def signed_in(self) -> bool:
        return self.token is not None

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self.csrf.encode())

    def remember(self, subject: Subject) -> str:
        handle = secrets.token_urlsafe(12)
        self.subjects[handle] = subject
        while len(self.subjects) > MAX_SUBJECTS:
            del self.subjects[next(iter(self.subjects))]
        return handle

    def notice(self, kind: str, text: str) -> None:
        self.notices.append((kind, text))

    def take_notices(self) -> list[tuple[str, str]]:
        notices, self.notices = self.notices, []
        return notices


class SessionStore:
    def __init__(
        self,
        idle: float,
        lifetime: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_sessions: int = 10_000,
    ) -> None:
        self.idle, self.lifetime, self.clock, self.max_sessions = idle, lifetime, clock, max_sessions
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new(self) -> Session:
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._purge(now)
            while len(self._sessions) >= self.max_sessions:  # anonymous visitors cannot fill memory
                del self._sessions[next(iter(self._sessions))]
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this ID, its idle timer restarted; None if unknown or expired."""
        if not session_id:
            return None
        now = self.clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if self._expired(session, now):
                del self._sessions[session_id]
                return None
            session.seen = now
            return session

    def sign_in(self, old: Session | None, token: str, name: str, role: str) -> Session:
        """A fresh session for the signed-in person; the pre-sign-in one is dropped."""
        if old is not None:
            self.drop(old)
        session = self.new()
        session.token, session.name, session.role = token, name, role
        return session

    def drop(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)
        session.token, session.subjects = None, {}

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.seen > self.idle or now - session.created > self.lifetime

    def _purge(self, now: float) -> None:
        for session_id in [s.id for s in self._sessions.values() if self._expired(s, now)]:
            del self._sessions[session_id]
