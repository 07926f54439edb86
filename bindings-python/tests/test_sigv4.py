"""secretkit's own SigV4 signer against a moto that checks signatures.

The shared moto accepts any signature. This module starts its own moto with
IAM authentication on (`INITIAL_NO_AUTH_ACTION_COUNT`: the first 4 calls
set up a user, its key and a role; every later call must be signed by a key
moto knows, which it checks with botocore's signer), then reads through
every AWS operation secretkit signs: GetParameter, GetParameters,
GetParametersByPath, GetSecretValue (string and binary), BatchGetSecretValue
by ids and by name filter. Keys with a session token (an assumed role) and
wrong keys or tokens are checked too.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from secretkit import Client, SecretkitError

ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def _moto_bin() -> str:
    return os.environ.get("SK_MOTO_SERVER_BIN") or str(Path(sys.executable).parent / "moto_server")


@pytest.fixture(scope="module")
def signed_moto() -> Iterator[dict[str, Any]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="4")
    proc = subprocess.Popen(
        [_moto_bin(), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("moto with IAM authentication did not start")
                time.sleep(0.1)
        anon = {"endpoint_url": url, "region_name": "us-east-1"}
        iam = boto3.client("iam", aws_access_key_id="setup", aws_secret_access_key="setup", **anon)
        iam.create_user(UserName="reader")
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        iam.put_user_policy(UserName="reader", PolicyName="all", PolicyDocument=ALLOW_ALL)
        role = iam.create_role(
            RoleName="reader-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
                    ],
                }
            ),
        )
        # From here on moto checks every signature.
        signed = {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
            **anon,
        }
        boto3.client("iam", **signed).put_role_policy(
            RoleName="reader-role", PolicyName="all", PolicyDocument=ALLOW_ALL
        )
        assumed = boto3.client("sts", **signed).assume_role(
            RoleArn=role["Role"]["Arn"], RoleSessionName="secretkit-test"
        )["Credentials"]
        tag = uuid.uuid4().hex[:8]
        values = {
            f"ssm:/signed-{tag}/one": f"one-{tag}",
            f"ssm:/signed-{tag}/two": f"two {tag} ünïcode",
            f"asm:signed-{tag}/db": json.dumps({"password": f"pw-{tag}"}),
        }
        ssm = boto3.client("ssm", **signed)
        sm = boto3.client("secretsmanager", **signed)
        for ref, value in values.items():
            scheme, name = ref.split(":", 1)
            if scheme == "ssm":
                ssm.put_parameter(Name=name, Value=value, Type="SecureString")
            else:
                sm.create_secret(Name=name, SecretString=value)
        binary = bytes(range(256))
        sm.create_secret(Name=f"signed-{tag}/binary", SecretBinary=binary)
        yield {
            "url": url,
            "tag": tag,
            "values": values,
            "binary": (f"asm:signed-{tag}/binary", binary),
            "key": key,
            "assumed": assumed,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _settings(moto: dict[str, Any], key_id: str, secret: str, token: str | None = None) -> dict[str, str]:
    aws = {
        "region": "us-east-1",
        "access_key_id": key_id,
        "secret_access_key": secret,
        "endpoint": moto["url"],
    }
    if token is not None:
        aws["session_token"] = token
    return aws


def _every_operation(moto: dict[str, Any], aws: dict[str, str]) -> None:
    """Each operation from a fresh client (a fresh cache), so each is sent."""
    values, tag = moto["values"], moto["tag"]
    client = Client(aws=aws, read_attempts=1)
    for ref, value in values.items():  # GetParameter, GetSecretValue
        assert client.get(ref).reveal() == value
    assert client.get(f"asm:signed-{tag}/db#password").reveal() == f"pw-{tag}"
    ref, binary = moto["binary"]
    assert client.get(ref).reveal_bytes() == binary
    got = Client(aws=aws, read_attempts=1).get_many(list(values))  # GetParameters, BatchGetSecretValue
    assert [s.reveal() for s in got] == list(values.values())
    client = Client(aws=aws, read_attempts=1)
    assert client.prefetch(f"ssm:/signed-{tag}/") == 2  # GetParametersByPath
    assert client.prefetch(f"asm:signed-{tag}/") == 2  # BatchGetSecretValue by name filter


def test_every_operation_is_signed_as_aws_checks_it(signed_moto: dict[str, Any]) -> None:
    key = signed_moto["key"]
    _every_operation(signed_moto, _settings(signed_moto, key["AccessKeyId"], key["SecretAccessKey"]))


def test_session_tokens_are_sent_and_signed(signed_moto: dict[str, Any]) -> None:
    c = signed_moto["assumed"]
    aws = _settings(signed_moto, c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    _every_operation(signed_moto, aws)


def test_a_wrong_secret_key_is_an_auth_error_that_names_the_reference(
    signed_moto: dict[str, Any],
) -> None:
    key = signed_moto["key"]
    ref = next(iter(signed_moto["values"]))
    client = Client(aws=_settings(signed_moto, key["AccessKeyId"], "not-the-secret-key"), read_attempts=1)
    with pytest.raises(SecretkitError) as info:
        client.get(ref)
    assert info.value.kind == "auth", info.value
    assert info.value.reference == ref
    assert "SignatureDoesNotMatch" in info.value.message
    assert "not-the-secret-key" not in str(info.value)


def test_a_wrong_session_token_is_an_auth_error(signed_moto: dict[str, Any]) -> None:
    c = signed_moto["assumed"]
    ref = next(iter(signed_moto["values"]))
    aws = _settings(signed_moto, c["AccessKeyId"], c["SecretAccessKey"], "wrong-token")
    client = Client(aws=aws, read_attempts=1)
    with pytest.raises(SecretkitError) as info:
        client.get(ref)
    assert info.value.kind == "auth", info.value
    assert "InvalidClientTokenId" in info.value.message
