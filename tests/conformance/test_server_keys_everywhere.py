"""Keys the server issues for addresses in 24 scripts validate in all three validators, and an
address whose normal form is not stable everywhere is refused at issuance with a clear error."""

from __future__ import annotations

import json
import random
import unicodedata
import uuid

import grpc
import pytest
from harness import Harness, error_info
from realworld.names import addresses

from licensing._proto.licensing.v1 import validation_pb2

from .test_differential import RUNNERS, _run

NOW = "2030-01-01T00:00:00Z"


def test_keys_for_names_in_every_script_validate_in_python_js_and_c(server: Harness) -> None:
    keyring = server.validation.ListSigningKeys(
        validation_pb2.ListSigningKeysRequest(), metadata=server.auth()
    )
    keyring_text = (
        keyring.keyring_document.decode()
        if isinstance(keyring.keyring_document, bytes)
        else keyring.keyring_document
    )
    product = json.loads(keyring_text)["products"]["photo-pro"]
    lines = []
    for index, (_, address) in enumerate(addresses(random.Random(17), 72)):
        response = server.issue(address, f"SCRIPT-{index}-{uuid.uuid4().hex[:8]}")
        key = response.license.license_key
        for typed in (
            address,
            unicodedata.normalize("NFD", address),
            address.upper() if address.isascii() else address,
        ):
            lines.append(json.dumps({"op": "validate", "key": key, "email": typed, "product": product, "now": NOW,
                                     "build_date": None, "keyring": keyring_text, "revocations": None}))  # fmt: skip
    for name in RUNNERS:
        answers = [json.loads(line) for line in _run(name, lines)]
        invalid = [(json.loads(lines[i])["email"], a) for i, a in enumerate(answers) if not a.get("valid")]
        assert invalid == [], f"{name}: {invalid[:3]}"


@pytest.mark.parametrize(
    ("address", "code_point"),
    [
        ("secret\U0001f600@example.com", "U+1F600"),
        ("secret@\u0221omain.example", "U+0221"),
        ("\uab70secret@example.com", "U+AB70"),
    ],
)
def test_an_unstable_address_is_refused_at_issuance_naming_the_character(
    server: Harness, address: str, code_point: str
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        server.issue(address, f"UNSTABLE-{uuid.uuid4().hex[:8]}")
    error = refused.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    info = error_info(error)
    assert info is not None and info.reason == "INVALID_EMAIL"
    details = error.details() or ""
    assert code_point in details and "secret" not in details
