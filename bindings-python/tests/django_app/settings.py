"""Settings of the test project. Server addresses come from the environment
(tests/servers.py's env file, started with --vault-lifecycle); the load
tests pick the default database's login and pooling with SKD_* variables."""

import os

from secretkit.django import secret

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "django_app.urls"
WSGI_APPLICATION = "django_app.wsgi.application"
INSTALLED_APPS: list[str] = []
USE_TZ = True

# The product example's SSM parameter (its value is known to the tests,
# which check that signing uses it).
SECRET_KEY = secret("ssm:/prod/myapp/db-password")
# A name Django's error page does not mask by itself (it masks names with
# KEY, SECRET, TOKEN, PASS, ...): only secret()'s repr keeps the value out.
WEBHOOK_ENDPOINT = secret("vault:secret/myapp/config#api_key")


def database(**entry):
    return {
        "ENGINE": "secretkit.django.postgresql",
        "NAME": os.environ["SK_PG_DB"],
        "HOST": os.environ["SK_PG_HOST"],
        "PORT": os.environ["SK_PG_PORT"],
        "CONN_HEALTH_CHECKS": True,
        **entry,
    }


VAULT_ROLE = os.environ.get("SK_VAULT_DB_ROLE", "myapp-readonly")
POOL = {"min_size": 1, "max_size": 4, "timeout": 10}

if os.environ.get("SKD_CREDENTIALS"):
    # gunicorn's load tests.
    pooled = os.environ.get("SKD_POOL") == "1"
    DATABASES = {
        "default": database(
            CREDENTIALS=os.environ["SKD_CREDENTIALS"],
            CONN_MAX_AGE=0 if pooled else 60,
            OPTIONS={"pool": POOL} if pooled else {},
        )
    }
else:
    DATABASES = {
        "default": database(CREDENTIALS=f"vault:database/creds/{VAULT_ROLE}", CONN_MAX_AGE=60),
        "pooled": database(
            CREDENTIALS=f"vault:database/creds/{VAULT_ROLE}", OPTIONS={"pool": POOL}
        ),
        # Filled in by the tests: a Secrets Manager login and a user with an
        # SSM password (test_django.py creates both, and their roles).
        "asm": database(CREDENTIALS="asm:test/django/login", CONN_MAX_AGE=60),
        "split": database(
            USER=os.environ.get("SKD_SPLIT_USER", "skd_split"),
            PASSWORD=secret("ssm:/test/django/split-password"),
        ),
    }
