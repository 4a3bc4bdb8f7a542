"""The preparation of a bulk chunk: each line converted, checked, its serial derived, its purchaser sealed.

Runs in a worker process of the preparation pool (prepare_pool.py) or inline, and touches no
database: products are resolved beforehand by the caller, who also says which orders exist
already (their purchaser needs no new profile, so nothing is sealed for them). No key is signed:
the IssueLicenses response carries counts and failures only, and a key is derived again from the
stored row whenever one is shown (license_keys.py). The rules are the Issuer's (Issuer.checked,
derive_serial, check_provider), the ones a single issuance follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .bulk_lines import Failure, lines_of
from .errors import LicensingError
from .inputs import check_provider
from .issuance import Issuer, derive_serial
from .issuance_writer import ready_values
from .profiles import NewProfile
from .storage.models import Product

__all__ = ["Chunk", "Prepared", "prepare_chunk"]

# What comes back through the pipe: Ready rows and failures, as plain tuples (bulk_lines.from_wire).
Prepared = tuple[list[tuple[Any, ...]], list[tuple[int, str, str, str]]]


@dataclass(frozen=True, slots=True)
class Chunk:
    """What the preparation of one chunk needs, sent to a worker as one message."""

    messages: list[tuple[int, bytes]]  # (position of its first line, the serialized stream message)
    products: dict[str, int]  # the chunk's known product codes and numbers
    refused_products: dict[str, tuple[str, str, str]]  # code -> the catalog's (field, reason, message)
    known_orders: frozenset[str]  # order references already stored: no profile to prepare


class _Refused(Exception):
    """The catalog's refusal of a product code, raised where Issuer.checked asks for the product."""


def _resolver(
    code: str, products: dict[str, Product], refused: dict[str, tuple[str, str, str]]
) -> Callable[[], Product]:
    """The product step of Issuer.checked for a code resolved beforehand (its error, if refused)."""
    found = products.get(code)
    if found is not None:
        return lambda: found
    failure = refused.get(code, ("product", "UNKNOWN_PRODUCT", "product: is not a known product code"))

    def refuse() -> Product:
        raise _Refused(*failure)

    return refuse


def prepare_chunk(issuer: Issuer, chunk: Chunk) -> Prepared:
    """Each line of `chunk` as a Ready row or a Failure; one sealed profile per email."""
    sealed: dict[bytes, NewProfile] = {}
    ready: list[tuple[Any, ...]] = []
    failed: list[tuple[int, str, str, str]] = []
    known = chunk.known_orders
    now = issuer.clock()  # once for the chunk: its lines arrived together
    products = {code: Product(number=number, code=code) for code, number in chunk.products.items()}
    resolvers: dict[str, Callable[[], Product]] = {}
    for first, raw in chunk.messages:
        for line in lines_of(first, raw):
            if isinstance(line, Failure):
                failed.append(tuple(line))  # type: ignore[arg-type]
                continue
            resolve = resolvers.get(line.product)
            if resolve is None:
                resolve = resolvers[line.product] = _resolver(line.product, products, chunk.refused_products)
            try:
                email, order_ref, product, order_time, terms = issuer.checked(
                    line.email,
                    line.order_ref,
                    resolve,
                    line.order_time,
                    line.terms,
                    now,
                )
                provider = check_provider(line.provider)
            except _Refused as refused:
                failed.append((line.position, *refused.args))
                continue
            except LicensingError as exc:
                failed.append(Failure.of(line.position, exc))
                continue
            email_index = issuer.profiles.index_of(email)
            profile = None
            if order_ref not in known:
                profile = sealed.get(email_index)
                if profile is None:
                    profile = sealed[email_index] = issuer.profiles.prepare(email, email_index)
            ready.append(
                ready_values(
                    line.position,
                    email_index,
                    order_ref,
                    product.number,
                    derive_serial(order_ref, product.number),
                    order_time,
                    line.order_time is not None,
                    terms,
                    provider,
                    line.test_order,
                    line.newsletter_consent,
                    None if profile is None else tuple(profile),  # plain: pickled without Python code
                )
            )
    return ready, failed
