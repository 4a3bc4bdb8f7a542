"""Numbered schema migrations, applied in order and recorded in the `schema_migration` table.

Each module `mNNNN_name.py` defines `up(migrator, db)`. A migration declares frozen copies of
the tables it creates instead of importing the application's models, so that it keeps making
the same schema after the models move on; later changes use `playhouse.migrate` operations.
Never edit a migration that has shipped: add the next one.
"""
