"""Bulk issuance (IssueLicenses, `licensing import`): a chunk of lines in, one outcome per line out.

For each chunk, on the caller's thread: the products resolved by the catalog, and one set-wise
read of which orders exist already (with their purchaser's blind index and licenses); then the
preparation (bulk_prepare.py) in a worker process of the pool, or inline without one; then a line
whose license exists is answered here with the writer's own rules (order_conflict, mismatch),
so a re-run of an import prepares no profile and writes nothing; the rest go to the group
committer as one write (issuance_writer.py, through Issuer.writing, which also retries a serial
held by another order with the next one, as for a single issuance).
"""

from __future__ import annotations

import hmac
from typing import NamedTuple

from .bulk_lines import Failure, from_wire
from .bulk_prepare import Chunk, Prepared, prepare_chunk
from .errors import LicensingError
from .inputs import check_order_ref
from .issuance import Issuer, run_writes
from .issuance_rules import mismatch, order_conflict
from .issuance_writer import Ready
from .prepare_pool import PreparePool
from .storage.issuance_rows import KnownOrder, known_orders

__all__ = ["BulkIssuer", "Issued", "Outcome"]

CREATED, EXISTING = True, False  # a line's outcome when it succeeded
Outcome = bool | Failure  # CREATED, EXISTING, or why the line was refused


def _valid_ref(ref: str) -> bool:
    try:
        check_order_ref(ref)
    except LicensingError:
        return False
    return True


class Issued(NamedTuple):
    """A chunk's answer: each line's outcome by position, and (product code, provider) per
    license created (for the trend counters)."""

    outcomes: dict[int, Outcome]
    created: list[tuple[str, str]]


class BulkIssuer:
    def __init__(self, issuer: Issuer, pool: PreparePool[Chunk, Prepared] | None = None) -> None:
        self.issuer = issuer
        self.pool = pool

    def issue(
        self, messages: list[tuple[int, bytes]], order_refs: set[str], product_codes: set[str], actor: str
    ) -> Issued:
        """Issue the lines of serialized stream messages (each with the position of its first
        line); `order_refs` and `product_codes` are the lines' own, as sent. Blocks until the
        chunk's writes are durable."""
        products: dict[str, int] = {}
        refused: dict[str, tuple[str, str, str]] = {}
        for code in product_codes:
            try:
                products[code] = self.issuer.product(code).number
            except LicensingError as exc:
                refused[code] = (getattr(exc, "field", "product"), exc.reason, exc.message)
        # Only references that pass the rules are looked up (PostgreSQL cannot compare a NUL).
        known = known_orders([ref for ref in order_refs if _valid_ref(ref)])
        chunk = Chunk(messages, products, refused, frozenset(known))
        ready, failed = self.pool.run(chunk) if self.pool is not None else prepare_chunk(self.issuer, chunk)

        outcomes: dict[int, Outcome] = {values[0]: Failure(*values) for values in failed}
        to_write: list[Ready] = []
        for values in ready:
            row = from_wire(values)
            stored = known.get(row.order_ref)
            answer = self._answer_of_stored(row, stored) if stored is not None else None
            if answer is None:
                to_write.append(row)
            else:
                outcomes[row.position] = answer
        codes = {number: code for code, number in products.items()}
        created = [(codes[row.product], row.provider) for row in self._write(to_write, actor, outcomes)]
        return Issued(outcomes, created)

    @staticmethod
    def _answer_of_stored(row: Ready, stored: KnownOrder) -> Outcome | None:
        """The outcome of a line whose order is stored, when it is settled without writing:
        another purchaser's order, or a license already there (matching or not); else None."""
        if stored.email_index is None or not hmac.compare_digest(stored.email_index, row.email_index):
            return Failure.of(row.position, order_conflict(stored.profile_id, row.email_index))
        license = stored.licenses.get(row.product)
        if license is None:
            return None  # the order, for another product: the writer adds this license
        problem = mismatch(license, row.terms, row.issued if row.explicit_order_time else None)
        return EXISTING if problem is None else Failure.of(row.position, problem)

    def _write(self, rows: list[Ready], actor: str, outcomes: dict[int, Outcome]) -> list[Ready]:
        """Write `rows` (Issuer.writing: the one writer, and its retry of a taken serial), each
        outcome into `outcomes`; returns the rows whose license was created."""
        created: list[Ready] = []
        for row, outcome in run_writes(self.issuer.writing(rows, actor), self.issuer.committer.submit_many):
            if isinstance(outcome, LicensingError):
                outcomes[row.position] = Failure.of(row.position, outcome)
            elif outcome.created:
                outcomes[row.position] = CREATED
                created.append(row)
            else:
                outcomes[row.position] = EXISTING
        return created
