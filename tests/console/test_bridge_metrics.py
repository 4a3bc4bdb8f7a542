"""The bridge's trend series: one per provider, endpoint and HTTP status, with no person in it.

The real bridge application (in process, on a free port) in front of a real server: one
FastSpring license request that issues a key, one with a forged hash that is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp.test_utils import TestServer
from harness import running_server
from homes import make_settings
from prometheus_client import generate_latest

from licensing import metrics
from licensing.bridge.app import create_app
from licensing.bridge.config import parse_config
from licensing.bridge.issuer import Issuer, channel_for

SECRET = "fs-private-key-for-metrics"
EMAIL = "lena.metrics@example.com"
REFERENCE = "FSMETRIC-1234-5678"


def license_request(secret: str) -> str:
    params = {
        "name": "Lena",
        "email": EMAIL,
        "company": "",
        "reference": REFERENCE,
        "subscription": "",
        "product": "photo-pro-1y",
        "quantity": "1",
        "test": "false",
    }
    joined = "".join(params[name] for name in sorted(params)).encode()
    params["security_request_hash"] = hashlib.md5(joined + secret.encode()).hexdigest()
    return urlencode(params)


def bridge_counts() -> dict[tuple[str, str, str], float]:
    counts = {}
    for family in metrics.BRIDGE.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                counts[(sample.labels["provider"], sample.labels["endpoint"], sample.labels["status"])] = (
                    sample.value
                )
    return counts


def test_bridge_requests_are_counted_without_people(tmp_path: Path, keyring_path: Path, keyring: Any) -> None:
    settings, _ = make_settings("sqlite", tmp_path / "home", keyring_path)
    with running_server(settings, keyring) as harness:
        config = parse_config(
            {
                "server": f"127.0.0.1:{harness.port}",
                "fastspring": {
                    "license_secret_env": "FS_SECRET",
                    "products": {"photo-pro-1y": {"product": "photo-pro"}},
                },
            },
            {"LICENSING_ISSUER_TOKEN": harness.tokens["issuer"], "FS_SECRET": SECRET},
        )
        before = bridge_counts()

        async def scenario() -> list[tuple[int, str]]:
            issuer = Issuer(channel_for(config.server), config.token, config.deadline_seconds)
            server = TestServer(create_app(config, issuer), host="127.0.0.1")
            await server.start_server()
            answers = []
            try:
                async with aiohttp.ClientSession() as http:
                    for body in (license_request(SECRET), license_request("forged")):
                        async with http.post(
                            server.make_url("/fastspring/license"),
                            data=body,
                            headers={"Content-Type": "application/x-www-form-urlencoded"},
                        ) as response:
                            answers.append((response.status, await response.text()))
            finally:
                await server.close()
                await issuer.close()
            return answers

        answers = asyncio.run(scenario())
    assert answers[0][0] == 200 and answers[0][1].count("-") == 17  # the key
    refused = answers[1][0]
    assert refused in (401, 403)
    after = bridge_counts()
    assert after[("fastspring", "license", "200")] == before.get(("fastspring", "license", "200"), 0) + 1
    assert (
        after[("fastspring", "license", str(refused))]
        == before.get(("fastspring", "license", str(refused)), 0) + 1
    )
    text = generate_latest(metrics.REGISTRY).decode()
    key = answers[0][1].strip()
    for personal in (EMAIL, REFERENCE, key, key.replace("-", ""), harness.tokens["issuer"], SECRET):
        assert personal not in text
