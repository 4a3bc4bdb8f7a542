"""The HTTP bridge between e-commerce providers and our gRPC API (`licensing bridge serve`).

It speaks 2Checkout's, FastSpring's and Paddle's protocols on one side and calls
IssuanceService as an ordinary `issuer` on the other; it never opens the database. One module
per provider holds that provider's pure signature, parsing and answer functions; `app.py` is
the HTTP application, `issuer.py` the gRPC client, `config.py` the configuration file.
See docs/providers.md.

Nothing is imported here: `licensing bridge --help` and `init-config` must not pay for aiohttp
(a fifth of a second), so each user imports the module it needs (`licensing.bridge.app`, …).
"""
