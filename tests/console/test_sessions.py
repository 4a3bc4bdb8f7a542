"""Console sessions without a browser: idle and absolute expiry, a new ID at sign-in, CSRF."""

from __future__ import annotations

from licensing.console.sessions import MAX_SUBJECTS, SessionStore, Subject

from .conftest import Clock


def test_idle_and_lifetime_expiry() -> None:
    clock = Clock()
    store = SessionStore(idle=60, lifetime=300, clock=clock)
    session = store.new()
    clock.advance(59)
    assert store.get(session.id) is session  # a request restarts the idle timer
    clock.advance(59)
    assert store.get(session.id) is session
    clock.advance(61)
    assert store.get(session.id) is None
    busy = store.new()
    for _ in range(6):  # never idle, yet the lifetime ends it
        clock.advance(50)
        store.get(busy.id)
    clock.advance(1)
    assert store.get(busy.id) is None


def test_sign_in_replaces_the_session_and_sign_out_forgets_it() -> None:
    store = SessionStore(idle=60, lifetime=300, clock=Clock())
    before = store.new()
    after = store.sign_in(before, "lic_token", "alice", "support")
    assert after.id != before.id and after.csrf != before.csrf
    assert store.get(before.id) is None and store.get(after.id) is after
    after.remember(Subject("a@example.com", None))
    store.drop(after)
    assert store.get(after.id) is None and after.token is None and not after.subjects


def test_csrf_is_compared_exactly() -> None:
    session = SessionStore(idle=60, lifetime=300, clock=Clock()).new()
    assert session.csrf_ok(session.csrf)
    assert not session.csrf_ok(None) and not session.csrf_ok("") and not session.csrf_ok(session.csrf[:-1])


def test_a_session_remembers_a_bounded_number_of_purchasers() -> None:
    session = SessionStore(idle=60, lifetime=300, clock=Clock()).new()
    handles = [session.remember(Subject(f"p{i}@example.com", None)) for i in range(MAX_SUBJECTS + 5)]
    assert len(session.subjects) == MAX_SUBJECTS
    assert handles[0] not in session.subjects and handles[-1] in session.subjects


def test_anonymous_sessions_cannot_fill_memory() -> None:
    store = SessionStore(idle=60, lifetime=300, clock=Clock(), max_sessions=10)
    sessions = [store.new() for _ in range(25)]
    assert store.get(sessions[0].id) is None and store.get(sessions[-1].id) is sessions[-1]
