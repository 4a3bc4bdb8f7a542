"""Products: added by the operator, then never changed or deleted, so they are safe to cache.

Keys carry a product's number; people and the order system use its code.
"""

from __future__ import annotations

import re
import threading

import peewee

from .errors import AlreadyExists, InvalidArgument
from .storage.models import Product

__all__ = ["ProductCatalog", "add_product", "all_products"]

_CODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")


def add_product(code: str, number: int, name: str) -> Product:
    if not _CODE.fullmatch(code):
        raise InvalidArgument(
            "code", "must be 1 to 40 lower-case letters, digits, dots, underscores or hyphens"
        )
    if not 1 <= number <= 0xFFFF:
        raise InvalidArgument("number", "must be 1 to 65535")
    if not name or len(name) > 200:
        raise InvalidArgument("name", "must be 1 to 200 characters")
    try:
        return Product.create(number=number, code=code, name=name)
    except peewee.IntegrityError:
        raise AlreadyExists(f"product code {code!r} or number {number} is taken") from None


def all_products() -> list[Product]:
    """Every product, in number order."""
    return list(Product.select().order_by(Product.number))


class ProductCatalog:
    """Look-ups by code and by number; a miss goes to the database (a product added meanwhile)."""

    def __init__(self) -> None:
        self._by_code: dict[str, Product] = {}
        self._by_number: dict[int, Product] = {}
        self._lock = threading.Lock()

    def by_code(self, code: str) -> Product:
        """The product for a code a caller sent, or InvalidArgument naming the `product` field."""
        product = self._by_code.get(code)
        if product is not None:
            return product
        if not code:
            raise InvalidArgument("product", "is required", reason="PRODUCT_REQUIRED")
        found = Product.get_or_none(Product.code == code) if _CODE.fullmatch(code) else None
        if found is None:
            raise InvalidArgument(
                "product",
                "is not a known product code (see `licensing products list`)",
                reason="UNKNOWN_PRODUCT",
            )
        return self._remember(found)

    def code_of(self, number: int) -> str | None:
        product = self._by_number.get(number) or Product.get_or_none(Product.number == number)
        return None if product is None else self._remember(product).code

    def _remember(self, product: Product) -> Product:
        with self._lock:
            self._by_code[product.code] = product
            self._by_number[product.number] = product
        return product
