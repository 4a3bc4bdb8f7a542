"""`licensing serve` with one durable transaction per issuance: the straightforward path.

The group committer is kept, but its groups are capped at one write, so every request pays for
its own commit, as a server that signs and then writes each request in its own transaction
would. Nothing in licensing/ changes: the cap is the constructor's default, set here before
the CLI builds the server. A baseline for bench/issue.py only.

    python bench/one_commit_server.py serve --address 127.0.0.1:0 ...
"""

from __future__ import annotations

import sys

from licensing.cli.main import main
from licensing.storage.group_commit import GroupCommitter

defaults = GroupCommitter.__init__.__kwdefaults__
assert defaults is not None and "max_group" in defaults, "GroupCommitter no longer takes max_group"
defaults["max_group"] = 1

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
