"""The `licensing` command: one module per command group, dispatched from main."""
