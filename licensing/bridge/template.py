"""A starting configuration for the bridge: the providers asked for, the server's products mapped.

`licensing bridge init-config` writes it. Each provider section names the environment variables
that will hold its secrets (never the secrets), and maps one provider product code per product
the server knows, named after our code: replace it with the code from the provider's control
panel. The result loads and starts as it is, once the variables are set.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

__all__ = ["PROVIDERS", "render_config", "secret_variables"]

PROVIDERS = ("twocheckout", "fastspring", "paddle")

_SECRETS = {
    "twocheckout": {"secret_env": "TWOCHECKOUT_SECRET"},
    "fastspring": {
        "license_secret_env": "FASTSPRING_PRIVATE_KEY",
        "webhook_secret_env": "FASTSPRING_WEBHOOK_SECRET",
    },
    "paddle": {"webhook_secret_env": "PADDLE_WEBHOOK_SECRET", "api_key_env": "PADDLE_API_KEY"},
}
_CODE_NOTE = {
    "twocheckout": "your 2Checkout product code (or 2Checkout's product ID)",
    "fastspring": "the FastSpring product path",
    "paddle": "a Paddle Billing price ID (pri_…) or product ID (pro_…); Classic: the numeric ID",
}


def secret_variables(providers: Sequence[str]) -> list[str]:
    return [name for provider in providers for name in _SECRETS[provider].values()]


def render_config(providers: Sequence[str], products: Sequence[str], *, server: str, listen: str) -> str:
    lines = [
        "# The provider bridge (docs/providers.md). Secrets stay in the environment variables named",
        "# here; the issuer token comes from LICENSING_ISSUER_TOKEN.",
        f'listen = "{listen}"',
        f'server = "{server}"',
    ]
    for provider in providers:
        lines += ["", f"[{provider}]"]
        lines += [f'{key} = "{name}"' for key, name in _SECRETS[provider].items()]
        for code in products:
            key = code if re.fullmatch(r"[A-Za-z0-9_-]+", code) else json.dumps(code)  # a dot needs quotes
            lines += [f"[{provider}.products.{key}]  # {_CODE_NOTE[provider]}", f'product = "{code}"']
    return "\n".join(lines) + "\n"
