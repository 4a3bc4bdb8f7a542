"""`licensing products add|list`: the products keys can be issued for."""

from __future__ import annotations

import argparse
import re
from typing import Any

from ..products import add_product
from ..storage.models import Product
from .common import open_databases, settings_of

_CODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")


def register(commands: Any) -> None:
    group = commands.add_parser("products", help="products").add_subparsers(dest="action", required=True)
    add = group.add_parser("add", help="add a product")
    add.add_argument("code", help="what the order system sends, e.g. photo-pro")
    add.add_argument(
        "--number", type=int, required=True, help="the number inside keys, 1..65535; never reuse one"
    )
    add.add_argument("--name", required=True, help="display name")
    add.set_defaults(func=_add)
    group.add_parser("list", help="list products").set_defaults(func=_list)


def _add(args: argparse.Namespace) -> int:
    open_databases(settings_of(args))
    product = add_product(args.code, args.number, args.name)
    print(f"added product {product.code} (number {product.number})")
    return 0


def _list(args: argparse.Namespace) -> int:
    open_databases(settings_of(args))
    for product in Product.select().order_by(Product.number):
        print(f"{product.number:>5}  {product.code:<24} {product.name}")
    return 0
