"""Settings for the secretkit Django example.

The database password lives in AWS SSM Parameter Store and is read through
secretkit.django; nothing secret is written in this file or in the environment.
"""

import os
from pathlib import Path

from secretkit.django import secret

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS: list[str] = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "myproject.urls"
WSGI_APPLICATION = "myproject.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"

# secretkit.django: settings values that are secret references until used.
# secret() reads nothing at import (so `manage.py check` needs no backend)
# and its repr is the reference, so `diffsettings` and error pages never
# print a value; as a string it is the current value, read through the
# process-wide client's cache (Client.from_env(), made on first use).
#
# Django's signing key: in production `secret("ssm:/prod/myapp/django-secret-key")`
# (Django turns it into bytes with str(), which reads the value); here an
# environment value, since the demo seeds no signing key.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-for-the-secretkit-example")
DB_PASSWORD_REF = "ssm:/prod/myapp/db-password"

# The ENGINE logs in with the current password each time Django opens a
# connection (a rotated password is picked up without a restart); a refused
# login re-reads the password once and retries; connections made with a
# superseded password are retired between requests. For Vault dynamic
# credentials: "CREDENTIALS": "vault:database/creds/<role>" instead of
# USER + PASSWORD (bindings-python/README.md, "Django").
DATABASES = {
    "default": {
        "ENGINE": "secretkit.django.postgresql",
        "NAME": os.environ.get("DB_NAME", "myapp"),
        "USER": os.environ.get("DB_USER", "app_user"),
        "PASSWORD": secret(DB_PASSWORD_REF),
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
