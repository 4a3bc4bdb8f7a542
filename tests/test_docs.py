"""Every fenced block of README.md, clients/python/README.md and docs/*.md, run or loaded as written.

- `sh` blocks run in bash (`set -euo pipefail`), in a folder laid out like the repository
  (`.venv`, `examples`, `var/home` made by `licensing init --dev`) with a server on a free port;
  blocks of one file run in order in one shell, so a later block sees the variables and files of
  an earlier one, as a reader's terminal would. A block that starts a server (`licensing serve`,
  `licensing bridge serve`) runs until it says it is listening, then gets SIGTERM.
- `python` blocks run with `.venv/bin/python` in that folder; `input()` gets a key and its email.
- `toml` blocks load as bridge configurations, `json` blocks parse, `csv` blocks are read by
  `licensing import`'s own row reader.
- `text` blocks are not run: output samples, layouts, formulas.

Production examples name hosts, paths and placeholders a test cannot have (`db1`,
`/srv/licensing/home`, `lic_…`); SUBSTITUTIONS swaps exactly those for the test's, and nothing
else. A block that cannot run at all says why in a `<!-- docs-test: … -->` line above it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pg
import pytest
from certs import make_ca, make_leaf
from devhome import DevHome, dev_home, licensing

from licensing.bridge.config import parse_config
from licensing.cli.import_csv import COLUMNS, request_of

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [
    REPO / "README.md",
    REPO / "clients" / "python" / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
]
LANGUAGES = {"sh", "python", "toml", "json", "csv", "text"}
SKIP_MARK = "<!-- docs-test:"
FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.MULTILINE | re.DOTALL
)
BRIDGE_SECRETS = {
    "TWOCHECKOUT_SECRET": "dev-2co",
    "FASTSPRING_PRIVATE_KEY": "dev-fs-key",
    "FASTSPRING_WEBHOOK_SECRET": "dev-fs-hook",
    "PADDLE_WEBHOOK_SECRET": "dev-paddle-hook",
    "PADDLE_API_KEY": "dev-paddle-api",
}


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    body: str
    skip: str | None  # the reason given in a <!-- docs-test: … --> line just above it

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        indent = len(match.group("indent"))
        body = "".join(
            row[indent:] if row[:indent].isspace() else row for row in match.group("body").splitlines(True)
        )
        skip = before[len(SKIP_MARK) :].removesuffix("-->").strip() if before.startswith(SKIP_MARK) else None
        found.append(Block(path, line, match.group("lang"), body, skip))
    return found


ALL = [block for path in DOCUMENTS for block in blocks(path)]


def of(lang: str, *names: str) -> list[Block]:
    return [
        b
        for b in ALL
        if b.lang == lang and (not names or b.path.name in names or str(b.path).endswith(names))
    ]


def test_every_block_says_whether_it_runs() -> None:
    untagged = [f"{b.where} ({b.lang or 'no language'})" for b in ALL if b.lang not in LANGUAGES]
    assert not untagged, f"tag these blocks with one of {sorted(LANGUAGES)}: {untagged}"
    assert len(ALL) > 20  # the parser found the documents' blocks


@pytest.mark.parametrize("block", of("json"), ids=lambda b: b.where)
def test_json_blocks_parse(block: Block) -> None:
    decoder, text, at = json.JSONDecoder(), block.body.strip(), 0
    while at < len(text):  # one document, or several one after the other (a sample per line)
        _, at = decoder.raw_decode(text, at)
        at += len(text[at:]) - len(text[at:].lstrip())


@pytest.mark.parametrize("block", of("csv"), ids=lambda b: b.where)
def test_csv_blocks_are_rows_licensing_import_takes(block: Block) -> None:
    reader = csv.DictReader(io.StringIO(block.body))
    assert set(reader.fieldnames or ()) <= set(COLUMNS)
    rows = list(reader)
    assert rows and all(request_of(row).email for row in rows)


@pytest.mark.parametrize("block", of("toml"), ids=lambda b: b.where)
def test_toml_blocks_load_as_bridge_configurations_for_the_dev_home(block: Block, tmp_path: Path) -> None:
    document = tomllib.loads(block.body)
    if "classic_public_key_file" in document.get("paddle", {}):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        (tmp_path / document["paddle"]["classic_public_key_file"]).write_bytes(
            public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    config = parse_config(document, {**BRIDGE_SECRETS, "LICENSING_ISSUER_TOKEN": "lic_test"}, base=tmp_path)
    # The products `licensing init --dev` makes: the sample must start against that home.
    assert set(config.product_codes().values()) <= {"demo-app"}, config.product_codes()


# -- the runnable blocks, against a development home -------------------------------------------


@dataclass
class Sandbox:
    root: Path
    dev: DevHome

    def env(self) -> dict[str, str]:
        env = self.dev.env()
        for name in ("LICENSING_HOME", "LICENSING_PASSPHRASE_FILE", *self.dev.tokens):
            env.pop(name, None)  # the blocks set what they need themselves, as a reader would
        env["PATH"] = f"{self.root / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"  # `licensing`, as installed
        return env


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A folder laid out like the repository after `make serve`, with the server running."""
    root = tmp_path_factory.mktemp("docs")
    (root / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (root / "examples").symlink_to(REPO / "examples")
    (root / "var").mkdir()
    with dev_home(root / "var" / "home") as dev:
        yield Sandbox(root, dev)


def run_shell(
    script: str, sandbox: Sandbox, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=sandbox.root,
        env=env or sandbox.env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_until_listening(script: str, sandbox: Sandbox, env: dict[str, str]) -> str:
    """A block that starts a server: wait for its listening line, then SIGTERM it; its output."""
    process = subprocess.Popen(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=sandbox.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    output = []
    for line in process.stdout:
        output.append(line)
        if "listening on port" in line:
            break
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=60)
    process.stdout.close()
    return "".join(output)


def test_readme_shell_and_python_blocks_run_in_order(sandbox: Sandbox) -> None:
    """The README from top to bottom: issue a key, check it offline, in Python, revoke it, support."""
    shell = [b for b in of("sh") if b.path == REPO / "README.md" and b.skip is None]
    python = [b for b in of("python") if b.path == REPO / "README.md"]
    assert len(shell) >= 4 and len(python) == 1
    before_python = [b for b in shell if b.line < python[0].line]
    after_python = [b for b in shell if b.line > python[0].line]
    # One shell for the blocks before the Python one; it prints the key for the Python block.
    first = run_shell("\n".join(b.body for b in before_python) + '\necho "KEY=$KEY"', sandbox)
    assert first.returncode == 0, first.stdout + first.stderr
    key = first.stdout.strip().splitlines()[-1].removeprefix("KEY=")
    assert "valid" in first.stdout and "serial" in first.stdout

    program = sandbox.root / "check_key.py"
    program.write_text(python[0].body)
    checked = subprocess.run(
        [str(sandbox.root / ".venv" / "bin" / "python"), str(program)],
        cwd=sandbox.root,
        env=sandbox.env(),
        input=f"{key}\nBuyer@Example.com\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "valid: serial" in checked.stdout

    consoles = [b for b in after_python if "console serve" in b.body]
    after_python = [b for b in after_python if b not in consoles]
    rest = run_shell(f"KEY={key}\n" + "\n".join(b.body for b in after_python), sandbox)
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert "not valid: REVOKED" in rest.stdout and "refused, as it should be" in rest.stdout
    assert "erased the purchaser's personal data" in rest.stdout
    assert (sandbox.root / "var" / "revoked.json").exists() and (sandbox.root / "var" / "buyer.json").exists()
    assert not [p.name for p in sandbox.root.iterdir() if p.suffix == ".json"]  # nothing beside the sources
    for block in consoles:  # a server of its own: started until it listens, on a free port
        output = run_until_listening(
            block.body.replace("127.0.0.1:8080", "127.0.0.1:0"), sandbox, sandbox.env()
        )
        assert "console listening on port" in output, f"{block.where}: {output}"


def test_client_readme_python_block_runs(sandbox: Sandbox, tmp_path: Path) -> None:
    (block,) = [b for b in of("python") if b.path == REPO / "clients" / "python" / "README.md"]
    env = sandbox.dev.env()
    order = f"CLIENT-{uuid.uuid4().hex[:8]}"
    issued = subprocess.run(
        [sys.executable, str(REPO / "examples" / "order_system.py"), "reader@example.com", order, "demo-app"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert issued.returncode == 0, issued.stderr
    assert licensing("keys", "export-public", "-o", str(tmp_path / "keyring.json"), env=env).returncode == 0
    (tmp_path / "check.py").write_text(block.body)
    checked = subprocess.run(
        [sys.executable, "check.py"],
        cwd=tmp_path,
        env=env,
        input=f"{issued.stdout.strip()}\nreader@example.com\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "valid: serial" in checked.stdout


def test_providers_blocks_run(sandbox: Sandbox, tmp_path: Path) -> None:
    """Write a configuration with init-config, then start the bridge on it as the page says."""
    init, serve = [b for b in of("sh") if b.path.name == "providers.md"]
    env = {
        **sandbox.env(),
        **BRIDGE_SECRETS,
        "LICENSING_ISSUER_TOKEN": sandbox.dev.tokens["LICENSING_ISSUER_TOKEN"],
    }
    config = sandbox.root / f"bridge-{uuid.uuid4().hex[:6]}.toml"
    made = run_shell(init.body.replace("bridge.toml", config.name), sandbox, env)
    assert made.returncode == 0, made.stderr
    script = serve.body.replace("/etc/licensing/bridge.toml", str(config))
    script = script.replace("lic_…", sandbox.dev.tokens["LICENSING_ISSUER_TOKEN"])
    script = re.sub(r"([A-Z_]+)=…", r"\1=$\1", script)  # each secret's placeholder: the test's value
    script = script.replace(f"--config {config}", f"--config {config} --address 127.0.0.1:0")
    output = run_until_listening(script, sandbox, env)
    assert "licensing bridge listening on port" in output, output


def test_operations_blocks_run(sandbox: Sandbox, tmp_path: Path) -> None:
    """Backups, replicas, the audit log and support's commands, with the test's hosts and paths."""
    home = sandbox.dev.home
    backups = tmp_path / "backups"
    (backups / "short").mkdir(parents=True)
    cert_dir = tmp_path / "tls"
    cert_dir.mkdir()
    ca_pem, ca_cert, ca_key = make_ca("docs test CA")
    server_cert, server_key = make_leaf("localhost", ca_cert, ca_key, server=True).write(cert_dir, "server")
    (sandbox.root / "ca.crt").write_bytes(ca_pem.cert)
    env = {
        **sandbox.env(),
        "LICENSING_HOME": str(home),
        "LICENSING_PASSPHRASE_FILE": str(home / "passphrase"),
    }
    substitutions = {
        "/srv/licensing/home": str(home),
        "/backups": str(backups),
        "server.crt": str(server_cert),
        "server.key": str(server_key),
        "10.0.0.5:50051": "127.0.0.1:0",
        "127.0.0.1:8080": "127.0.0.1:0",  # the console's port
        "--server 127.0.0.1:50051": f"--server {sandbox.env()['LICENSING_ADDRESS']}",
        "--metrics-address 9464": "--metrics-address 127.0.0.1:0 --address 127.0.0.1:0",
        "lic_…": sandbox.dev.tokens["LICENSING_SUPPORT_TOKEN"],
    }
    databases: list[str] = []
    pg_blocks = [b for b in of("sh") if b.path.name == "operations.md" and "postgresql://" in b.body]
    try:
        if pg_blocks:
            pg.require_postgres()
            for host, name in (("db1:5432/licensing", "main"), ("db2:5432/licensing_keys", "keys")):
                created, url = pg.create_database(f"licensing_docs_{name}")
                databases.append(created)
                substitutions[f"postgresql://licensing@{host}"] = url
        tls_server = None
        for block in (b for b in of("sh") if b.path.name == "operations.md"):
            script = block.body
            for old, new in substitutions.items():
                script = script.replace(old, new)
            if "licensing.internal:50051" in script:  # support's commands against a TLS server
                from devhome import start_server

                tls_server = start_server(
                    env,
                    tmp_path / "tls-server.log",
                    "--address",
                    "127.0.0.1:0",
                    "--tls-cert",
                    str(server_cert),
                    "--tls-key",
                    str(server_key),
                )
                script = script.replace("licensing.internal:50051", f"localhost:{tls_server.port}")
            if re.search(r"licensing (console |bridge )?serve", script):
                output = run_until_listening(script, sandbox, env)
                assert "listening on port" in output, f"{block.where}: {output}"
                continue
            done = run_shell(script, sandbox, env)
            assert done.returncode == 0, f"{block.where}: {done.stdout}{done.stderr}"
        assert list(backups.glob("licensing-*.sqlite3")) and list((backups / "short").glob("keystore-*"))
    finally:
        if tls_server is not None:
            tls_server.terminate()
            tls_server.wait(timeout=30)
        for name in databases:
            pg.drop_database(name)
