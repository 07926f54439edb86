"""Settings for the secretkit Django example.

The database password lives in AWS SSM Parameter Store and is read through
secretkit; nothing secret is written in this file or in the environment.
"""

import os
from pathlib import Path

from secretkit import Client

BASE_DIR = Path(__file__).resolve().parent.parent

# Django's own signing key; a real deployment would read it through secretkit too.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-for-the-secretkit-example")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS: list[str] = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "myproject.urls"
WSGI_APPLICATION = "myproject.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"

# One client per process, made at startup: it only reads configuration (the
# AWS credential chain, VAULT_ADDR/VAULT_TOKEN), no network, so a broken
# configuration fails at boot while `manage.py check` needs no backend.
# Values are cached (5 min by default) and shared by every thread.
SECRETS = Client.from_env()

DB_PASSWORD_REF = "ssm:/prod/myapp/db-password"


def database_password() -> str:
    """The plain database password, read when Django opens a connection."""
    return SECRETS.get(DB_PASSWORD_REF).reveal()


# The password is revealed LAZILY, at connect time, not at startup:
# myproject.postgres calls database_password() each time Django opens a
# connection. So the plain value never sits in settings (where `diffsettings`
# or an error page could print it), only in the driver's connect call; a
# rotated password is picked up by the next new connection once the cache
# refreshes, without a restart; and commands that never touch the database
# (`check`, `collectstatic`) need no AWS access. The first connection waits
# for one SSM read; later ones are cache hits.
DATABASES = {
    "default": {
        "ENGINE": "myproject.postgres",
        "NAME": os.environ.get("DB_NAME", "myapp"),
        "USER": os.environ.get("DB_USER", "app_user"),
        "PASSWORD": database_password,  # a callable, resolved by myproject.postgres
        "HOST": os.environ.get("DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("DB_PORT", "5432"),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}

# The /secrets/ view fingerprints each value (length + sha256 prefix) only
# when this is set, so the demo can prove the values were really read.
EXPOSE_FINGERPRINTS = os.environ.get("SECRETKIT_EXAMPLE_FINGERPRINTS") == "1"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
