"""A newcomer's first hour, run as they would run it: real commands in a real development home.

Each test starts the command as a child process and checks what a person sees: one line saying
what is wrong and what to do, exit status 2 for a wrong command line and 1 for a failure, and a
traceback only with -v. The home is made by `licensing init --dev`, as `make serve` makes it,
and one `licensing serve` child serves the module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from devhome import DevHome, base_env, dev_home, free_port, licensing, run, start_server
from serverchild import ServerChild, ServerDidNotStart

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LICENSE_CHECK = shutil.which("license-check", path=str(BIN))


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line of stderr a failure must print, with no traceback."""
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def usage_line(result: subprocess.CompletedProcess[str]) -> str:
    """argparse's form: a usage block, then one `prog: error: …` line; status 2."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHome]:
    with dev_home(tmp_path_factory.mktemp("first-hour") / "home") as home:
        yield home


def issue(dev: DevHome, email: str, order: str) -> str:
    result = run(
        [sys.executable, str(REPO / "examples" / "order_system.py"), email, order, "demo-app"], dev.env()
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# -- 1. the port -------------------------------------------------------------------------------


def test_serve_on_a_taken_port_says_so_in_one_line(dev: DevHome) -> None:
    result = licensing("serve", "--address", dev.address, env=dev.env())
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith(f"error: cannot listen on {dev.address}: the port is in use")
    assert "--address" in line and "LICENSING_ADDRESS" in line


def test_serve_with_v_shows_the_traceback(dev: DevHome) -> None:
    result = licensing("-v", "serve", "--address", dev.address, env=dev.env())
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ConfigurationError" in result.stderr


def test_serve_listens_where_licensing_address_says(dev: DevHome, tmp_path: Path) -> None:
    port = free_port()
    env = dev.env(LICENSING_ADDRESS=f"127.0.0.1:{port}")
    server = start_server(env, tmp_path / "server.log")
    try:
        assert server.port == port
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:99999", "port 99999 is out of range"),
        ("50152", "'50152' is a port alone: give host:port, e.g. 127.0.0.1:50152"),
        ("localhost", "'localhost' is not host:port"),
    ],
)
def test_serve_refuses_a_wrong_address_as_a_usage_error(dev: DevHome, address: str, expected: str) -> None:
    line = usage_line(licensing("serve", "--address", address, env=dev.env()))
    assert line.startswith("licensing serve: error: argument --address:") and expected in line


# -- 2. the database ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["tokens", "list"], ["audit"], ["serve", "--address", "127.0.0.1:0"]])
def test_a_database_that_is_down_is_one_line(dev: DevHome, command: list[str]) -> None:
    port = free_port()  # nothing listens there: a PostgreSQL server that is not running
    url = f"postgresql://postgres@127.0.0.1:{port}/licensing"
    result = licensing("--database-url", url, *command, env=dev.env())
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith("error: cannot use the database: connection to server at")
    assert "LICENSING_DATABASE_URL" in line


@pytest.mark.postgres
@pytest.mark.parametrize("command", [["tokens", "list"], ["audit"], ["serve", "--address", "127.0.0.1:0"]])
def test_a_database_that_does_not_exist_is_one_line(dev: DevHome, command: list[str]) -> None:
    import pg

    pg.require_postgres()
    url = f"postgresql://postgres@127.0.0.1:5432/licensing_missing_{uuid.uuid4().hex[:8]}"
    result = licensing("--database-url", url, *command, env=dev.env())
    assert result.returncode == 1
    line = one_line(result)
    assert "does not exist" in line and "LICENSING_DATABASE_URL" in line


def test_a_home_that_was_never_initialised_says_what_to_run(tmp_path: Path) -> None:
    result = licensing("tokens", "list", env=base_env(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "run `licensing init`" in one_line(result)


# -- 4. the whole life of a license in the CLI -------------------------------------------------


def test_licenses_show_list_revoke_then_export(dev: DevHome, tmp_path: Path) -> None:
    order = f"LIFE-{uuid.uuid4().hex[:8]}"
    key = issue(dev, "life@example.com", order)
    env = dev.env()

    shown = licensing("licenses", "show", "--key", key, env=env)
    assert shown.returncode == 0, shown.stderr
    assert f"order:         {order}" in shown.stdout and "status:        valid" in shown.stdout
    serial = re.search(r"serial: +([0-9A-F]{12})", shown.stdout)
    assert serial is not None

    listed = licensing("licenses", "list", "--status", "valid", "--limit", "0", env=env)
    assert listed.returncode == 0 and serial.group(1) in listed.stdout

    revoked = licensing("licenses", "revoke", "--order", order, "--reason", "refund", env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked (refund)" in revoked.stdout

    by_serial = licensing("licenses", "show", "--serial", serial.group(1), "--json", env=env)
    assert '"status": "LICENSE_STATUS_REVOKED"' in by_serial.stdout
    assert f'"serial": "{serial.group(1)}"' in by_serial.stdout

    exported = licensing("revocations", "export", "-o", str(tmp_path / "revoked.json"), env=env)
    assert exported.returncode == 0, exported.stderr
    keyring = licensing("keys", "export-public", "-o", str(tmp_path / "keyring.json"), env=env)
    assert keyring.returncode == 0, keyring.stderr
    check = run(
        [
            str(LICENSE_CHECK),
            "--key",
            key,
            "--email",
            "life@example.com",
            "--product",
            "demo-app",
            "--keyring",
            str(tmp_path / "keyring.json"),
            "--revocations",
            str(tmp_path / "revoked.json"),
        ],
        env,
    )
    assert check.returncode == 1 and "not valid: REVOKED" in check.stdout


def test_licenses_show_of_an_unknown_order_is_one_line(dev: DevHome) -> None:
    result = licensing("licenses", "show", "--order", "NO-SUCH-ORDER", env=dev.env())
    assert result.returncode == 1
    assert one_line(result).startswith("error: no license matches")


def test_licenses_refuse_a_support_token(dev: DevHome) -> None:
    env = {k: v for k, v in dev.env().items() if k not in ("LICENSING_ISSUER_TOKEN", "LICENSING_ADMIN_TOKEN")}
    result = licensing("licenses", "list", "--token", dev.tokens["LICENSING_SUPPORT_TOKEN"], env=env)
    assert result.returncode == 1
    assert one_line(result).startswith("error: PERMISSION_DENIED:")


def test_licenses_without_a_token_name_the_variables(dev: DevHome) -> None:
    env = {k: v for k, v in dev.env().items() if not k.endswith("_TOKEN")}
    result = licensing("licenses", "list", env=env)
    assert result.returncode == 1
    assert one_line(result) == (
        "error: no issuer or admin token: set LICENSING_ISSUER_TOKEN or LICENSING_ADMIN_TOKEN (or give --token)"
    )


def test_licenses_show_of_a_mistyped_key_is_a_usage_error(dev: DevHome) -> None:
    result = licensing("licenses", "show", "--key", "040G0093-WTF8", env=dev.env())
    assert result.returncode == 2
    assert one_line(result).startswith(
        "error: --key: the key is incomplete: 131 of its 143 characters are missing"
    )


def test_import_to_a_remote_address_without_tls_keeps_the_token(dev: DevHome, tmp_path: Path) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("email,order_id,product\nx@example.com,R-1,demo-app\n")
    result = licensing("import", str(csv), "--address", "192.0.2.1:50051", env=dev.env())
    assert result.returncode == 1
    assert one_line(result).startswith("error: refusing to send the token in plaintext to 192.0.2.1:50051")


# -- 6. the provider bridge ---------------------------------------------------------------------

BRIDGE_SECRETS = {
    "TWOCHECKOUT_SECRET": "dev-2co-secret",
    "FASTSPRING_PRIVATE_KEY": "dev-fs-key",
    "FASTSPRING_WEBHOOK_SECRET": "dev-fs-hook",
    "PADDLE_WEBHOOK_SECRET": "dev-paddle-hook",
    "PADDLE_API_KEY": "dev-paddle-api",
}


PREFIXES = {"TWOCHECKOUT": "twocheckout", "FASTSPRING": "fastspring", "PADDLE": "paddle"}


def start_bridge(config: Path, env: dict[str, str], log: Path) -> subprocess.CompletedProcess[str] | int:
    """`licensing bridge serve`: the port it listened on (then stopped), or the finished process when it refused."""
    argv = [
        sys.executable,
        "-m",
        "licensing.cli.main",
        "bridge",
        "serve",
        "--config",
        str(config),
        "--address",
        "127.0.0.1:0",
    ]
    try:
        bridge = ServerChild(argv, env, log)
    except ServerDidNotStart as refused:
        return subprocess.CompletedProcess(argv, refused.returncode, "", refused.log)
    assert bridge.stop() == 0, bridge.log_tail()
    return bridge.port


@pytest.mark.parametrize(
    "providers", [["twocheckout"], ["fastspring"], ["paddle"], ["twocheckout", "fastspring", "paddle"]]
)
def test_bridge_init_config_starts_against_the_dev_home(
    dev: DevHome, tmp_path: Path, providers: list[str]
) -> None:
    config = tmp_path / "bridge.toml"
    args = [arg for provider in providers for arg in ("--provider", provider)]
    made = licensing("bridge", "init-config", *args, "-o", str(config), env=dev.env())
    assert made.returncode == 0, made.stderr
    assert "[" + providers[0] + ".products.demo-app]" in config.read_text()
    again = licensing("bridge", "init-config", *args, "-o", str(config), env=dev.env())
    assert again.returncode == 1 and "is never overwritten" in one_line(again)
    # Only the chosen providers' secrets are needed.
    needed = {
        name: value for name, value in BRIDGE_SECRETS.items() if PREFIXES[name.split("_")[0]] in providers
    }
    started = start_bridge(config, dev.env(**needed), tmp_path / "bridge.log")
    assert isinstance(started, int), started


def test_bridge_names_products_the_server_does_not_know(dev: DevHome, tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'server = "{dev.address}"\n[twocheckout]\nsecret_env = "TWOCHECKOUT_SECRET"\n'
        '[twocheckout.products.PHOTO-PRO-1Y]\nproduct = "photo-pro"\n'
        '[twocheckout.products.DEMO]\nproduct = "demo-app"\n'
    )
    refused = start_bridge(config, dev.env(**BRIDGE_SECRETS), tmp_path / "bridge.log")
    assert isinstance(refused, subprocess.CompletedProcess)
    assert refused.returncode == 1
    line = one_line(refused)
    assert "twocheckout.products.PHOTO-PRO-1Y.product = 'photo-pro'" in line
    assert "DEMO" not in line and "it knows demo-app" in line


def test_bridge_with_the_server_down_says_so_in_one_line(dev: DevHome, tmp_path: Path) -> None:
    down = f"127.0.0.1:{free_port()}"
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'server = "{down}"\ndeadline_seconds = 2\n[twocheckout]\nsecret_env = "TWOCHECKOUT_SECRET"\n'
        '[twocheckout.products.DEMO]\nproduct = "demo-app"\n'
    )
    refused = start_bridge(config, dev.env(**BRIDGE_SECRETS), tmp_path / "bridge.log")
    assert isinstance(refused, subprocess.CompletedProcess) and refused.returncode == 1
    assert one_line(refused).startswith(f"error: cannot reach the licensing server at {down}")


# -- 7. the example order system ---------------------------------------------------------------


def test_order_system_without_a_token_is_one_usage_line(dev: DevHome) -> None:
    env = {k: v for k, v in dev.env().items() if k != "LICENSING_ISSUER_TOKEN"}
    result = run(
        [sys.executable, str(REPO / "examples" / "order_system.py"), "a@example.com", "O-1", "demo-app"], env
    )
    line = usage_line(result)
    assert line.startswith("order_system.py: error: set LICENSING_ISSUER_TOKEN")
    assert "KeyError" not in result.stderr


# -- 8. a closed pipe (`… | head`) ---------------------------------------------------------------


def closed_pipe(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run with standard output a pipe whose reader has gone, as `… | head -0` leaves it."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            args, env=env, stdout=write, stderr=subprocess.PIPE, text=True, timeout=120, check=False
        )
    finally:
        os.close(write)


def test_support_find_into_a_closed_pipe_is_quiet(dev: DevHome) -> None:
    issue(dev, "pipe@example.com", f"PIPE-{uuid.uuid4().hex[:8]}")
    result = closed_pipe(
        [sys.executable, "-m", "licensing.cli.main", "support", "find", "--email", "pipe@example.com"],
        dev.env(),
    )
    assert result.stderr == "" and result.returncode == 141


def test_license_check_into_a_closed_pipe_is_quiet(dev: DevHome, tmp_path: Path) -> None:
    key = issue(dev, "pipe2@example.com", f"PIPE-{uuid.uuid4().hex[:8]}")
    assert licensing("keys", "export-public", "-o", str(tmp_path / "k.json"), env=dev.env()).returncode == 0
    result = closed_pipe(
        [
            str(LICENSE_CHECK),
            "--key",
            key,
            "--email",
            "pipe2@example.com",
            "--product",
            "demo-app",
            "--keyring",
            str(tmp_path / "k.json"),
        ],
        dev.env(),
    )
    assert result.stderr == "" and result.returncode == 141


# -- 9. help without the heavy imports -----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        (["--help"], ("grpc", "peewee", "aiohttp", "licensing.audit", "nacl")),
        (["support", "--help"], ("peewee", "aiohttp", "licensing.audit")),
        (["tokens", "--help"], ("grpc", "aiohttp")),
        (["bridge", "--help"], ("aiohttp", "grpc", "peewee")),
    ],
)
def test_help_imports_only_what_the_verb_needs(argv: list[str], absent: tuple[str, ...]) -> None:
    probe = (
        "import sys\n"
        "from licensing.cli.main import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {absent!r} if m in sys.modules))\n"
    )
    result = run([sys.executable, "-c", probe], base_env(Path("/nonexistent")))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# -- 10. the smaller ones ----------------------------------------------------------------------


def test_import_help_lists_the_columns() -> None:
    result = licensing("import", "--help", env=dict(os.environ))
    assert result.returncode == 0
    assert "email, order_id, product, order_time, expires, updates_until, seats" in result.stdout


def test_import_rejects_seats_zero_instead_of_making_it_one(dev: DevHome, tmp_path: Path) -> None:
    csv = tmp_path / "seats.csv"
    order = f"SEATS-{uuid.uuid4().hex[:8]}"
    csv.write_text(f"email,order_id,product,seats\nseats@example.com,{order},demo-app,0\n")
    result = licensing("import", str(csv), env=dev.env())
    assert result.returncode == 3, result.stderr
    rejects = (tmp_path / "seats.rejects.csv").read_text()
    assert "seats: must be at least 1" in rejects
    assert licensing("licenses", "show", "--order", order, env=dev.env()).returncode == 1  # nothing issued


def test_import_to_a_server_that_is_not_running_says_cannot_reach(dev: DevHome, tmp_path: Path) -> None:
    csv = tmp_path / "orders.csv"
    csv.write_text("email,order_id,product\nx@example.com,DOWN-1,demo-app\n")
    result = licensing("import", str(csv), "--address", f"127.0.0.1:{free_port()}", env=dev.env())
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith("error: cannot reach the licensing server at 127.0.0.1:") and "refused" not in line


def test_a_truncated_key_is_called_incomplete_not_a_typo(dev: DevHome, tmp_path: Path) -> None:
    key = issue(dev, "cut@example.com", f"CUT-{uuid.uuid4().hex[:8]}")
    assert licensing("keys", "export-public", "-o", str(tmp_path / "k.json"), env=dev.env()).returncode == 0
    cut = "-".join(key.split("-")[:-2])  # the last line of a key wrapped in an email, lost
    result = run(
        [
            str(LICENSE_CHECK),
            "--key",
            cut,
            "--email",
            "cut@example.com",
            "--product",
            "demo-app",
            "--keyring",
            str(tmp_path / "k.json"),
        ],
        dev.env(),
    )
    assert result.returncode == 1
    assert "the key is incomplete" in result.stdout and "typo" not in result.stdout


def test_support_json_serials_are_hex_and_export_times_have_a_zone(dev: DevHome) -> None:
    key = issue(dev, "hex@example.com", f"HEX-{uuid.uuid4().hex[:8]}")
    shown = licensing("licenses", "show", "--key", key, env=dev.env())
    serial = re.search(r"serial: +([0-9A-F]{12})", shown.stdout)
    assert serial is not None
    found = licensing("support", "find", "--email", "hex@example.com", "--json", env=dev.env())
    assert found.returncode == 0, found.stderr
    assert f'"serial": "{serial.group(1)}"' in found.stdout
    exported = licensing("support", "export", "--email", "hex@example.com", env=dev.env())
    assert exported.returncode == 0, exported.stderr
    times = re.findall(r'"\w+_time": "([^"]+)"', exported.stdout)
    assert times and all(value.endswith("+00:00") for value in times), times
