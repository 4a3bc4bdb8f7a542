"""The preparation of a bulk chunk: each line checked, its serial derived, its purchaser sealed.

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

from .bulk_lines import Failure, Line, Ready
from .errors import LicensingError
from .inputs import check_provider
from .issuance import Issuer, derive_serial
from .profiles import NewProfile
from .storage.models import Product

__all__ = ["Chunk", "prepare_chunk"]


@dataclass(frozen=True, slots=True)
class Chunk:
    """What the preparation of one chunk needs, sent to a worker as one message."""

    lines: list[Line]
    products: dict[str, int]  # the chunk's known product codes and numbers; a code missing is unknown
    refused_products: dict[str, tuple[str, str, str]]  # code -> the catalog's (field, reason, message)
    known_orders: frozenset[str]  # order references already stored: no profile to prepare


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


class _Refused(Exception):
    """The catalog's refusal of a product code, raised where Issuer.checked asks for the product."""


def prepare_chunk(issuer: Issuer, chunk: Chunk) -> list[Ready | Failure]:
    """Each line of `chunk` as a `Ready` row or a `Failure`, in order; one sealed profile per email."""
    sealed: dict[bytes, NewProfile] = {}
    out: list[Ready | Failure] = []
    known = chunk.known_orders
    products = {code: Product(number=number, code=code) for code, number in chunk.products.items()}
    for line in chunk.lines:
        try:
            email, order_ref, product, order_time, terms = issuer.checked(
                line.email,
                line.order_ref,
                _resolver(line.product, products, chunk.refused_products),
                line.order_time,
                line.terms,
            )
            provider = check_provider(line.provider)
        except _Refused as refused:
            out.append(Failure(line.position, *refused.args))
            continue
        except LicensingError as exc:
            out.append(Failure(line.position, getattr(exc, "field", ""), exc.reason, exc.message))
            continue
        email_index = issuer.profiles.index_of(email)
        profile = None
        if order_ref not in known:
            profile = sealed.get(email_index)
            if profile is None:
                profile = sealed[email_index] = issuer.profiles.prepare(email, email_index)
        out.append(
            Ready(
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
                profile,
            )
        )
    return out
