"""What the operator's commands share: settings from flags, the keyring, bound databases."""

from __future__ import annotations

import argparse
import os

from ..config import Settings
from ..keyring import Keyring, read_passphrase
from ..service import Databases, bind_databases

__all__ = ["open_databases", "open_keyring", "settings_of"]


def settings_of(args: argparse.Namespace) -> Settings:
    return Settings.from_environment(
        home=args.home, database_url=args.database_url, keystore_url=args.keystore_url
    )


def open_keyring(settings: Settings) -> Keyring:
    return Keyring.open(settings.keyring_path, read_passphrase(os.environ))


def open_databases(settings: Settings, *, migrate: bool = False) -> Databases:
    return bind_databases(settings, migrate=migrate)
