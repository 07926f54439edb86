"""tests/vectors/refs.json, checked through the Python binding."""

from __future__ import annotations

import io
import logging
import pickle
import string

import pytest
from conftest import VECTORS

from secretkit import Client, InvalidReferenceError, SecretkitError, parse_reference

VALID = VECTORS["valid"]
INVALID = VECTORS["invalid"]
REDACTION = VECTORS["redaction"]["cases"]


def short(case: dict) -> str:
    return case["ref"][:60]


@pytest.mark.parametrize("case", VALID, ids=short)
def test_valid_reference_parses_to_the_vector(case: dict) -> None:
    assert parse_reference(case["ref"]) == case["parsed"]


@pytest.mark.parametrize("case", INVALID, ids=short)
def test_invalid_reference_is_rejected(case: dict) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(case["ref"])
    err = info.value
    assert err.kind == case["kind"] == "invalid_reference"
    assert err.code == "INVALID_REFERENCE"
    assert case["message_contains"] in err.message
    assert isinstance(err, ValueError)
    assert isinstance(err, SecretkitError)


@pytest.mark.parametrize("case", INVALID[:5], ids=short)
def test_get_rejects_invalid_references_too(client: Client, case: dict) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        client.get(case["ref"])
    assert case["message_contains"] in info.value.message


def every_rendering(secret: object) -> list[str]:
    """Every way Python code commonly turns an object into text."""
    out = [
        repr(secret),
        str(secret),
        format(secret),
        format(secret, ""),
        format(secret, ">90"),
        f"{secret}",
        f"{secret!r}",
        f"{secret!s}",
        f"{secret!a}",
        f"{secret:<90}",
        "%s" % (secret,),  # noqa: UP031 - the old formatting paths are the point
        "%r" % (secret,),  # noqa: UP031
        "{}".format(secret),  # noqa: UP032
        string.Template("$s").substitute(s=secret),
        repr([secret]),
        str({"k": secret}),
        repr((secret,)),
    ]
    buf = io.StringIO()
    print(secret, file=buf)
    out.append(buf.getvalue())
    handler_out = io.StringIO()
    logger = logging.getLogger("secretkit-redaction-test")
    handler = logging.StreamHandler(handler_out)
    logger.addHandler(handler)
    try:
        logger.warning("value: %s %r", secret, secret)
        logger.warning(secret)
    finally:
        logger.removeHandler(handler)
    out.append(handler_out.getvalue())
    return out


@pytest.mark.parametrize("case", REDACTION, ids=short)
def test_redaction_in_every_formatting_path(client: Client, case: dict) -> None:
    secret = client.get(case["ref"])
    assert repr(secret) == str(secret) == format(secret) == case["shown_as"]
    for shown in every_rendering(secret):
        assert case["shown_as"] in shown
        assert case["value"] not in shown
    assert secret.reveal() == case["value"]
    assert secret.reveal_bytes() == case["value"].encode()


@pytest.mark.parametrize("case", REDACTION, ids=short)
def test_redaction_through_async_reads(client: Client, case: dict) -> None:
    import asyncio

    secret = asyncio.run(_get_async(client, case["ref"]))
    for shown in every_rendering(secret):
        assert case["value"] not in shown
    with pytest.raises(TypeError):
        pickle.dumps(secret)


async def _get_async(client: Client, ref: str):
    return await client.get_async(ref)
