"""Secrets Manager rotation through the Python Lambda handlers
(``secretkit.rotation.postgresql``), against moto and the private PostgreSQL,
and an application reading its login through secretkit while rotations run.

moto cannot invoke a Lambda here (no Docker): ``RotateSecret`` naming an
unknown function still registers the new version as AWSPENDING before it
fails to call it, the state the service leaves before calling the function.
The tests then send the four events themselves and, when a rotation ends,
take AWSPENDING off the new version as the service does (ROTATION.md).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError

import secretkit
from secretkit import Client
from secretkit.rotation import postgresql

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:secretkit-rotation-test"


@pytest.fixture()
def pg(servers: dict[str, str]) -> dict[str, Any]:
    if not os.environ.get("SK_PG_PORT"):
        pytest.fail("PostgreSQL is not running: tests/servers.py start --vault-lifecycle")
    return {
        "host": os.environ["SK_PG_HOST"],
        "port": int(os.environ["SK_PG_PORT"]),
        "dbname": os.environ["SK_PG_DB"],
        "admin": os.environ["SK_PG_ADMIN_USER"],
        "admin_password": os.environ["SK_PG_ADMIN_PASSWORD"],
    }


def connect(pg: dict[str, Any], user: str, password: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=pg["host"],
        port=pg["port"],
        dbname=pg["dbname"],
        user=user,
        password=password,
        connect_timeout=5,
    )


def logs_in(pg: dict[str, Any], user: str, password: str) -> bool:
    try:
        with connect(pg, user, password) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


def admin_exec(pg: dict[str, Any], sql: str, *args: Any) -> None:
    with connect(pg, pg["admin"], pg["admin_password"]) as conn:
        conn.execute(sql, args)  # type: ignore[arg-type]


def make_role(pg: dict[str, Any], user: str, password: str) -> None:
    with connect(pg, pg["admin"], pg["admin_password"]) as conn:
        row = conn.execute(
            "SELECT format('CREATE ROLE %%I WITH LOGIN PASSWORD %%L', %s::text, %s::text)",
            (user, password),
        ).fetchone()
        assert row is not None
        conn.execute(row[0])


def secret_value(pg: dict[str, Any], user: str, password: str, **extra: Any) -> str:
    return json.dumps(
        {
            "engine": "postgres",
            "host": pg["host"],
            "port": pg["port"],
            "username": user,
            "password": password,
            "dbname": pg["dbname"],
            **extra,
        }
    )


def start_rotation(asm: Any, arn: str) -> str:
    token = str(uuid.uuid4())
    with pytest.raises(ClientError):  # no such function: nothing invoked
        asm.rotate_secret(
            SecretId=arn,
            ClientRequestToken=token,
            RotationLambdaARN=FUNCTION,
            RotationRules={"AutomaticallyAfterDays": 30},
        )
    stages = asm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert stages.get(token) == ["AWSPENDING"], "moto no longer registers the version first"
    return token


def end_rotation(asm: Any, arn: str, token: str) -> None:
    asm.update_secret_version_stage(
        SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=token
    )


def run(handler: Any, arn: str, token: str, step: str) -> None:
    handler({"SecretId": arn, "ClientRequestToken": token, "Step": step}, None)


def current(asm: Any, arn: str) -> tuple[str, str]:
    value = json.loads(
        asm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
    )
    return value["username"], value["password"]


def test_the_lambda_handler_rotates_a_single_user_and_each_step_may_be_retried(
    asm: Any, pg: dict[str, Any], unique: str
) -> None:
    user = f"rot_py_{unique}".replace("-", "_").lower()
    make_role(pg, user, "first-Passw0rd")
    arn = asm.create_secret(Name=user, SecretString=secret_value(pg, user, "first-Passw0rd"))["ARN"]
    token = start_rotation(asm, arn)
    for step in STEPS:
        run(postgresql.single_user, arn, token, step)
        run(postgresql.single_user, arn, token, step)  # the service retries
    end_rotation(asm, arn, token)
    stages = asm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert stages[token] == ["AWSCURRENT"]
    name, password = current(asm, arn)
    assert name == user and password != "first-Passw0rd"
    assert logs_in(pg, user, password) and not logs_in(pg, user, "first-Passw0rd")


def test_a_failed_step_raises_a_secretkit_error_and_leaves_awscurrent(
    asm: Any, pg: dict[str, Any], unique: str
) -> None:
    user = f"rot_pyf_{unique}".replace("-", "_").lower()
    make_role(pg, user, "keep-Passw0rd")
    arn = asm.create_secret(Name=user, SecretString=secret_value(pg, user, "keep-Passw0rd"))["ARN"]
    token = start_rotation(asm, arn)
    run(postgresql.single_user, arn, token, "createSecret")
    with pytest.raises(secretkit.AuthError) as failed:
        run(postgresql.single_user, arn, token, "testSecret")  # setSecret never ran
    pending = asm.get_secret_value(SecretId=arn, VersionStage="AWSPENDING")["SecretString"]
    assert "password" in pending and str(failed.value) not in pending
    assert current(asm, arn) == (user, "keep-Passw0rd")
    with pytest.raises(secretkit.ConfigError):
        postgresql.single_user({"SecretId": arn, "Step": "setSecret"})


@pytest.mark.parametrize("strategy", ["alternating_users", "single_user"])
def test_an_app_reading_through_secretkit_rides_through_three_rotations(
    asm: Any, pg: dict[str, Any], unique: str, strategy: str
) -> None:
    """Four threads log in with the credentials secretkit reads (TTL 1 s)
    and run a query, over and over, while three rotations run; a refused
    login refreshes the secret once and retries (what secretkit.django and
    secretkit/pg do). Alternating users: no login is refused. Single user:
    logins fail only between setSecret and finishSecret, and the retry
    recovers every one after it."""
    base = f"rot_load_{unique}".replace("-", "_").lower()
    make_role(pg, base, "load-Passw0rd")
    extra: dict[str, Any] = {}
    if strategy == "alternating_users":
        master = asm.create_secret(
            Name=f"{base}_master",
            SecretString=secret_value(pg, pg["admin"], pg["admin_password"]),
        )["ARN"]
        extra["masterarn"] = master
    arn = asm.create_secret(
        Name=base, SecretString=secret_value(pg, base, "load-Passw0rd", **extra)
    )["ARN"]
    handler = getattr(postgresql, strategy)
    client = Client.from_env(default_ttl=1, ttl_jitter=0)
    whole = f"asm:{base}"

    stop = threading.Event()
    lock = threading.Lock()
    logins = 0
    refused: list[float] = []  # first tries the database refused
    failed: list[float] = []  # refused again after the refresh
    windows: list[tuple[float, float]] = []  # (setSecret started, finishSecret done)

    def attempt() -> bool:
        # One read for both fields (what secretkit.django does): a username
        # and a password from two reads can straddle a refresh and belong to
        # two versions, which no login accepts.
        creds = json.loads(client.get(whole).reveal())
        return logs_in(pg, creds["username"], creds["password"])

    def reader() -> None:
        nonlocal logins
        while not stop.is_set():
            ok = attempt()
            if not ok:
                with lock:
                    refused.append(time.monotonic())
                client.refresh(whole)
                ok = attempt()
                if not ok:
                    with lock:
                        failed.append(time.monotonic())
            with lock:
                logins += 1

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            time.sleep(2.5)  # readers' 1 s TTL passes: all read AWSCURRENT
            token = start_rotation(asm, arn)
            run(handler, arn, token, "createSecret")
            began = time.monotonic()
            for step in ("setSecret", "testSecret", "finishSecret"):
                run(handler, arn, token, step)
            windows.append((began, time.monotonic()))
            end_rotation(asm, arn, token)
        time.sleep(2.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
        client.close()

    users = {current(asm, arn)[0]}
    print(
        f"\n{strategy}: {logins} logins during 3 rotations, {len(refused)} refused at the "
        f"first try, {len(failed)} still refused after the refresh; set->finish windows "
        + ", ".join(f"{(end - start) * 1000:.0f} ms" for start, end in windows)
    )
    assert logins > 50
    if strategy == "alternating_users":
        assert refused == [] and failed == []
        assert users <= {base, f"{base}_clone"}
    else:
        # A refusal after the refresh happens only inside a window (AWSCURRENT
        # still names the old password there), never after finishSecret.
        margin = 0.5
        for at in failed:
            assert any(start <= at <= end + margin for start, end in windows), (at, windows)
