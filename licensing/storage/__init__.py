"""Storage: Peewee models, the engine chosen by URL, and numbered schema migrations.

Knows nothing of gRPC or the CLI.
"""
