"""secretkit.django against real servers: settings values from references
that never show their value, and the PostgreSQL backend logging in with
Vault dynamic credentials, a Secrets Manager login or an SSM password,
persistent and pooled, across rotations, in-process and under gunicorn.

Needs the servers of `tests/servers.py start --fixtures --vault-lifecycle`.
The test project is tests/django_app/.
"""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import free_port, get_json, wait_until
from psycopg import sql

from secretkit import Client, InvalidReferenceError, NotFoundError

HERE = Path(__file__).resolve().parent
DB_PASSWORD = "s3cureP@ssw0rd!"  # ssm:/prod/myapp/db-password, the SECRET_KEY here
API_KEY = "sk-abc123"  # vault:secret/myapp/config#api_key
LIFECYCLE = ("SK_PG_HOST", "SK_PG_PORT", "SK_PG_DB", "SK_PG_ADMIN_USER", "SK_VAULT_DB_ROLE")
ASM_LOGIN = "test/django/login"
SPLIT_PASSWORD = "/test/django/split-password"


@pytest.fixture(scope="module")
def env(servers: dict[str, str]) -> dict[str, str]:
    missing = [name for name in LIFECYCLE if not os.environ.get(name)]
    if missing:
        pytest.fail(f"start the servers with --vault-lifecycle: {missing} unset")
    return servers


@pytest.fixture(scope="module")
def django_ready(env: dict[str, str]) -> Iterator[None]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_app.settings")
    django.setup()
    yield
    from django.db import connections

    connections.close_all()


def admin(env: dict[str, str], query: sql.Composable | str, *params: Any) -> list[Any]:
    """Runs SQL as the PostgreSQL superuser; the rows, if any."""
    with psycopg.connect(
        host=env["SK_PG_HOST"],
        port=env["SK_PG_PORT"],
        dbname=env["SK_PG_DB"],
        user=env["SK_PG_ADMIN_USER"],
        password=env["SK_PG_ADMIN_PASSWORD"],
        autocommit=True,
    ) as conn:
        cursor = conn.execute(query, params or None)
        return cursor.fetchall() if cursor.description else []


def login_role(env: dict[str, str], name: str, password: str) -> None:
    """A role that can log in and read `items`, with this password."""
    exists = admin(env, "select 1 from pg_roles where rolname = %s", name)
    verb = "alter" if exists else "create"
    statement = sql.SQL(verb + " role {} with login password {}").format(
        sql.Identifier(name), sql.Literal(password)
    )
    admin(env, statement)
    if not exists:
        admin(env, sql.SQL("grant app_readers to {}").format(sql.Identifier(name)))


def sessions_of(env: dict[str, str], users: list[str]) -> int:
    rows = admin(env, "select count(*) from pg_stat_activity where usename = any(%s)", users)
    return int(rows[0][0])


def put_secret(asm: Any, name: str, value: dict[str, str]) -> None:
    try:
        asm.create_secret(Name=name, SecretString=json.dumps(value))
    except asm.exceptions.ResourceExistsException:
        asm.put_secret_value(SecretId=name, SecretString=json.dumps(value))


def whoami(alias: str = "default") -> str:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("select current_user, count(*) from items")
        user, count = cursor.fetchone()
    assert count == 3
    return str(user)


def asm_calls(client: Client) -> int:
    return client.stats()["backend_calls"]["asm"]


# ------------------------------------------------------------ settings values


def test_a_secret_setting_is_read_when_used_and_shows_only_its_reference(
    django_ready: None, ssm: Any
) -> None:
    from django.conf import settings

    from secretkit.django import LazySecret, secret

    key = settings.SECRET_KEY
    assert isinstance(key, LazySecret)
    assert repr(key) == "secret('ssm:/prod/myapp/db-password')"
    assert str(key) == DB_PASSWORD and f"{key:>20}" == f"{DB_PASSWORD:>20}"
    assert key == DB_PASSWORD and key != DB_PASSWORD + "x" and hash(key) == hash(DB_PASSWORD)
    assert len(key) == len(DB_PASSWORD) and key.startswith("s3cure") and "P@ss" in key
    assert "x" + key == "x" + DB_PASSWORD and key.encode() == DB_PASSWORD.encode()
    assert copy.deepcopy(key) is key
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(key)
    with pytest.raises(InvalidReferenceError):
        secret("nope:/x")

    # Nothing is read until the value is used, and a changed value is used
    # once read again.
    name = f"/test/django/lazy-{uuid.uuid4().hex[:8]}"
    lazy = secret(f"ssm:{name}", client=Client.from_env())
    assert bool(lazy) and repr(lazy) == f"secret('ssm:{name}')"
    with pytest.raises(NotFoundError) as missing:
        str(lazy)
    assert missing.value.reference == f"ssm:{name}"
    ssm.put_parameter(Name=name, Value="first", Type="SecureString")
    lazy.refresh()
    assert str(lazy) == "first"
    ssm.put_parameter(Name=name, Value="second", Type="SecureString", Overwrite=True)
    lazy.refresh()
    assert lazy == "second"


def test_django_signs_with_the_secret_value(django_ready: None) -> None:
    from django.core.signing import Signer

    assert Signer().sign("hello") == Signer(key=DB_PASSWORD).sign("hello")
    assert Signer().sign("hello") != Signer(key="another key").sign("hello")


def test_diffsettings_and_the_error_page_name_the_reference_never_the_value(
    django_ready: None,
) -> None:
    from django.core.management import call_command
    from django.test import RequestFactory
    from django.views.debug import technical_500_response

    out = io.StringIO()
    call_command("diffsettings", stdout=out)
    text = out.getvalue()
    assert "WEBHOOK_ENDPOINT = secret('vault:secret/myapp/config#api_key')" in text
    assert "secret('ssm:/test/django/split-password')" in text  # inside DATABASES
    assert API_KEY not in text and DB_PASSWORD not in text

    request = RequestFactory().get("/fail/")
    try:
        raise RuntimeError("a view failed")
    except RuntimeError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()
    assert "WEBHOOK_ENDPOINT" in page and "vault:secret/myapp/config#api_key" in page
    assert API_KEY not in page and DB_PASSWORD not in page


# ------------------------------------------------------------ the database backend


def test_vault_credentials_log_in_and_a_rotation_retires_the_connection_between_requests(
    django_ready: None, env: dict[str, str]
) -> None:
    from django.db import connections

    from secretkit.django import default_client

    conn = connections["default"]
    first = whoami()
    assert first.startswith("v-token-")
    assert whoami() == first and conn.connection is not None  # CONN_MAX_AGE: kept

    # New credentials in the cache (what the lease lifecycle does near
    # max_ttl). Mid-request the connection stays; a query still runs.
    default_client().refresh(f"vault:database/creds/{env['SK_VAULT_DB_ROLE']}")
    assert whoami() == first
    conn.close_if_unusable_or_obsolete()  # what Django runs as a request ends
    assert conn.connection is None
    second = whoami()
    assert second.startswith("v-token-") and second != first
    conn.close_if_unusable_or_obsolete()
    assert conn.connection is not None  # current credentials: kept


def test_a_refused_login_is_read_again_once_and_retried(
    django_ready: None, env: dict[str, str], asm: Any
) -> None:
    from django.db import connections
    from django.db.utils import OperationalError

    from secretkit.django import default_client

    user = f"skd_{uuid.uuid4().hex[:8]}"
    login_role(env, user, "password-one")
    put_secret(asm, ASM_LOGIN, {"username": user, "password": "password-one"})
    conn = connections["asm"]
    conn.close()
    default_client().refresh(f"asm:{ASM_LOGIN}")
    assert whoami("asm") == user

    # Single-user rotation: the database and the secret change; the cache
    # still holds the old password. The next connection is refused once,
    # reads the secret again (one call) and logs in.
    login_role(env, user, "password-two")
    put_secret(asm, ASM_LOGIN, {"username": user, "password": "password-two"})
    conn.close()
    calls = asm_calls(default_client())
    assert whoami("asm") == user
    assert asm_calls(default_client()) == calls + 1

    # A password the backend does not know yet: refused, one refresh, and
    # the error names the user, never a password.
    login_role(env, user, "password-three")
    conn.close()
    calls = asm_calls(default_client())
    with pytest.raises(OperationalError) as refused:
        whoami("asm")
    assert asm_calls(default_client()) == calls + 1
    message = str(refused.value)
    assert user in message and "password-two" not in message and "password-three" not in message
    # Refused again at once: not read again (each Vault refresh would be a
    # new lease) until the quiet period is over: 1 s, then 2 s, 4 s ...
    with pytest.raises(OperationalError):
        whoami("asm")
    assert asm_calls(default_client()) == calls + 1
    time.sleep(1.1)
    with pytest.raises(OperationalError):
        whoami("asm")
    assert asm_calls(default_client()) == calls + 2
    with pytest.raises(OperationalError):
        whoami("asm")
    assert asm_calls(default_client()) == calls + 2
    conn.close()


def test_user_with_an_ssm_password(django_ready: None, env: dict[str, str], ssm: Any) -> None:
    password = uuid.uuid4().hex
    login_role(env, os.environ.get("SKD_SPLIT_USER", "skd_split"), password)
    ssm.put_parameter(Name=SPLIT_PASSWORD, Value=password, Type="SecureString", Overwrite=True)
    from secretkit.django import default_client

    default_client().refresh(f"ssm:{SPLIT_PASSWORD}")
    assert whoami("split") == "skd_split"


def test_pooled_connections_switch_login_and_a_checked_out_one_finishes_its_work(
    django_ready: None, env: dict[str, str]
) -> None:
    from django.db import connections

    from secretkit.django import default_client

    conn = connections["pooled"]
    first = whoami("pooled")
    default_client().refresh(f"vault:database/creds/{env['SK_VAULT_DB_ROLE']}")

    # Another thread (its own Django connection, the same pool) gets the
    # new login, while this thread's connection, checked out before the
    # rotation, goes on working.
    seen: list[str] = []

    def other_request() -> None:
        seen.append(whoami("pooled"))
        connections["pooled"].close()  # back to the pool

    thread = threading.Thread(target=other_request)
    thread.start()
    thread.join(30)
    assert seen and seen[0] != first and seen[0].startswith("v-token-")
    assert whoami("pooled") == first
    conn.close()  # returned: a connection of the old login is retired
    assert whoami("pooled") == seen[0]
    conn.close()
    wait_until(lambda: sessions_of(env, [first]) == 0, timeout=10, what="old sessions closed")


def test_psycopg2(django_ready: None, env: dict[str, str]) -> None:
    script = """
import json, os, sys
sys.modules["psycopg"] = None  # Django falls back to psycopg2
import django
django.setup()
from django.db import connections
from django.db.backends.postgresql.psycopg_any import is_psycopg3
from secretkit.django import default_client
conn = connections["default"]
def whoami():
    with conn.cursor() as c:
        c.execute("select current_user")
        return c.fetchone()[0]
first = whoami()
driver = type(conn.connection).__module__
default_client().refresh("vault:database/creds/" + os.environ["SK_VAULT_DB_ROLE"])
conn.close_if_unusable_or_obsolete()
print(json.dumps({"psycopg3": is_psycopg3, "driver": driver, "users": [first, whoami()]}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=HERE,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "django_app.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["psycopg3"] is False and answer["driver"].startswith("psycopg2")
    first, second = answer["users"]
    assert first.startswith("v-token-") and second.startswith("v-token-") and first != second


# ------------------------------------------------------------ under gunicorn


@pytest.fixture(scope="module")
def short_role(env: dict[str, str]) -> str:
    """A Vault database role with a 3 s TTL and a 6 s max TTL: the client
    replaces its credentials about every 4 s."""
    vault, token = env["VAULT_ADDR"], env["VAULT_TOKEN"]

    def call(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{vault}/v1/{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"X-Vault-Token": token},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else {}

    model = call("GET", f"database/roles/{env['SK_VAULT_DB_ROLE']}")["data"]
    call(
        "POST",
        "database/roles/django-short",
        {
            "db_name": model["db_name"],
            "creation_statements": model["creation_statements"],
            "default_ttl": "3s",
            "max_ttl": "6s",
        },
    )
    return "django-short"


class Load:
    """gunicorn serving the test project with 4 workers, and 8 threads
    requesting /db/ until stopped."""

    def __init__(self, tmp_path: Path, environ: dict[str, str]) -> None:
        self.port = free_port()
        self.log = tmp_path / "gunicorn.log"
        command = [
            sys.executable, "-m", "gunicorn",
            "--workers", "4", "--worker-class", "sync",
            "--bind", f"127.0.0.1:{self.port}", "--chdir", str(HERE),
            "--timeout", "30", "--graceful-timeout", "10",
            "django_app.wsgi:application",
        ]  # fmt: skip
        with self.log.open("wb") as out:
            self.server = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **environ}
            )
        self.answers: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def get(self) -> tuple[int, dict[str, Any]]:
        return get_json(f"http://127.0.0.1:{self.port}/db/", 15)

    def start(self) -> None:
        def up() -> bool:
            assert self.server.poll() is None, self.log.read_text()
            try:
                return self.get()[0] == 200
            except OSError:
                return False

        wait_until(up, timeout=60, what="gunicorn answering")

        def drive() -> None:
            while not self.stop.is_set():
                try:
                    status, body = self.get()
                except OSError as e:
                    status, body = 0, {"error": repr(e)}
                with self.lock:
                    if status == 200:
                        self.answers.append(body)
                    else:
                        self.failures.append(f"{status} {body}")

        self.threads = [threading.Thread(target=drive) for _ in range(8)]
        for thread in self.threads:
            thread.start()

    def run(self, done: Callable[[float], bool], cap: float) -> float:
        """Until `done(elapsed seconds)` or `cap` seconds; the time taken."""
        began = time.monotonic()
        while (elapsed := time.monotonic() - began) < cap and not done(elapsed):
            time.sleep(0.05)
        return elapsed

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        self.server.send_signal(signal.SIGTERM)
        try:
            self.server.wait(20)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()

    def users_by_worker(self) -> dict[int, list[str]]:
        users: dict[int, list[str]] = {}
        for answer in self.answers:
            seen = users.setdefault(answer["pid"], [])
            if not seen or seen[-1] != answer["user"]:
                seen.append(answer["user"])
        return users


@pytest.mark.parametrize("pooled", [False, True], ids=["persistent", "pool"])
def test_gunicorn_with_vault_credentials_across_rotations(
    env: dict[str, str], short_role: str, tmp_path: Path, pooled: bool
) -> None:
    load = Load(
        tmp_path,
        {
            "SKD_CREDENTIALS": f"vault:database/creds/{short_role}",
            "SKD_POOL": "1" if pooled else "0",
        },
    )

    def rotated_thrice(_: float) -> bool:
        with load.lock:
            users = load.users_by_worker()
        return len(users) == 4 and all(len(logins) >= 4 for logins in users.values())

    try:
        load.start()
        took = load.run(rotated_thrice, cap=45)
    finally:
        load.finish()
    assert not load.failures, (load.failures[:5], load.log.read_text()[-3000:])
    users = load.users_by_worker()
    assert len(users) == 4, users.keys()
    for pid, logins in users.items():
        # 3 rotations at least; and each login, once left, never comes back.
        assert len(logins) >= 4 and len(set(logins)) == len(logins), (pid, logins)
        assert all(u.startswith("v-token-django-s") for u in logins), logins
    print(f"\n{len(load.answers)} requests in {took:.1f} s, 0 failed; logins per worker: "
          f"{sorted(len(v) for v in users.values())}")  # fmt: skip


def test_gunicorn_with_a_secrets_manager_login_changed_during_the_run(
    env: dict[str, str], asm: Any, tmp_path: Path
) -> None:
    # Alternating users: each change names another user whose password
    # works, so connections of the previous one keep working until retired.
    name = f"test/django/rotating-{uuid.uuid4().hex[:8]}"
    users = [f"skd_{uuid.uuid4().hex[:8]}" for _ in range(5)]
    for user in users:
        login_role(env, user, f"pw-{user}")
    put_secret(asm, name, {"username": users[0], "password": f"pw-{users[0]}"})
    load = Load(tmp_path, {"SKD_CREDENTIALS": f"asm:{name}?ttl=1s", "SKD_POOL": "0"})
    changed = [0]

    def rotate(elapsed: float) -> bool:
        step = int(elapsed // 3)
        if step > changed[0] and step < len(users):
            changed[0] = step
            user = users[step]
            put_secret(asm, name, {"username": user, "password": f"pw-{user}"})
        return False

    try:
        load.start()
        load.run(rotate, cap=15)
        assert changed[0] == 4
        # Every worker served requests after the last change: no session of
        # an older user is left.
        assert sessions_of(env, users[:-1]) == 0
    finally:
        load.finish()
    assert not load.failures, (load.failures[:5], load.log.read_text()[-3000:])
    seen = load.users_by_worker()
    assert len(seen) == 4
    for pid, logins in seen.items():
        assert logins[-1] == users[-1] and len(logins) >= 4, (pid, logins)
        assert logins == [u for u in users if u in logins], (pid, logins)  # in order
